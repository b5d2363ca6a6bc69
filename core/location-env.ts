import { dataRegionOf, regionOf } from './environment/fleet';
import type { Environment, Location } from './environment/schema';
import { tableNameOf } from './names';

/**
 * Reads a required environment variable. Called at module scope so that a missing variable
 * fails the cold start, loudly, instead of the first request.
 */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `environment variable ${name} is not set; the location stack sets it for every Orbit function`
    );
  }
  return value;
}

/** What every Orbit function knows about where it runs. */
export interface LocationContext {
  readonly environment: string;
  readonly locationId: string;
  readonly locationKind: string;
  readonly region: string;
  readonly releaseId: string;
  readonly tableName: string;
  readonly dataRegion: string;
}

/** Names of the variables the location stacks (and satellites) set for every function. */
export const ORBIT_ENV = {
  environment: 'ORBIT_ENVIRONMENT',
  locationId: 'ORBIT_LOCATION_ID',
  locationKind: 'ORBIT_LOCATION_KIND',
  region: 'ORBIT_REGION',
  releaseId: 'ORBIT_RELEASE_ID',
  tableName: 'ORBIT_TABLE_NAME',
  dataRegion: 'ORBIT_DATA_REGION',
} as const satisfies Record<keyof LocationContext, string>;

/**
 * Names of variables that are not part of the location context: the function's own name
 * (its folder under `functions/api/`), CORS settings, and the release's route table, which
 * the release build writes into every bundle.
 */
export const ORBIT_FUNCTION_ENV = {
  functionName: 'ORBIT_FUNCTION',
  cors: 'ORBIT_CORS',
  routeTable: 'ORBIT_ROUTE_TABLE',
  drainCacheSeconds: 'ORBIT_DRAIN_CACHE_SECONDS',
  /**
   * Set by the satellite runtime, in its own process, while it cannot reach the table: since
   * when (ISO 8601). `/health` reports it; absent in Lambda and while connected.
   */
  linkDownSince: 'ORBIT_LINK_DOWN_SINCE',
} as const;

/** Reads the location context from the environment; throws naming the first missing variable. */
export function locationContextFromEnv(env: NodeJS.ProcessEnv = process.env): LocationContext {
  const read = (key: keyof LocationContext) => requiredEnv(ORBIT_ENV[key], env);
  return {
    environment: read('environment'),
    locationId: read('locationId'),
    locationKind: read('locationKind'),
    region: read('region'),
    releaseId: read('releaseId'),
    tableName: read('tableName'),
    dataRegion: read('dataRegion'),
  };
}

/** Where a location of `env` runs, as its functions see it (the release is per bundle). */
export function locationContextOf(
  env: Environment,
  location: Location
): Omit<LocationContext, 'releaseId'> {
  return {
    environment: env.name,
    locationId: location.id,
    locationKind: location.kind,
    region: regionOf(location),
    tableName: tableNameOf(env),
    dataRegion: dataRegionOf(env, location),
  };
}

/**
 * The variables that give a function its location context: what {@link locationContextFromEnv}
 * reads back. Every place that starts Orbit functions (the region stacks, the satellite
 * stacks, the satellite runtime, the local fleet) builds them here, so they cannot diverge.
 * @param options.cors the environment's CORS settings, passed to every function as JSON
 */
export function locationEnv(
  context: Omit<LocationContext, 'releaseId'> & { readonly releaseId?: string },
  options: { readonly cors?: object } = {}
): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const key of Object.keys(ORBIT_ENV) as (keyof LocationContext)[]) {
    const value = context[key];
    if (value !== undefined) vars[ORBIT_ENV[key]] = value;
  }
  if (options.cors) vars[ORBIT_FUNCTION_ENV.cors] = JSON.stringify(options.cors);
  return vars;
}
