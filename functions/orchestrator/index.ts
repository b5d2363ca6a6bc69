import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { dataRegionOf, gateAlarmPrefix, regionOf as locationRegion } from '../../lib/config/fleet';
import { type Environment, environmentSchema, type Location } from '../../lib/config/schema';
import { requiredEnv } from '../shared/env';
import { keys } from '../shared/keys';
import { createTableClient } from '../shared/table';
import { CloudWatchHealthSource, LambdaTrafficDriver, LambdaTrafficObserver } from './aws';
import { ControlStore } from './control-store';
import { runGovernance } from './governance';
import { Orchestrator } from './orchestrator';
import { HeartbeatHealthSource, SatelliteTrafficDriver } from './ports';

/** What a schedule sends: which job to run. */
export interface OrchestratorEvent {
  readonly job?: 'reconcile' | 'governance';
}

/** The orchestrator and the drift observer, wired for one environment definition. */
export interface ControlPlane {
  readonly environment: Environment;
  readonly orchestrator: Orchestrator;
  readonly observer: LambdaTrafficObserver;
}

/**
 * Checks a stored environment definition against the environment schema. Throws naming
 * every field at fault: the orchestrator then refuses to act on a definition it cannot read.
 */
export function parseDefinition(definition: string): Environment {
  let raw: unknown;
  try {
    raw = JSON.parse(definition);
  } catch (err) {
    throw new Error(`the stored environment definition is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = environmentSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(environment)'}: ${i.message}`
    );
    throw new Error(
      `the stored environment definition is invalid (redeploy the control plane): ${problems.join('; ')}`
    );
  }
  return parsed.data;
}

/** Wires the control plane for `env`: Lambda aliases and CloudWatch for regions, records and heartbeats for satellites. */
export function wireControlPlane(
  env: Environment,
  table: DynamoDBDocumentClient,
  tableName: string
): ControlPlane {
  const byId = new Map(env.locations.map((l) => [l.id, l]));
  const regionOf = (id: string) => {
    const l = byId.get(id);
    return l ? locationRegion(l) : env.homeRegion;
  };
  // The replica each region location's functions read, to wait for a record to reach it.
  const replicas = new Map<string, DynamoDBDocumentClient>([[env.homeRegion, table]]);
  const replicaOf = (id: string) => {
    const l = byId.get(id);
    const region = l ? dataRegionOf(env, l) : env.homeRegion;
    let replica = replicas.get(region);
    if (!replica) {
      replica = createTableClient({ region });
      replicas.set(region, replica);
    }
    return replica;
  };
  const lambdaDriver = new LambdaTrafficDriver({ table, tableName, regionOf, replicaOf });
  const satelliteDriver = new SatelliteTrafficDriver(table, tableName);
  const cloudWatch = new CloudWatchHealthSource({
    table,
    tableName,
    regionOf,
    alarmPrefix: (id, release) => gateAlarmPrefix(env, id, release),
  });
  const heartbeats = new HeartbeatHealthSource(table, tableName);
  const isRegion = (l: Location) => l.kind === 'region';
  return {
    environment: env,
    observer: new LambdaTrafficObserver({ table, tableName, regionOf }),
    orchestrator: new Orchestrator({
      environment: env,
      store: new ControlStore(table, tableName),
      driverFor: (l) => (isRegion(l) ? lambdaDriver : satelliteDriver),
      healthFor: (l) => (isRegion(l) ? cloudWatch : heartbeats),
    }),
  };
}

/**
 * The control plane for the environment definition the control-plane stack recorded
 * (`CONTROL`/`ENVIRONMENT`): one release of the orchestrator serves every environment, so
 * its configuration is data. The definition is read on every invocation (one GetItem), so a
 * deploy that changes only waves or gates takes effect at the next run; the wiring is
 * rebuilt only when the definition changed.
 */
export function controlPlaneLoader(
  table: DynamoDBDocumentClient,
  tableName: string
): () => Promise<ControlPlane> {
  let current: { definition: string; plane: ControlPlane } | undefined;
  return async () => {
    const out = await table.send(
      new GetCommand({
        TableName: tableName,
        Key: keys.environmentDefinition,
        ConsistentRead: true,
      })
    );
    const definition = out.Item?.definition;
    if (typeof definition !== 'string')
      throw new Error('the environment definition is missing from the table');
    if (current?.definition !== definition) {
      current = {
        definition,
        plane: wireControlPlane(parseDefinition(definition), table, tableName),
      };
    }
    return current.plane;
  };
}

const tableName = requiredEnv('ORBIT_TABLE_NAME');
const table = createTableClient({ region: requiredEnv('AWS_REGION') });
const controlPlane = controlPlaneLoader(table, tableName);

/** Runs one reconcile pass (every minute) or the governance jobs (on their schedule). */
export const handler = async (event: OrchestratorEvent = {}) => {
  const { orchestrator, environment: env, observer } = await controlPlane();
  if (event.job === 'governance') {
    const open = await runGovernance({
      environment: env,
      table,
      tableName,
      reporting: env.locations.filter((l) => l.kind !== 'region').map((l) => l.id),
      observeRegion: (id, desired) => observer.observe(id, desired),
    });
    return { job: 'governance', openFindings: open.length };
  }
  const report = await orchestrator.reconcile();
  console.log(JSON.stringify({ job: 'reconcile', events: report.events }));
  return { job: 'reconcile', events: report.events };
};
