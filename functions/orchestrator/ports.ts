import type { TrafficSplit } from '../../core/records/desired-traffic';

/** What a location should serve. */
export type TrafficTarget = TrafficSplit;

/**
 * Moves traffic at one kind of location. Applying the same target twice is harmless: the
 * orchestrator relies on that to finish a step a crashed run started.
 */
export interface TrafficDriver {
  apply(locationId: string, target: TrafficTarget): Promise<void>;
}

/** A location's health for one release since it started serving it. */
export interface HealthSample {
  /** Monotonic counts for the release at the location. */
  readonly requests: number;
  readonly errors5xx: number;
  readonly p99Ms: number;
  /** False when the location has not reported within its promised interval. */
  readonly fresh: boolean;
  /** False when an alarm on the location is firing. */
  readonly alarmsOk: boolean;
}

/** Where gates read health from. */
export interface HealthSource {
  sample(locationId: string, release: string): Promise<HealthSample>;
  /** Many locations at once, when the source can batch (one request per 100 locations). */
  sampleMany?(locationIds: readonly string[], release: string): Promise<Map<string, HealthSample>>;
}

/** What a region location actually serves, read back from its aliases. */
export interface ObservedTraffic {
  readonly stable: string;
  readonly candidate?: string;
  readonly weight: number;
  /** Functions whose alias matches no release the location is meant to serve. */
  readonly unknown: readonly string[];
}

/** Reads what a region location's aliases actually route, for governance's drift job. */
export interface RegionObserver {
  observe(
    locationId: string,
    desired: Pick<TrafficTarget, 'stable' | 'candidate'>
  ): Promise<ObservedTraffic>;
}
