import { dataRegionOf, regionOf } from '../../core/environment/fleet';
import type { Environment, Location } from '../../core/environment/schema';
import { gateAlarmPrefix } from '../../core/names';
import { Records } from '../../core/records';
import type { Finding } from '../../core/records/findings';
import { createTableClient } from '../../core/records/table';
import { awsRolloutEvents } from './adapters/aws-rollout-events';
import { CloudWatchHealthSource } from './adapters/cloudwatch-health';
import { HeartbeatHealthSource } from './adapters/heartbeat-health';
import { HttpSmokeRunner, registeredUrl } from './adapters/http-smoke';
import { LambdaTrafficObserver } from './adapters/lambda-observer';
import { LambdaSmokeRunner } from './adapters/lambda-smoke';
import { LambdaTrafficDriver } from './adapters/lambda-traffic';
import { SatelliteTrafficDriver } from './adapters/satellite-traffic';
import { runGovernance } from './governance';
import { Orchestrator } from './orchestrator';
import type {
  HealthSource,
  RegionObserver,
  RolloutEvents,
  SmokeRunner,
  TrafficDriver,
} from './ports';

/** How a control plane reaches the locations of its platform (AWS, or the local fleet). */
export interface ControlPlaneAdapters {
  /** The driver that moves traffic at a location. */
  readonly driverFor: (location: Location) => TrafficDriver;
  /** Where a location's gates read health. */
  readonly healthFor: (location: Location) => HealthSource;
  /** Locations that report heartbeats (governance reads them). */
  readonly reporting: readonly string[];
  /** Reads what region locations' aliases route. @default - region drift is not checked */
  readonly observer?: RegionObserver;
  /** Runs the smoke checks against a release at a location. @default - none run */
  readonly smoke?: SmokeRunner;
  /** Where rollout transitions are told. @default - the record and the audit log only */
  readonly events?: RolloutEvents;
}

/** Options of {@link createControlPlane}. */
export interface ControlPlaneOptions {
  /** Who the orchestrator acts as in the audit log. @default 'orchestrator' */
  readonly actor?: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told when a rollout event missed a destination (the rollout goes on). @default - ignored */
  readonly onEventError?: (err: unknown) => void;
}

/** The orchestrator and the governance runner of one environment, wired once. */
export interface ControlPlane {
  readonly environment: Environment;
  readonly records: Records;
  readonly orchestrator: Orchestrator;
  /** Runs the governance jobs; returns the open findings. */
  governance(): Promise<Finding[]>;
}

/**
 * The one wiring of a control plane, used by the orchestrator Lambda and by the local fleet
 * (and so, through them, by the CLI): the same orchestrator and the same governance jobs,
 * over the platform's adapters.
 */
export function createControlPlane(
  environment: Environment,
  records: Records,
  adapters: ControlPlaneAdapters,
  options: ControlPlaneOptions = {}
): ControlPlane {
  const orchestrator = new Orchestrator({
    environment,
    records,
    driverFor: adapters.driverFor,
    healthFor: adapters.healthFor,
    ...(adapters.smoke ? { smoke: adapters.smoke } : {}),
    ...(adapters.events ? { events: adapters.events } : {}),
    ...options,
  });
  return {
    environment,
    records,
    orchestrator,
    governance: () =>
      runGovernance({
        environment,
        records,
        reporting: adapters.reporting,
        ...(adapters.observer ? { observer: adapters.observer } : {}),
        ...(options.now ? { now: options.now } : {}),
      }),
  };
}

/**
 * AWS: Lambda aliases and CloudWatch for region locations, desired-traffic records and
 * heartbeats for satellites; region drift read back from the aliases.
 * @param replicaFor the records of a data region's replica @default - a table client per region
 */
export function awsAdapters(
  env: Environment,
  records: Records,
  replicaFor: (region: string) => Records = (region) =>
    new Records(createTableClient({ region }), records.tableName)
): ControlPlaneAdapters {
  const byId = new Map(env.locations.map((l) => [l.id, l]));
  const regionOfId = (id: string) => {
    const l = byId.get(id);
    return l ? regionOf(l) : env.homeRegion;
  };
  // The replica each region location's functions read, to wait for a record to reach it.
  const replicas = new Map<string, Records>([[env.homeRegion, records]]);
  const replicaOf = (id: string) => {
    const l = byId.get(id);
    const region = l ? dataRegionOf(env, l) : env.homeRegion;
    let replica = replicas.get(region);
    if (!replica) {
      replica = replicaFor(region);
      replicas.set(region, replica);
    }
    return replica;
  };
  const lambdaDriver = new LambdaTrafficDriver({ records, regionOf: regionOfId, replicaOf });
  const satelliteDriver = new SatelliteTrafficDriver(records);
  const cloudWatch = new CloudWatchHealthSource({
    records,
    regionOf: regionOfId,
    alarmPrefix: (id, release) => gateAlarmPrefix(env, id, release),
  });
  const heartbeats = new HeartbeatHealthSource(records);
  const isRegion = (l: Location) => l.kind === 'region';
  // Smoke checks: regions invoke the staged versions; satellites are asked over HTTP, at the
  // URL their registration names (an on-prem site has none, and fails its checks saying so).
  const checks = env.rollout.smoke;
  const lambdaSmoke = new LambdaSmokeRunner({ records, regionOf: regionOfId, checks });
  const httpSmoke = new HttpSmokeRunner({ checks, urlOf: registeredUrl(records) });
  return {
    driverFor: (l) => (isRegion(l) ? lambdaDriver : satelliteDriver),
    healthFor: (l) => (isRegion(l) ? cloudWatch : heartbeats),
    reporting: env.locations.filter((l) => !isRegion(l)).map((l) => l.id),
    observer: new LambdaTrafficObserver({ records, regionOf: regionOfId }),
    smoke: {
      run: (id, release) => {
        const l = byId.get(id);
        return (l && isRegion(l) ? lambdaSmoke : httpSmoke).run(id, release);
      },
    },
    events: awsRolloutEvents(env),
  };
}
