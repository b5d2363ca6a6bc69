import { parseArgs } from 'node:util';
import * as commands from '../lib/cli/commands';
import { onPremHostPolicy, operatorPolicy } from '../lib/cli/operator-policy';
import { preflight } from '../lib/cli/preflight';
import { resolveTarget } from '../lib/cli/target';
import { loadEnvironment } from '../lib/config/load';

const USAGE = `usage: npx orbit <command> [--env NAME | --config PATH] [--port PORT] [--aws] [--json]

  status                              the fleet: releases, weights, health, heartbeats, findings
  stage [DIR]                         local fleet: build (or take) a release and stage it everywhere
  rollout plan <release>              waves, steps, bake times and fleet share, before anything moves
  rollout start <release>             start a rollout (the orchestrator runs it)
  rollout pause|resume|abort|promote  control the active rollout
  rollout status [ROLLOUT_ID] [--watch]  progress and evidence of the active (or latest, or named) rollout
  drain|restore --location ID | --function NAME [--reason TEXT]
  findings                            what governance jobs found
  governance run                      run the governance jobs now
  audit                               who did what, when, with what outcome
  preflight --env NAME                what a deploy needs, checked read-only with your credentials
  operator-policy --env NAME          the IAM policy this CLI needs against an AWS environment
  host-policy --env NAME --location ID  the IAM policy an on-prem host needs to assume its role

Targets a local fleet running here (npm start): the only one, or the one --env NAME,
--config PATH or --port PORT (its first port) picks. --env/--config name an AWS environment
when no local fleet of it runs here; --aws always does.`;

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      config: { type: 'string' },
      port: { type: 'string' },
      aws: { type: 'boolean' },
      json: { type: 'boolean' },
      watch: { type: 'boolean' },
      location: { type: 'string' },
      function: { type: 'string' },
      reason: { type: 'string' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const print = (out: commands.Output) =>
    console.log(values.json ? JSON.stringify(out.data, null, 2) : out.text);
  if (command === 'preflight') {
    const out = await preflight(values.env);
    print(out);
    if (out.failed > 0)
      throw new Error(`preflight: ${out.failed} check(s) failed; fix them, then deploy`);
    return;
  }
  if (command === 'operator-policy' || command === 'host-policy') {
    if (!values.env) throw new Error(`${command} needs --env NAME`);
    const environment = loadEnvironment({ env: values.env });
    const policy =
      command === 'operator-policy'
        ? operatorPolicy(environment)
        : onPremHostPolicy(environment, values.location ?? '');
    console.log(JSON.stringify(policy, null, 2));
    return;
  }
  if ((command === 'drain' || command === 'restore') && !values.location === !values.function) {
    throw new Error(
      values.location
        ? `${command} takes --location ID or --function NAME, not both`
        : `${command} needs what to ${command}: --location ID (one location) or --function NAME (one function fleet-wide), e.g. npx orbit ${command} --location lab`
    );
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536)) {
    throw new Error(`--port ${values.port}: give the local fleet's first port, e.g. 4100`);
  }
  const target = await resolveTarget({
    env: values.env,
    configPath: values.config,
    port,
    aws: values.aws,
    stateDir: values['state-dir'],
  });
  // --env or --config may mean AWS as well as a local fleet: say which one this is.
  if (target.local && (values.env || values.config)) {
    process.stderr.write(`orbit: using ${target.description} (--aws for AWS)\n`);
  }
  const needRelease = () => {
    if (!arg || !/^r-[0-9a-f]{16}$/.test(arg))
      throw new Error(`rollout ${sub} needs a release id (r- and 16 hex digits)`);
    return arg;
  };
  switch (command) {
    case 'status':
      return print(await commands.status(target));
    case 'stage':
      return print(await commands.stage(target, sub));
    case 'rollout':
      switch (sub) {
        case 'plan':
          return print(await commands.plan(target, needRelease()));
        case 'start':
          return print(await commands.submit(target, { command: 'start', release: needRelease() }));
        case 'pause':
        case 'resume':
        case 'abort':
        case 'promote':
          return print(await commands.submit(target, { command: sub }));
        case 'status':
          if (arg && !/^ro-[0-9a-f]{8}$/.test(arg)) {
            throw new Error(
              `rollout status ${arg}: give a rollout id such as ro-1a2b3c4d, or none`
            );
          }
          if (!values.watch) return print(await commands.rolloutStatus(target, arg));
          for (;;) {
            const out = await commands.rolloutStatus(target, arg);
            console.clear();
            print(out);
            const status = (out.data as { status?: string } | null)?.status;
            if (status !== 'running' && status !== 'paused') return;
            await new Promise((r) => setTimeout(r, 1000));
          }
        default:
          throw new Error(`unknown rollout command '${sub ?? ''}'; see npx orbit --help`);
      }
    case 'drain':
    case 'restore':
      return print(
        await commands.submit(target, {
          command,
          location: values.location,
          function: values.function,
          reason: values.reason,
        })
      );
    case 'findings':
      return print(await commands.findings(target));
    case 'governance':
      if (sub !== 'run') throw new Error("did you mean 'governance run'?");
      return print(await commands.governance(target));
    case 'audit':
      return print(await commands.audit(target));
    default:
      throw new Error(`unknown command '${command}'; see npx orbit --help`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`orbit: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
);
