import type { ReleaseCounts, WindowStats } from './stats';

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
  /** When it was written (ISO 8601), or `first deploy` for a region's adopted first release. */
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
  /**
   * Per release served in the last window: counts and latency. Drained answers are counted
   * as `drained` only (see {@link ReleaseCounts}).
   */
  readonly releases: Readonly<Record<string, WindowStats>>;
  /** Per release, counts since the runtime started (monotonic; gates diff them). */
  readonly totals: Readonly<Record<string, ReleaseCounts>>;
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

/** One runtime process's report: a location runs one process per host, and hosts scale out. */
export interface InstanceHeartbeat extends Heartbeat {
  /** The host (its name, or `ORBIT_INSTANCE_ID`). */
  readonly instanceId: string;
}

/**
 * A location's stored heartbeat: one entry per runtime process, under {@link instanceKey}, in
 * one item, so that the orchestrator still reads a whole location with one key.
 */
export interface HeartbeatRecord {
  readonly instances: Readonly<Record<string, InstanceHeartbeat>>;
}

/** What one host reports serving. */
export type HostSplit = Pick<InstanceHeartbeat, 'instanceId' | 'stable' | 'candidate' | 'weight'>;

/** A location's heartbeat as one report (see {@link locationHeartbeat}). */
export interface LocationHeartbeat extends Heartbeat {
  /** What each process still reporting (not stale next to the freshest) serves. */
  readonly hosts: readonly HostSplit[];
}

/**
 * The entry that keeps the totals of processes long gone: governance folds their entries into
 * it, so that the location's summed totals never go down (gates diff them mid-rollout).
 */
export const RETIRED_ENTRY = 'retired';

/**
 * The entry key of a process: host and start time. A restarted process starts its totals at
 * zero under a new key, so every entry's totals only grow, and so does their sum.
 */
export const instanceKey = (hb: Pick<InstanceHeartbeat, 'instanceId' | 'startedAt'>): string =>
  `${hb.instanceId}@${hb.startedAt}`;

/** The attributes of a heartbeat record holding these entries. */
export function heartbeatRecord(...entries: InstanceHeartbeat[]): HeartbeatRecord {
  return { instances: Object.fromEntries(entries.map((e) => [instanceKey(e), e])) };
}

/**
 * A location's heartbeat as one report: what its freshest process serves; the totals of every
 * process summed (each only grows, retired ones are kept, so the sum only grows and gates can
 * diff it); and the last window of the processes still reporting merged: counts summed,
 * latency percentiles the highest host's (conservative: a gate must not miss the slow host,
 * and the merged p50 is an upper bound, not a median). Undefined when no process reported.
 */
export function locationHeartbeat(record: unknown): LocationHeartbeat | undefined {
  const entries = heartbeatEntries(record);
  const freshest = entries
    .filter((e) => e.instanceId !== RETIRED_ENTRY)
    .reduce<InstanceHeartbeat | undefined>(
      (best, e) => (!best || e.atMs > best.atMs ? e : best),
      undefined
    );
  if (!freshest) return undefined;
  const reporting = entries.filter(
    (e) => e.instanceId !== RETIRED_ENTRY && !isStale(e, freshest.atMs)
  );
  const totals = sumTotals(entries);
  const releases: Record<string, WindowStats> = {};
  for (const e of reporting) {
    for (const [release, w] of Object.entries(e.releases ?? {})) {
      const m = releases[release];
      releases[release] = m
        ? {
            ...addCounts(m, w),
            p50Ms: Math.max(m.p50Ms, w.p50Ms),
            p99Ms: Math.max(m.p99Ms, w.p99Ms),
          }
        : { ...w };
    }
  }
  const { instanceId: _host, ...report } = freshest;
  const hosts = reporting.map(({ instanceId, stable, candidate, weight }) => ({
    instanceId,
    stable,
    ...(candidate ? { candidate } : {}),
    weight,
  }));
  return { ...report, releases, totals, hosts };
}

/**
 * The entries of a stored heartbeat, by key. An item written before heartbeats had one entry
 * per process (a flat report) reads as a single entry.
 */
export function heartbeatEntries(record: unknown): InstanceHeartbeat[] {
  const item = record as (Partial<HeartbeatRecord> & Partial<Heartbeat>) | undefined;
  if (item?.instances) return Object.values(item.instances);
  if (item?.totals && typeof item.atMs === 'number') {
    return [{ ...(item as unknown as Heartbeat), instanceId: 'unnamed' }];
  }
  return [];
}

/** Per release, the counts of these entries added up. */
export function sumTotals(
  entries: readonly (Pick<Heartbeat, 'totals'> | undefined)[]
): Record<string, ReleaseCounts> {
  const totals: Record<string, ReleaseCounts> = {};
  for (const e of entries) {
    for (const [release, t] of Object.entries(e?.totals ?? {})) {
      totals[release] = addCounts(totals[release] ?? NO_COUNTS, t);
    }
  }
  return totals;
}

const NO_COUNTS: ReleaseCounts = { requests: 0, errors4xx: 0, errors5xx: 0 };

/** Two counts added up; `drained` only when either has drained answers (as runtimes write it). */
function addCounts(a: ReleaseCounts, b: ReleaseCounts): ReleaseCounts {
  const drained = (a.drained ?? 0) + (b.drained ?? 0);
  return {
    requests: a.requests + b.requests,
    errors4xx: a.errors4xx + b.errors4xx,
    errors5xx: a.errors5xx + b.errors5xx,
    ...(drained > 0 ? { drained } : {}),
  };
}

/** The retired entry of a location, without totals yet: never fresh, never serving. */
export function retiredEntry(locationId: string): InstanceHeartbeat {
  return {
    instanceId: RETIRED_ENTRY,
    locationId,
    at: new Date(0).toISOString(),
    atMs: 0,
    intervalSeconds: 0,
    stable: '',
    weight: 0,
    releases: {},
    totals: {},
    startedAt: new Date(0).toISOString(),
  };
}
