#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { DEFAULT_STATE_DIR } from '../lib/cli/target';
import { loadEnvironment } from '../lib/config/load';
import { fleetBanner } from '../lib/local/banner';
import { startLocalFleet } from '../lib/local/fleet';
import { guardLogOutput } from '../lib/satellite/log-output';

const USAGE = `usage: npm start -- [--env NAME] [--config PATH] [--port BASE] [--persist DIR] [--verbose]

  --env NAME        environment to run (default dev)
  --config PATH     an environment from a JSON file instead
  --port BASE       first loopback port: store, token issuer, then one per location (default 4100)
  --persist DIR     keep the store's data and the token issuer's key in DIR between runs
                    (default: in memory, a new key per start)
  --state-dir DIR   where npx orbit finds this fleet (default .orbit; the file is
                    local-<env>-<port>.json)
  --verbose         print the runtimes' logs`;

/**
 * `npm start`: the whole fleet of one environment on this machine, until Ctrl-C.
 * A failure to start is one line and exit code 1.
 */
async function main(): Promise<void> {
  // Whoever reads the fleet's output (`npm start | head`) may go away; the fleet keeps running.
  guardLogOutput(process.stdout);
  guardLogOutput(process.stderr);
  // The SDK's notice that Node 20 support ends in 2027 is in the README, not on every start.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      env: { type: 'string' },
      config: { type: 'string' },
      port: { type: 'string' },
      persist: { type: 'string' },
      'state-dir': { type: 'string' },
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
    configPath: values.config,
    basePort,
    persistDir: values.persist,
    stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
    onReconcile: (events) => {
      for (const event of events) console.log(`[orchestrator] ${event}`);
    },
    onRestart: (line) => console.log(`[fleet] ${line}`),
    onEvent: (line) => console.log(`[events] ${line}`),
    onLog: values.verbose ? (id, line) => console.log(`[${id}] ${line}`) : undefined,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(fleetBanner(fleet, seconds));

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
