import { nearestRegion } from './regions';
import type { Environment, Location, RegionLocation, SatelliteLocation } from './schema';

/** The region a location's traffic and data path hang off. */
export function regionOf(location: Location): string {
  return location.kind === 'region' ? location.region : location.parentRegion;
}

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
