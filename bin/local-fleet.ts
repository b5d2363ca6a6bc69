#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { DEFAULT_STATE_DIR } from '../lib/cli/target';
import { loadEnvironment } from '../lib/config/load';
import { startLocalFleet } from '../lib/local/fleet';

const USAGE = `usage: npm start -- [--env NAME] [--config PATH] [--port BASE] [--persist DIR] [--verbose]

  --env NAME      environment to run (default dev)
  --config PATH   an environment from a JSON file instead
  --port BASE     first loopback port: store, token issuer, then one per location (default 4100)
  --persist DIR   keep the store's data in DIR between runs (default: in memory)
  --verbose       print the runtimes' logs`;

/**
 * `npm start`: the whole fleet of one environment on this machine, until Ctrl-C.
 * A failure to start is one line and exit code 1.
 */
async function main(): Promise<void> {
  // The SDK's notice that Node 20 support ends in 2027 is in the README, not on every start.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      env: { type: 'string' },
      config: { type: 'string' },
      port: { type: 'string' },
      persist: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const basePort = values.port === undefined ? 4100 : Number(values.port);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65_000) {
    throw new Error(`--port ${values.port}: give a port between 1024 and 65000`);
  }
  const environment = loadEnvironment({ env: values.env, configPath: values.config });
  const started = performance.now();
  const fleet = await startLocalFleet({
    environment,
    basePort,
    persistDir: values.persist,
    stateDir: DEFAULT_STATE_DIR,
    onReconcile: (events) => {
      for (const event of events) console.log(`[orchestrator] ${event}`);
    },
    onLog: values.verbose ? (id, line) => console.log(`[${id}] ${line}`) : undefined,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);

  const rows = fleet.locations.map((l) => [l.id, l.kind, l.region, l.url]);
  const header = ['location', 'kind', 'region', 'url'];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length))
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  console.log(
    `\nOrbit local fleet '${environment.name}' up in ${seconds} s, release ${fleet.releaseId}\n`
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const first = fleet.locations[0]?.url ?? 'http://127.0.0.1:4102/';
  console.log(`\nstore   ${fleet.storeEndpoint}\nissuer  ${fleet.issuer.issuer}\n`);
  console.log(`export ORBIT_TOKEN=${fleet.token}\n`);
  console.log(`try:  curl -s ${first}health`);
  console.log(
    `      curl -s -X PUT -H "authorization: Bearer $ORBIT_TOKEN" -H 'content-type: application/json' -d '{"hello":"orbit"}' ${first}items/demo`
  );
  console.log(`      npx orbit status`);
  console.log(`\nCtrl-C stops everything.`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('\nstopping… ');
  await fleet.stop();
  console.log('stopped.');
}

main().catch((err: unknown) => {
  console.error(`orbit: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
