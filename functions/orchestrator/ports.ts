import type { RolloutEventKind } from '../../core/environment/schema';
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
  /** Requests behind `p99Ms` (its window). @default - `requests` */
  readonly p99Requests?: number;
  /** False when the location has not reported within its promised interval. */
  readonly fresh: boolean;
  /** False when an alarm on the location is firing. */
  readonly alarmsOk: boolean;
  /**
   * The stable release's figures over the same window, when the sample was asked for them:
   * monotonic counts and p99, what the candidate is compared with. @default - not asked
   */
  readonly stable?: {
    readonly requests: number;
    readonly errors5xx: number;
    readonly p99Ms: number;
    /** Requests behind `p99Ms`. @default - `requests` */
    readonly p99Requests?: number;
  };
}

/** Where gates read health from. */
export interface HealthSource {
  /** @param stable the release serving beside the candidate, to sample too */
  sample(locationId: string, release: string, stable?: string): Promise<HealthSample>;
  /** Many locations at once, when the source can batch (one request per 100 locations). */
  sampleMany?(
    locationIds: readonly string[],
    release: string,
    stableOf?: (locationId: string) => string | undefined
  ): Promise<Map<string, HealthSample>>;
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

/** One smoke check's result at a location, for the rollout's history. */
export interface SmokeResult {
  /** The check's name (`GET /health` unless named). */
  readonly check: string;
  readonly ok: boolean;
  /** What was seen, in words: `200 in 35 ms`, `expected 200, got 503`, `status: "degraded"`. */
  readonly detail: string;
}

/**
 * Runs the environment's smoke checks (`rollout.smoke`) against a release at a location
 * before it gets any traffic there: on satellites through the release override header, in
 * regions by invoking the release's function versions directly.
 */
export interface SmokeRunner {
  run(locationId: string, release: string): Promise<readonly SmokeResult[]>;
}

/** A rollout transition, as published to EventBridge, the local fleet's log and webhooks. */
export interface RolloutEvent {
  readonly kind: RolloutEventKind;
  readonly environment: string;
  readonly rolloutId: string;
  readonly release: string;
  /** When it happened (ISO 8601). */
  readonly at: string;
  /** What happened, in words (the rollout history's entry). */
  readonly detail: string;
  /** The locations it concerns, when it concerns some. @default - the rollout as a whole */
  readonly locations?: readonly string[];
  /** The rollout's record version after the transition: consumers drop repeats by it. */
  readonly version: number;
}

/**
 * Where rollout transitions are told. Publishing never blocks nor fails a rollout: the
 * rollout record and the audit log are the truth, events are notifications.
 */
export interface RolloutEvents {
  publish(event: RolloutEvent): Promise<void>;
}
