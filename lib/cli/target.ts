import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ControlStore } from '../../functions/orchestrator/control-store';
import { createTableClient } from '../../functions/shared/table';
import { orchestratorNameOf, tableNameOf } from '../config/fleet';
import { loadEnvironment } from '../config/load';
import type { Environment } from '../config/schema';
import { type LocalFleetState, localStateFile } from '../local/fleet';

/** What a CLI command works on: one environment's control records. */
export interface Target {
  readonly environment: Environment;
  readonly table: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly store: ControlStore;
  /** Location URLs, known for the local fleet. */
  readonly urls: Readonly<Record<string, string>>;
  /** Who commands are recorded as. */
  readonly actor: string;
  readonly local: boolean;
  /**
   * Has the orchestrator run a pass now, so that a command takes effect in seconds rather
   * than on the next scheduled pass; throws, saying why, when it cannot.
   */
  wake(): Promise<void>;
}

/** Invokes the orchestrator asynchronously (a reconcile pass); its reserved concurrency queues overlaps. */
async function invokeOrchestrator(environment: Environment): Promise<void> {
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

/** Asks the running local fleet for an orchestrator pass now. */
async function wakeLocalFleet(controlUrl: string | undefined): Promise<void> {
  if (!controlUrl) throw new Error('this local fleet has no control endpoint; restart it');
  const url = new URL('wake', controlUrl);
  const res = await fetch(url, { method: 'POST' }).catch(
    (err: Error & { cause?: { code?: string; message?: string } }) => {
      throw new Error(
        `${url} is unreachable (${err.cause?.code ?? err.cause?.message ?? err.message})`
      );
    }
  );
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
}

/** The IAM principal the credentials belong to: who the audit log names. */
async function callerIdentity(region: string): Promise<string> {
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

/** The default state directory of the local fleet, in the project. */
export const DEFAULT_STATE_DIR = path.join(process.cwd(), '.orbit');

/**
 * The running local fleet by default (found through `.orbit/local.json`), or an AWS
 * environment with `--env NAME` (the table in its home region, standard credential chain).
 */
export async function resolveTarget(options: { env?: string; stateDir?: string }): Promise<Target> {
  if (options.env) {
    const environment = loadEnvironment({ env: options.env });
    const table = createTableClient({ region: environment.homeRegion });
    const tableName = tableNameOf(environment);
    return {
      environment,
      table,
      tableName,
      store: new ControlStore(table, tableName),
      urls: {},
      actor: await callerIdentity(environment.homeRegion),
      local: false,
      wake: () => invokeOrchestrator(environment),
    };
  }
  const file = localStateFile(options.stateDir ?? DEFAULT_STATE_DIR);
  if (!existsSync(file)) {
    throw new Error(
      'no local fleet is running here (start one with npm start), or name an AWS environment with --env NAME'
    );
  }
  const state = JSON.parse(readFileSync(file, 'utf8')) as LocalFleetState;
  const environment = loadEnvironment({ env: state.environment });
  const table = createTableClient({
    region: state.homeRegion,
    endpoint: state.storeEndpoint,
    maxAttempts: 1,
  });
  return {
    environment,
    table,
    tableName: state.tableName,
    store: new ControlStore(table, state.tableName),
    urls: Object.fromEntries(state.locations.map((l) => [l.id, l.url])),
    actor: `local:${process.env.USER ?? 'developer'}`,
    local: true,
    wake: () => wakeLocalFleet(state.controlUrl),
  };
}
