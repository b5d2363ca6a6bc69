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
 *
 * With `ORBIT_WORKERS` above 1 (the default: one per core) this process is the host's
 * primary: it pulls for the host and runs that many workers (node:cluster, one port), which
 * serve; it prints the ready line once the first worker serves (the others join then), and on SIGTERM stops them all and
 * prints what they answered and cut (see primary.ts, workers.ts, worker.ts). `ORBIT_WORKERS=1`
 * is a single process that pulls and serves, no cluster.
 */
import cluster from 'node:cluster';
import { type JwksCache, JwtVerifier } from '../../functions/shared/jwt-verifier';
import { runtimeConfigFromEnv } from './config';
import { fileJwksCache } from './jwks-cache';
import type { StopOutcome } from './listen';
import { type GuardedOutput, guardLogOutput } from './log-output';
import { shutdownGraceSecondsFromEnv } from './shutdown';
import type { DroppedWrites } from './worker-messages';

/** The log writes these outputs dropped so far, per stream. */
const droppedOf = (outputs: Record<string, GuardedOutput>): DroppedWrites =>
  Object.fromEntries(
    Object.entries(outputs).map(([name, o]) => [name, { dropped: o.dropped, failure: o.failure }])
  );

/** `stdout 12 (EPIPE)`, for the line a stopping runtime prints: its own and its workers'. */
const droppedWrites = (...all: DroppedWrites[]): string => {
  const sum = new Map<string, { dropped: number; failure?: string }>();
  for (const d of all) {
    for (const [name, o] of Object.entries(d)) {
      const s = sum.get(name) ?? { dropped: 0 };
      sum.set(name, { dropped: s.dropped + o.dropped, failure: s.failure ?? o.failure });
    }
  }
  return [...sum]
    .filter(([, o]) => o.dropped > 0)
    .map(([name, o]) => `${name} ${o.dropped}${o.failure ? ` (${o.failure})` : ''}`)
    .join(', ');
};

/** What a runtime (a single process or a host's primary) says when it stops. */
interface Stoppable {
  readonly url: string;
  readonly agent: { pullNow(): void };
  stop(
    graceMs: number
  ): Promise<StopOutcome & { readonly dropped?: DroppedWrites; readonly lost?: number }>;
}

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
  const verifier = (keyCache: (issuer: string) => JwksCache) =>
    config.auth
      ? new JwtVerifier({
          issuer: config.auth.issuer,
          audience: config.auth.audience,
          jwksUri: config.auth.jwksUri,
          offlineMaxMs: config.offlineMaxMinutes * 60_000,
          keyCache: keyCache(config.auth.issuer),
        })
      : undefined;
  const keyFile = (issuer: string) => fileJwksCache(config.stateDir, issuer);
  const authenticateWith = (v: JwtVerifier | undefined) =>
    v ? (authorization: string | undefined) => v.verify(authorization) : undefined;

  if (cluster.isWorker) {
    // A reload is the primary's (it pulls); the default action of SIGHUP would end this one.
    process.on('SIGHUP', () => undefined);
    const { runWorker } = await import('./worker');
    await runWorker(config, {
      authenticate: authenticateWith(verifier((issuer) => sharedKeyFile(keyFile(issuer)))),
      graceMs,
      dropped: () => droppedOf(outputs),
    });
    installCrashGuards();
    return;
  }

  let runtime: Stoppable | undefined;
  let stopping = false;
  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    // Nothing is served before the runtime is ready: nothing to wait for.
    if (!runtime) process.exit(0);
    // Only a stop that itself hangs gets here; the grace period bounds the rest.
    setTimeout(() => process.exit(1), graceMs + 5_000).unref();
    runtime.stop(graceMs).then(
      ({ drained, cut, abandoned, dropped: workers = {}, lost = 0 }) => {
        const dropped = droppedWrites(droppedOf(outputs), workers);
        console.error(
          `orbit runtime: stopped (${why}): ${drained} request(s) answered while stopping` +
            (cut > 0 ? `, ${cut} cut when the ${graceMs / 1000} s grace period ended` : '') +
            (abandoned > 0 ? `, ${abandoned} abandoned by their clients before the answer` : '') +
            (lost > 0 ? `, ${lost} worker(s) ended without saying what they answered` : '') +
            (dropped ? `; log writes dropped: ${dropped}` : '')
        );
        process.exit(cut > 0 || lost > 0 ? 1 : 0);
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

  // Imported on demand, so that a host's primary forks its workers before it loads the table's
  // and S3's clients, and a worker never loads them: each is a cold start's time.
  runtime =
    config.workers > 1
      ? await (await import('./primary')).startPrimary(config)
      : await (await import('./runtime')).startRuntime(config, {
          authenticate: authenticateWith(verifier(keyFile)),
        });
  installCrashGuards();
  process.stdout.write(
    `${JSON.stringify({ event: 'ready', location: config.location.locationId, url: runtime.url, pid: process.pid, ...(config.workers > 1 ? { workers: config.workers } : {}) })}\n`
  );
}

/**
 * The key file as a host's workers share it: each refreshes the keys on its own, and when two
 * save them at once one rename finds the other's file gone. Either copy is as good, so a save
 * that fails is no failure of the refresh (nor of the request that waited for it).
 */
function sharedKeyFile(file: JwksCache): JwksCache {
  return {
    load: () => file.load(),
    save: (keys) => {
      try {
        file.save(keys);
      } catch {
        // Another worker's save won; the keys are in memory either way.
      }
    },
  };
}

/** A handler that crashes outside its own promise must not take the location down. */
function installCrashGuards(): void {
  process.on('uncaughtException', (err) =>
    console.error('orbit runtime: uncaught error in a handler', err)
  );
  process.on('unhandledRejection', (err) =>
    console.error('orbit runtime: unhandled rejection in a handler', err)
  );
}

main().catch((err: unknown) => {
  console.error(`orbit runtime: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
