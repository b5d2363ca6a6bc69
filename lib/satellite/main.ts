/**
 * The satellite runtime's entry point, bundled into every release as `runtime/index.js` and
 * run as `node runtime/index.js` on Local Zone and Outpost instances (systemd), on-prem
 * hosts, and once per location by the local fleet. Configured by environment variables
 * (see config.ts and shutdown.ts); prints one JSON line `{"event":"ready","url":…}` when it
 * serves.
 *
 * It never depends on whoever reads its output: a log write its reader cannot take is
 * dropped and counted (see log-output.ts). SIGTERM (and SIGINT) stop it gracefully: the
 * requests in flight are answered within the grace period, then it exits. Started with an
 * IPC channel (the local fleet does), it also stops when the channel closes: its supervisor
 * is gone, and a runtime nobody supervises must not hold its port.
 */
import { JwtVerifier } from '../../functions/shared/jwt-verifier';
import { runtimeConfigFromEnv } from './config';
import { fileJwksCache } from './jwks-cache';
import { type GuardedOutput, guardLogOutput } from './log-output';
import { type RunningRuntime, startRuntime } from './runtime';
import { shutdownGraceSecondsFromEnv } from './shutdown';

/** `stdout 12 (EPIPE)`, for the line a stopping runtime prints. */
const droppedWrites = (outputs: Record<string, GuardedOutput>): string =>
  Object.entries(outputs)
    .filter(([, o]) => o.dropped > 0)
    .map(([name, o]) => `${name} ${o.dropped}${o.failure ? ` (${o.failure})` : ''}`)
    .join(', ');

async function main(): Promise<void> {
  // Each stream says on the other one that it failed (dropped too when both did).
  const failed = (name: string, other: NodeJS.WriteStream) => (why: string) =>
    other.write(
      `orbit runtime: ${name} failed (${why}); its writes are dropped and counted from now on\n`
    );
  const outputs = {
    stdout: guardLogOutput(process.stdout, { onFailure: failed('stdout', process.stderr) }),
    stderr: guardLogOutput(process.stderr, { onFailure: failed('stderr', process.stdout) }),
  };
  // Satellites report request metrics in their heartbeats; EMF lines on stdout would reach no
  // CloudWatch here and cost every request a write. ORBIT_EMF=on keeps them (e.g. with an agent).
  if (process.env.ORBIT_EMF !== 'on') process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Powertools reads variables per request (AWS_LAMBDA_MAX_CONCURRENCY on every access to
  // its per-request state); on Node's process.env each read is a call into C++. A plain
  // copy makes them property reads. Nothing in this process needs the C-level environment.
  process.env = { ...process.env };
  const config = runtimeConfigFromEnv();
  const graceMs = shutdownGraceSecondsFromEnv() * 1000;

  let runtime: RunningRuntime | undefined;
  let stopping = false;
  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    // Nothing is served before the runtime is ready: nothing to wait for.
    if (!runtime) process.exit(0);
    // Only a stop that itself hangs gets here; the grace period bounds the rest.
    setTimeout(() => process.exit(1), graceMs + 5_000).unref();
    runtime.stop(graceMs).then(
      ({ drained, cut }) => {
        const dropped = droppedWrites(outputs);
        console.error(
          `orbit runtime: stopped (${why}): ${drained} request(s) answered while stopping` +
            (cut > 0 ? `, ${cut} cut when the ${graceMs / 1000} s grace period ended` : '') +
            (dropped ? `; log writes dropped: ${dropped}` : '')
        );
        process.exit(cut > 0 ? 1 : 0);
      },
      () => process.exit(1)
    );
  };
  // A reload, as daemons take it: read the desired state now rather than at the next interval
  // (before the runtime serves, its first pull is still to come).
  process.on('SIGHUP', () => runtime?.agent.pullNow());
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (process.channel) process.once('disconnect', () => shutdown('its supervisor is gone'));

  const verifier = config.auth
    ? new JwtVerifier({
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        jwksUri: config.auth.jwksUri,
        offlineMaxMs: config.offlineMaxMinutes * 60_000,
        keyCache: fileJwksCache(config.stateDir, config.auth.issuer),
      })
    : undefined;
  runtime = await startRuntime(config, {
    authenticate: verifier ? (authorization) => verifier.verify(authorization) : undefined,
  });
  // A handler that crashes outside its own promise must not take the location down.
  process.on('uncaughtException', (err) =>
    console.error('orbit runtime: uncaught error in a handler', err)
  );
  process.on('unhandledRejection', (err) =>
    console.error('orbit runtime: unhandled rejection in a handler', err)
  );
  process.stdout.write(
    `${JSON.stringify({ event: 'ready', location: config.location.locationId, url: runtime.url, pid: process.pid })}\n`
  );
}

main().catch((err: unknown) => {
  console.error(`orbit runtime: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
