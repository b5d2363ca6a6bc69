import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from './keys';
import { batchGetItems, getItem, isConditionFailed, type RecordTable } from './table';

/**
 * What a release answered at a location. An answer refused because the location or the
 * function is drained counts as `drained` only, not in `requests` nor in the errors: a drain
 * is no error of the release, and must neither breach nor dilute its error rate.
 */
export interface ReleaseCounts {
  /** Answers the release gave, drained ones excluded. */
  readonly requests: number;
  readonly errors4xx: number;
  /** 5xx answers of the release: what gates judge. */
  readonly errors5xx: number;
  /** 503 `drained` answers of the kill switch; absent when there were none. */
  readonly drained?: number;
  /**
   * Answers given while the satellite could not reach its table (whatever their status):
   * served from what it held, they are no evidence about the release either way — a table
   * out of reach must neither breach nor pass a gate. Absent when there were none.
   */
  readonly offline?: number;
}

/** What a release served at a location over one heartbeat window. */
export interface WindowStats extends ReleaseCounts {
  /** Latency percentiles in ms of the requests (drained answers left out); 0 when none. */
  readonly p50Ms: number;
  readonly p99Ms: number;
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
  /**
   * The process's last loss of its link to the table, for an hour after it ended: since
   * when (ISO 8601), and when the link came back. Heartbeats written late, after the link
   * came back, carry `since` alone: they were taken while it was down.
   */
  readonly disconnection?: Disconnection;
}

/** A time a satellite could not reach its table (see {@link Heartbeat.disconnection}). */
export interface Disconnection {
  readonly since: string;
  /** Absent while the link is still down. */
  readonly until?: string;
}

/** How long after its link came back a process still reports the disconnection. */
export const DISCONNECTION_REPORTED_MS = 60 * 60 * 1000;

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

/** What one host reports serving, and when it reported it. */
export type HostSplit = Pick<
  InstanceHeartbeat,
  'instanceId' | 'stable' | 'candidate' | 'weight' | 'atMs'
>;

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
      releases[release] = m ? mergeWindowStats(m, w) : { ...w };
    }
  }
  const { instanceId: _host, ...report } = freshest;
  const hosts = reporting.map(({ instanceId, stable, candidate, weight, atMs }) => ({
    instanceId,
    stable,
    ...(candidate ? { candidate } : {}),
    weight,
    atMs,
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

/**
 * Two windows' figures as one: counts added, latency percentiles the higher (conservative: a
 * gate must not miss the slow host or the slow window; the merged p50 is an upper bound).
 */
export function mergeWindowStats(a: WindowStats, b: WindowStats): WindowStats {
  return {
    ...addCounts(a, b),
    p50Ms: Math.max(a.p50Ms, b.p50Ms),
    p99Ms: Math.max(a.p99Ms, b.p99Ms),
  };
}

/** Every answer the counts hold: evidence, drained and offline ones alike. */
export const answersIn = (counts: ReleaseCounts | undefined): number =>
  (counts?.requests ?? 0) + (counts?.drained ?? 0) + (counts?.offline ?? 0);

/** Two counts added up; `drained` only when either has drained answers (as runtimes write it). */
function addCounts(a: ReleaseCounts, b: ReleaseCounts): ReleaseCounts {
  const drained = (a.drained ?? 0) + (b.drained ?? 0);
  const offline = (a.offline ?? 0) + (b.offline ?? 0);
  return {
    requests: a.requests + b.requests,
    errors4xx: a.errors4xx + b.errors4xx,
    errors5xx: a.errors5xx + b.errors5xx,
    ...(drained > 0 ? { drained } : {}),
    ...(offline > 0 ? { offline } : {}),
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

/** Heartbeat entries of runtime processes silent this long are folded into the retired one. */
export const HEARTBEAT_ENTRY_RETENTION_MS = 60 * 60 * 1000;

/**
 * The heartbeat records of the fleet (`LOCATION#<id>`/`HEARTBEAT`): each runtime process writes
 * its own entry; readers get the location's report folded from them.
 */
export class HeartbeatRecords {
  constructor(private readonly table: RecordTable) {}

  /** The stored record as it is (its entries), strongly consistent. */
  async record(locationId: string): Promise<unknown> {
    return getItem(this.table, keys.heartbeat(locationId), { consistent: true });
  }

  /** A location's heartbeat as one report, if any process ever reported. */
  async get(locationId: string): Promise<LocationHeartbeat | undefined> {
    return locationHeartbeat(await this.record(locationId));
  }

  /** The reports of many locations, in BatchGetItem pages of 100; silent ones left out. */
  async many(locationIds: readonly string[]): Promise<Map<string, LocationHeartbeat>> {
    const items = await batchGetItems(
      this.table,
      locationIds.map((id) => keys.heartbeat(id)),
      { consistent: true }
    );
    const found = new Map<string, LocationHeartbeat>();
    for (const item of items) {
      const hb = locationHeartbeat(item);
      const id = locationIds.find((l) => keys.heartbeat(l).pk === item.pk);
      if (hb && id) found.set(id, hb);
    }
    return found;
  }

  /** When each of these locations last wrote a heartbeat (epoch ms), for those that did. */
  async lastReports(locationIds: readonly string[]): Promise<Map<string, number>> {
    const reports = await this.many(locationIds);
    return new Map([...reports].map(([id, hb]) => [id, hb.atMs]));
  }

  /**
   * Writes one process's entry. Each process writes only its own entry, so that hosts of one
   * location never overwrite each other's figures; the first write of a location creates the
   * map (and if another process creates it first, its path then exists for ours).
   */
  async write(entry: InstanceHeartbeat): Promise<void> {
    const update = (create: boolean) =>
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: keys.heartbeat(entry.locationId),
        UpdateExpression: create ? 'SET #instances = :entries' : 'SET #instances.#me = :entry',
        ConditionExpression: create
          ? 'attribute_not_exists(#instances)'
          : 'attribute_exists(#instances)',
        ExpressionAttributeNames: {
          '#instances': 'instances',
          ...(create ? {} : { '#me': instanceKey(entry) }),
        },
        ExpressionAttributeValues: create
          ? { ':entries': { [instanceKey(entry)]: entry } }
          : { ':entry': entry },
      });
    const { client } = this.table;
    await client.send(update(false)).catch(async (err: unknown) => {
      if (!isConditionFailed(err)) throw err;
      await client.send(update(true)).catch((again: unknown) => {
        if (!isConditionFailed(again)) throw again;
        return client.send(update(false));
      });
    });
  }

  /**
   * Folds the heartbeat entries of runtime processes long gone (replaced hosts, restarts) into
   * the location's retired entry, in one conditional write: the item stops growing with every
   * process it ever ran, and the summed totals stay exactly what they were, so this may run
   * in the middle of a rollout. The freshest entry stays, so that a silent location still says
   * when it last reported. A concurrent fold or a process reporting again makes the write fail
   * its condition; the next run tries again.
   * @param record the stored record, as {@link record} read it
   */
  async foldGone(locationId: string, record: unknown, nowMs: number): Promise<void> {
    const instances = (record as Partial<HeartbeatRecord> | undefined)?.instances ?? {};
    const live = Object.entries(instances).filter(([key]) => key !== RETIRED_ENTRY);
    const newest = Math.max(...live.map(([, e]) => e.atMs));
    const gone = live.filter(
      ([, e]) => e.atMs !== newest && nowMs - e.atMs >= HEARTBEAT_ENTRY_RETENTION_MS
    );
    if (gone.length === 0) return;
    const retired = instances[RETIRED_ENTRY] as
      | (InstanceHeartbeat & { version?: number })
      | undefined;
    const version = retired?.version ?? 0;
    const folded = {
      ...retiredEntry(locationId),
      version: version + 1,
      totals: sumTotals([retired, ...gone.map(([, e]) => e)]),
    };
    const names: Record<string, string> = {
      '#instances': 'instances',
      '#retired': RETIRED_ENTRY,
      '#at': 'atMs',
      ...(retired ? { '#version': 'version' } : {}),
    };
    const values: Record<string, unknown> = {
      ':retired': folded,
      ...(retired ? { ':version': version } : {}),
    };
    gone.forEach(([key, e], i) => {
      names[`#gone${i}`] = key;
      values[`:at${i}`] = e.atMs;
    });
    await this.table.client
      .send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: keys.heartbeat(locationId),
          UpdateExpression: `SET #instances.#retired = :retired REMOVE ${gone.map((_, i) => `#instances.#gone${i}`).join(', ')}`,
          ConditionExpression: [
            retired
              ? '#instances.#retired.#version = :version'
              : 'attribute_not_exists(#instances.#retired)',
            ...gone.map((_, i) => `#instances.#gone${i}.#at = :at${i}`),
          ].join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        })
      )
      .catch((err: unknown) => {
        if (!isConditionFailed(err)) throw err;
      });
  }
}
