import type { WindowStats } from './stats';

/**
 * What a location should serve: the stable release, and during a rollout a candidate with
 * its share of traffic. Written by the orchestrator (and, once, by a satellite adopting its
 * first staged release); read by the satellite's pull agent.
 */
export interface DesiredTraffic {
  readonly stable: string;
  readonly candidate?: string;
  /** Share of requests for the candidate, 0..1. */
  readonly weight: number;
  readonly updatedAt: string;
}

/** What a satellite reports about itself, every pull interval. */
export interface Heartbeat {
  readonly locationId: string;
  /** When it was written (ISO 8601) and the same in epoch ms, for freshness checks. */
  readonly at: string;
  readonly atMs: number;
  /** How often the satellite promises to write one, in seconds. */
  readonly intervalSeconds: number;
  readonly stable: string;
  readonly candidate?: string;
  readonly weight: number;
  /** Per release served in the last window: counts and latency. */
  readonly releases: Readonly<Record<string, WindowStats>>;
  /** Per release, counts since the runtime started (monotonic; gates diff them). */
  readonly totals: Readonly<
    Record<string, { requests: number; errors4xx: number; errors5xx: number }>
  >;
  /** When this runtime process started serving (ISO 8601); totals restart with it. */
  readonly startedAt: string;
  /** Why the last pull failed, if it did (the satellite keeps serving what it has). */
  readonly lastError?: string;
}

/** How many missed intervals make a heartbeat stale. */
export const STALE_AFTER_INTERVALS = 3;

/** True when a satellite has not reported for {@link STALE_AFTER_INTERVALS} intervals. */
export function isStale(
  heartbeat: Pick<Heartbeat, 'atMs' | 'intervalSeconds'>,
  nowMs: number
): boolean {
  return nowMs - heartbeat.atMs > STALE_AFTER_INTERVALS * heartbeat.intervalSeconds * 1000;
}
