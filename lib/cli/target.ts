import * as path from 'node:path';
import type { Environment } from '../../core/environment/schema';
import { orchestratorNameOf, tableNameOf } from '../../core/names';
import { Records } from '../../core/records';
import { createTableClient } from '../../core/records/table';
import { loadEnvironment, parseEnvironment } from '../config/load';
import type { LocalControlState } from '../local/control';
import {
  type FoundLocalFleet,
  isFleetRunning,
  type LocalFleetState,
  readLocalStates,
} from '../local/state-file';
import type { RuntimeStatus } from '../local/supervisor';

/** What a CLI command works on: one environment's control records. */
export interface Target {
  readonly environment: Environment;
  /** The environment's platform records (the table in its home region, or the local store). */
  readonly records: Records;
  /** Location URLs, known for the local fleet. */
  readonly urls: Readonly<Record<string, string>>;
  /** Who commands are recorded as. */
  readonly actor: string;
  readonly local: boolean;
  /**
   * The local fleet's control endpoint (`POST /wake`, `GET /logs`, `POST /faults`).
   * @default - none (AWS)
   */
  readonly controlUrl?: string;
  /** What this target is, in words: `the local fleet 'dev' on port 4100`, `AWS environment 'prod'`. */
  readonly description: string;
  /**
   * The local fleet's runtimes as it supervises them (restart counts); undefined when the
   * fleet cannot say. @default - none (AWS)
   */
  runtimes?(): Promise<readonly RuntimeStatus[] | undefined>;
  /**
   * The local fleet's location links (`orbit fault disconnect` cuts them); undefined when the
   * fleet cannot say. @default - none (AWS)
   */
  links?(): Promise<LocalControlState['links']>;
  /**
   * Has the orchestrator run a pass now, so that a command takes effect in seconds rather
   * than on the next scheduled pass; throws, saying why, when it cannot.
   */
  wake(): Promise<void>;
  /**
   * Has the control plane run its governance jobs now, as its schedule does (the orchestrator
   * function in AWS, the fleet's loop locally), so that a run on demand is the very same
   * run; resolves with the number of open findings.
   */
  governance(): Promise<number>;
}

/** Invokes the orchestrator asynchronously (a reconcile pass); overlapping passes are fenced by the rollout record. */
async function invokeOrchestrator(environment: Environment): Promise<void> {
  // The SDK clients load only for the commands that call AWS: `--help` never pays for them.
  const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
  const lambda = new LambdaClient({ region: environment.homeRegion });
  try {
    await lambda.send(
      new InvokeCommand({
        FunctionName: orchestratorNameOf(environment),
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ job: 'reconcile' })),
      })
    );
  } finally {
    lambda.destroy();
  }
}

/**
 * Runs the orchestrator function's governance job and waits for it (RequestResponse): the
 * same job, wired the same way, as the schedule runs.
 */
async function invokeGovernance(environment: Environment): Promise<number> {
  const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
  const lambda = new LambdaClient({ region: environment.homeRegion });
  try {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: orchestratorNameOf(environment),
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify({ job: 'governance' })),
      })
    );
    const payload = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      const why = (() => {
        try {
          return (JSON.parse(payload) as { errorMessage?: string }).errorMessage ?? payload;
        } catch {
          return payload;
        }
      })();
      throw new Error(`the governance job failed in ${orchestratorNameOf(environment)}: ${why}`);
    }
    return Number((JSON.parse(payload) as { openFindings?: unknown }).openFindings ?? 0);
  } finally {
    lambda.destroy();
  }
}

/** Asks the running local fleet to run its governance jobs now. */
async function governLocalFleet(controlUrl: string | undefined): Promise<number> {
  const res = await postControl(controlUrl, 'governance');
  const body = (await res.json()) as { openFindings?: number; detail?: string };
  if (!res.ok) throw new Error(body.detail ?? `the local fleet answered ${res.status}`);
  return Number(body.openFindings ?? 0);
}

/** POSTs to the running local fleet's control endpoint; throws when it cannot be reached. */
async function postControl(controlUrl: string | undefined, what: string): Promise<Response> {
  if (!controlUrl) throw new Error('this local fleet has no control endpoint; restart it');
  const url = new URL(what, controlUrl);
  return fetch(url, { method: 'POST' }).catch(
    (err: Error & { cause?: { code?: string; message?: string } }) => {
      throw new Error(
        `${url} is unreachable (${err.cause?.code ?? err.cause?.message ?? err.message})`
      );
    }
  );
}

/** Asks the running local fleet for an orchestrator pass now. */
async function wakeLocalFleet(controlUrl: string | undefined): Promise<void> {
  const res = await postControl(controlUrl, 'wake');
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${res.url} answered ${res.status}`);
}

/** The IAM principal the credentials belong to: who the audit log names. */
async function callerIdentity(region: string): Promise<string> {
  const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({ region });
  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    if (!Arn) throw new Error('STS returned no ARN');
    return Arn;
  } catch (err) {
    throw new Error(`no usable AWS credentials for ${region}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    sts.destroy();
  }
}

/**
 * The default state directory of the local fleet: `.orbit` in the Orbit checkout this code
 * belongs to (two folders up, from `lib/cli/` and from the CLI bundle's `dist/cli/` alike), so
 * that `npm start` and an `orbit` run from any directory meet in one place.
 */
export const DEFAULT_STATE_DIR = path.join(__dirname, '..', '..', '.orbit');

/** How a command picks what it works on (the CLI's `--env`, `--config`, `--port`, `--aws`). */
export interface TargetOptions {
  /** An environment by name: a local fleet of it running here, else the AWS environment. */
  readonly env?: string;
  /** An environment from a JSON file, picked like `env`. */
  readonly configPath?: string;
  /** The local fleet whose first port this is (`npm start -- --port PORT`). */
  readonly port?: number;
  /** The AWS environment even when a local fleet of it runs here. */
  readonly aws?: boolean;
  /** Where local fleets write their state files. @default DEFAULT_STATE_DIR */
  readonly stateDir?: string;
  /** Never reach AWS (for {@link resolvePlanTarget}). @default false */
  readonly offlineAws?: boolean;
}

const NO_FLEET =
  'no local fleet is running here (start one with npm start), or name an AWS environment with --env NAME';

/** `dev on port 4100 (.orbit/local-dev-4100.json)`. */
const describeFleet = ({ file, state }: FoundLocalFleet) =>
  `${state.environment} on port ${state.port ?? new URL(state.storeEndpoint).port} (${path.relative(process.cwd(), file) || file})`;

/**
 * What a command works on. A local fleet running here (found through its state file in
 * `.orbit/`) when one matches: the only one running, or the one `--env`/`--config` names,
 * or the one on `--port`; several that match are an error listing them. Otherwise the AWS
 * environment `--env`/`--config` names (the table in its home region, standard credential
 * chain); `--aws` goes there directly. A state file whose fleet is gone counts as no fleet.
 */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (options.aws && options.port !== undefined) {
    throw new Error('--port picks a local fleet and --aws an AWS environment; give one of them');
  }
  const fromFile = options.configPath
    ? loadEnvironment({ configPath: options.configPath })
    : undefined;
  const name = fromFile?.name ?? options.env;
  if (options.aws) {
    if (!name) throw new Error('--aws needs the environment: --env NAME or --config PATH');
    return awsTarget(fromFile ?? loadEnvironment({ env: name }), options.offlineAws);
  }
  const found = readLocalStates(options.stateDir ?? DEFAULT_STATE_DIR);
  const alive = await Promise.all(found.map((f) => isFleetRunning(f.state)));
  const running = found.filter((_, i) => alive[i]);
  const gone = found.filter((_, i) => !alive[i]);
  const matching = running.filter(
    ({ state }) =>
      (name === undefined || state.environment === name) &&
      (options.port === undefined || state.port === options.port)
  );
  if (matching.length > 1) {
    throw new Error(
      `${matching.length} local fleets are running here: ${matching.map(describeFleet).join(', ')}; pick one with --port PORT${name ? '' : ' or --env NAME'}`
    );
  }
  const [only] = matching;
  if (only) return localTarget(only);
  if (options.port !== undefined || name === undefined) {
    const wanted = [
      name === undefined ? '' : ` of '${name}'`,
      options.port === undefined ? '' : ` on port ${options.port}`,
    ].join('');
    const others = running.length > 0 ? `; running: ${running.map(describeFleet).join(', ')}` : '';
    const left =
      gone.length > 0
        ? `; ${gone.map((f) => path.relative(process.cwd(), f.file) || f.file).join(', ')} ${gone.length > 1 ? 'are' : 'is'} left by a fleet that is gone`
        : '';
    throw new Error(
      wanted ? `no local fleet${wanted} is running here${others}${left}` : `${NO_FLEET}${left}`
    );
  }
  return awsTarget(fromFile ?? loadEnvironment({ env: name }), options.offlineAws);
}

/** What `rollout plan` works on: a local fleet's records, or an environment's configuration. */
export interface PlanTarget {
  readonly environment: Environment;
  /** The local fleet's records; none for an AWS environment (the plan is configuration). */
  readonly records?: Records;
  readonly description: string;
}

/**
 * The target of `rollout plan`: a local fleet as {@link resolveTarget} picks it, else the
 * named environment's configuration alone, so that a plan against AWS needs no credentials
 * and no network.
 */
export async function resolvePlanTarget(options: TargetOptions): Promise<PlanTarget> {
  try {
    return await resolveTarget({ ...options, offlineAws: true });
  } catch (err) {
    if (!(err instanceof AwsEnvironmentWanted)) throw err;
    return {
      environment: err.environment,
      description: `AWS environment '${err.environment.name}' (configuration)`,
    };
  }
}

/** Raised inside {@link resolvePlanTarget}: no local fleet matches, the AWS environment does. */
class AwsEnvironmentWanted extends Error {
  constructor(readonly environment: Environment) {
    super(`AWS environment '${environment.name}'`);
    this.name = 'AwsEnvironmentWanted';
  }
}

async function awsTarget(environment: Environment, offline = false): Promise<Target> {
  if (offline) throw new AwsEnvironmentWanted(environment);
  return {
    environment,
    records: new Records(
      createTableClient({ region: environment.homeRegion }),
      tableNameOf(environment)
    ),
    urls: {},
    actor: await callerIdentity(environment.homeRegion),
    local: false,
    description: `AWS environment '${environment.name}'`,
    wake: () => invokeOrchestrator(environment),
    governance: () => invokeGovernance(environment),
  };
}

/** The environment a fleet runs: recorded in its state file, or (older files) by name. */
function environmentOf({ file, state }: FoundLocalFleet): Environment {
  return state.definition === undefined
    ? loadEnvironment({ env: state.environment })
    : parseEnvironment(state.definition, `of the local fleet in ${file}`);
}

function localTarget(found: FoundLocalFleet): Target {
  const state: LocalFleetState = found.state;
  const table = createTableClient({
    region: state.homeRegion,
    endpoint: state.storeEndpoint,
    maxAttempts: 1,
  });
  return {
    environment: environmentOf(found),
    records: new Records(table, state.tableName),
    urls: Object.fromEntries(state.locations.map((l) => [l.id, l.url])),
    actor: `local:${process.env.USER ?? 'developer'}`,
    local: true,
    controlUrl: state.controlUrl,
    description: `the local fleet ${describeFleet(found)}`,
    runtimes: async () => (await localState(state.controlUrl))?.runtimes,
    links: async () => (await localState(state.controlUrl))?.links,
    wake: () => wakeLocalFleet(state.controlUrl),
    governance: () => governLocalFleet(state.controlUrl),
  };
}

/** The fleet as its control endpoint reports it (runtimes, links); undefined when it cannot. */
async function localState(controlUrl: string): Promise<LocalControlState | undefined> {
  try {
    const res = await fetch(new URL('state', controlUrl));
    if (!res.ok) {
      await res.arrayBuffer();
      return undefined;
    }
    return (await res.json()) as LocalControlState;
  } catch {
    return undefined;
  }
}
