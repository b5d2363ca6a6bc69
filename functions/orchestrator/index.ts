import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Environment, Location } from '../../lib/config/schema';
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

const tableName = requiredEnv('ORBIT_TABLE_NAME');
const table = createTableClient({ region: requiredEnv('AWS_REGION') });
let orchestrator: Orchestrator | undefined;
let environment: Environment | undefined;
let observer: LambdaTrafficObserver | undefined;

/**
 * The environment definition the control-plane stack recorded (`CONTROL`/`ENVIRONMENT`):
 * one release of the orchestrator serves every environment, so its configuration is data.
 */
async function setUp(): Promise<{ orchestrator: Orchestrator; environment: Environment }> {
  if (orchestrator && environment) return { orchestrator, environment };
  const out = await table.send(
    new GetCommand({ TableName: tableName, Key: keys.environmentDefinition, ConsistentRead: true })
  );
  if (!out.Item?.definition)
    throw new Error('the environment definition is missing from the table');
  const env = JSON.parse(out.Item.definition as string) as Environment;
  const regionOf = (id: string) => {
    const l = env.locations.find((x) => x.id === id);
    return l?.kind === 'region' ? l.region : (l?.parentRegion ?? env.homeRegion);
  };
  const lambdaDriver = new LambdaTrafficDriver({ table, tableName, regionOf });
  observer = new LambdaTrafficObserver({ table, tableName, regionOf });
  const satelliteDriver = new SatelliteTrafficDriver(table, tableName);
  const cloudWatch = new CloudWatchHealthSource({
    table,
    tableName,
    regionOf,
    alarmPrefix: (id) => `orbit-${env.name}-${id}-`,
  });
  const heartbeats = new HeartbeatHealthSource(table, tableName);
  const isRegion = (l: Location) => l.kind === 'region';
  environment = env;
  orchestrator = new Orchestrator({
    environment: env,
    store: new ControlStore(table, tableName),
    driverFor: (l) => (isRegion(l) ? lambdaDriver : satelliteDriver),
    healthFor: (l) => (isRegion(l) ? cloudWatch : heartbeats),
  });
  return { orchestrator, environment };
}

/** Runs one reconcile pass (every minute) or the governance jobs (on their schedule). */
export const handler = async (event: OrchestratorEvent = {}) => {
  const { orchestrator: o, environment: env } = await setUp();
  if (event.job === 'governance') {
    const open = await runGovernance({
      environment: env,
      table,
      tableName,
      reporting: env.locations.filter((l) => l.kind !== 'region').map((l) => l.id),
      observeRegion: (id, desired) => (observer as LambdaTrafficObserver).observe(id, desired),
    });
    return { job: 'governance', openFindings: open.length };
  }
  const report = await o.reconcile();
  console.log(JSON.stringify({ job: 'reconcile', events: report.events }));
  return { job: 'reconcile', events: report.events };
};
