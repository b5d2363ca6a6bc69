import { nearestRegion } from './regions';
import { regionOf } from './rules';
import type { Environment, Location, RegionLocation, SatelliteLocation } from './schema';

export { regionOf };

/** The fleet's region locations, in config order. */
export function regionLocations(env: Environment): RegionLocation[] {
  return env.locations.filter((l): l is RegionLocation => l.kind === 'region');
}

/** The fleet's satellite locations (Local Zones, Outposts, on-prem), in config order. */
export function satelliteLocations(env: Environment): SatelliteLocation[] {
  return env.locations.filter((l): l is SatelliteLocation => l.kind !== 'region');
}

/**
 * The data region a location reads and writes: its own region when that region holds a
 * replica, else the nearest one that does. Functions run everywhere; data lives only where
 * the environment allows.
 */
export function dataRegionOf(env: Environment, location: Location): string {
  return nearestRegion(regionOf(location), env.data.regions);
}

/** The global table's name, the same in every data region. */
export function tableNameOf(env: Environment): string {
  return `orbit-${env.name}`;
}

/**
 * The prefix of every Lambda function name of an environment's fleet: `orbit-<env>-<function>`.
 * Environment names hold no dash, so `orbit-dev-` never matches another environment's.
 */
export function fleetFunctionPrefix(env: Pick<Environment, 'name'>): string {
  return `orbit-${env.name}-`;
}

/** The orchestrator function of an environment: the control-plane stack and the CLI agree on it. */
export function orchestratorNameOf(env: Environment): string {
  return `orbit-${env.name}-orchestrator`;
}

/**
 * The role a satellite's runtime uses (the instance role, or the role on-prem hosts assume),
 * named so that a site's own IAM policy can name it: at most 59 characters (IAM allows 64).
 */
export function satelliteRoleNameOf(env: Environment, location: Location): string {
  return `orbit-${env.name}-${location.id}-runtime`;
}

/**
 * The name prefix of the gate alarms a deploy creates for `release` at a location: the
 * orchestrator lists exactly these (DescribeAlarms by prefix) while it judges that release,
 * so alarms of a release staged later never stand in for the one in its rollout.
 */
export function gateAlarmPrefix(
  env: Pick<Environment, 'name'>,
  locationId: string,
  release: string
): string {
  return `orbit-${env.name}-${locationId}-${release}-`;
}

/** Stack names, stable because they are what `cdk deploy` and CloudFormation know. */
export const stackNames = {
  globalState: (env: Environment) => `Orbit-${env.name}-GlobalState`,
  location: (env: Environment, location: Location) => `Orbit-${env.name}-Location-${location.id}`,
} as const;
