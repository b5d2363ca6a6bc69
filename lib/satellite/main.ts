/**
 * The satellite runtime's entry point, bundled into every release as `runtime/index.js` and
 * run as `node runtime/index.js` on Local Zone and Outpost instances (systemd), on-prem
 * hosts, and once per location by the local fleet. Configured by environment variables
 * (see config.ts); prints one JSON line `{"event":"ready","url":…}` when it serves.
 */
import { JwtVerifier } from '../../functions/shared/jwt-verifier';
import { runtimeConfigFromEnv } from './config';
import { startRuntime } from './runtime';

async function main(): Promise<void> {
  // Satellites report request metrics in their heartbeats; EMF lines on stdout would reach no
  // CloudWatch here and cost every request a write. ORBIT_EMF=on keeps them (e.g. with an agent).
  if (process.env.ORBIT_EMF !== 'on') process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Powertools reads variables per request (AWS_LAMBDA_MAX_CONCURRENCY on every access to
  // its per-request state); on Node's process.env each read is a call into C++. A plain
  // copy makes them property reads. Nothing in this process needs the C-level environment.
  process.env = { ...process.env };
  const config = runtimeConfigFromEnv();
  const verifier = config.auth
    ? new JwtVerifier({
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        jwksUri: config.auth.jwksUri,
      })
    : undefined;
  const runtime = await startRuntime(config, {
    authenticate: verifier ? (authorization) => verifier.verify(authorization) : undefined,
  });
  process.stdout.write(
    `${JSON.stringify({ event: 'ready', location: config.location.locationId, url: runtime.url, pid: process.pid })}\n`
  );
  const shutdown = () => {
    runtime.stop().then(
      () => process.exit(0),
      () => process.exit(1)
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // A reload, as daemons take it: read the desired state now rather than at the next interval.
  process.on('SIGHUP', () => runtime.agent.pullNow());
  // A handler that crashes outside its own promise must not take the location down.
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
