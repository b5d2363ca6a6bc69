import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Environment } from '../../lib/config/schema';
import { publicRoutesNotAllowed } from '../../lib/release/manifest';
import {
  type DesiredTraffic,
  type HeartbeatRecord,
  type InstanceHeartbeat,
  isStale,
  locationHeartbeat,
  RETIRED_ENTRY,
  retiredEntry,
  sumTotals,
} from '../../lib/satellite/records';
import { keys } from '../shared/keys';
import type { Finding } from './model';

/** Options of {@link runGovernance}. */
export interface GovernanceOptions {
  readonly environment: Environment;
  readonly table: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Locations whose heartbeats the jobs read (satellites; every location in the local fleet). */
  readonly reporting: readonly string[];
  /**
   * Reads what a region location's aliases actually route (AWS only).
   * @default - regions are not checked for drift
   */
  readonly observeRegion?: (
    locationId: string,
    desired: { stable: string; candidate?: string }
  ) => Promise<{ stable: string; candidate?: string; weight: number; unknown: readonly string[] }>;
  /** Drain a location whose heartbeat went stale. @default - the environment's `governance.autoDrainStale` */
  readonly autoDrainStale?: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

type Observation = Pick<Finding, 'job' | 'subject' | 'severity' | 'message'>;

/** Heartbeat entries of runtime processes silent this long are folded into the retired one. */
export const HEARTBEAT_ENTRY_RETENTION_MS = 60 * 60 * 1000;

/**
 * Folds the heartbeat entries of runtime processes long gone (replaced hosts, restarts) into
 * the location's retired entry, in one conditional write: the item stops growing with every
 * process it ever ran, and the summed totals stay exactly what they were, so this may run
 * in the middle of a rollout. The freshest entry stays, so that a silent location still says
 * when it last reported. A concurrent fold or a process reporting again makes the write fail
 * its condition; the next run tries again.
 */
async function foldGoneHeartbeats(
  table: DynamoDBDocumentClient,
  tableName: string,
  locationId: string,
  record: unknown,
  nowMs: number
): Promise<void> {
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
  await table
    .send(
      new UpdateCommand({
        TableName: tableName,
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
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    });
}

/** A traffic split as the drift job compares it. */
type Split = Pick<DesiredTraffic, 'stable' | 'candidate' | 'weight'>;

/** The candidate a split gives traffic to, if any (a candidate at weight 0 serves nothing). */
const servedCandidate = (x: Split) =>
  x.candidate && Number(x.weight) > 0 ? { candidate: x.candidate, weight: Number(x.weight) } : {};

function sameSplit(a: Split, b: Split): boolean {
  const [ca, cb] = [servedCandidate(a), servedCandidate(b)];
  return a.stable === b.stable && ca.candidate === cb.candidate && ca.weight === cb.weight;
}

/** A split in words: `r-a only`, `r-a with 25% to r-b`. */
export function inWords(x: Split): string {
  const { candidate, weight } = servedCandidate(x);
  if (!candidate || weight === undefined) return `${x.stable} only`;
  return `${x.stable} with ${Math.round(weight * 1000) / 10}% to ${candidate}`;
}

/**
 * Whether a location has had time to apply its desired traffic: one pull interval to read
 * it, one heartbeat interval to report it. A record without a time (a region's adopted first
 * release) is settled.
 */
export function settled(
  desired: Pick<DesiredTraffic, 'updatedAt'>,
  intervalSeconds: number,
  nowMs: number
): boolean {
  const at = Date.parse(desired.updatedAt);
  return Number.isNaN(at) || nowMs - at >= 2 * intervalSeconds * 1000;
}

/**
 * The governance jobs over one environment: **drift** (a location serving something other
 * than its desired traffic), **stale heartbeats** (a location silent for three intervals)
 * and **policy** (locations outside `allowedRegions`, public routes the environment does not
 * allow). Drift is judged only once a traffic move has had time to settle, and says desired
 * and observed in words. Each finding keeps when it was first and last seen; one no longer
 * observed is marked resolved. Returns the open findings.
 */
export async function runGovernance(options: GovernanceOptions): Promise<Finding[]> {
  const { environment: env, table, tableName } = options;
  const now = options.now ?? Date.now;
  const observed: Observation[] = [];
  // Drift findings of locations still settling a move: neither raised nor resolved this run.
  const unjudged = new Set<string>();
  for (const id of options.reporting) {
    const [desired, heartbeat] = await Promise.all(
      [keys.desiredTraffic(id), keys.heartbeat(id)].map(
        async (Key) =>
          (await table.send(new GetCommand({ TableName: tableName, Key, ConsistentRead: true })))
            .Item
      )
    );
    await foldGoneHeartbeats(table, tableName, id, heartbeat, now());
    const hb = locationHeartbeat(heartbeat);
    if (!hb || isStale(hb, now())) {
      if (hb && (options.autoDrainStale ?? env.governance.autoDrainStale)) {
        await table.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...keys.locationDrain(id),
              drained: true,
              reason: `stale heartbeat (last ${hb.at})`,
              by: 'governance',
              at: new Date(now()).toISOString(),
              retryAfterSeconds: 30,
            },
          })
        );
      }
      observed.push({
        job: 'stale-heartbeat',
        subject: id,
        severity: 'high',
        message: hb ? `no heartbeat since ${hb.at}` : 'never reported',
      });
      continue;
    }
    // A move is judged once it had time to settle: the runtime pulls it within one interval
    // and reports it in the next heartbeat. Before that, an old split is no drift.
    if (!desired) continue;
    if (!settled(desired as DesiredTraffic, hb.intervalSeconds, now())) {
      unjudged.add(keys.finding('drift', id).sk);
      continue;
    }
    // Every host still reporting, not only the freshest: one host stuck on an old split is drift.
    const drifted = hb.hosts.filter((h) => !sameSplit(h, desired as DesiredTraffic));
    if (drifted.length > 0) {
      observed.push({
        job: 'drift',
        subject: id,
        severity: 'medium',
        message: `${drifted.map((h) => `${h.instanceId} serves ${inWords(h)}`).join('; ')}; desired ${inWords(desired as DesiredTraffic)}`,
      });
    }
  }
  if (options.observeRegion) {
    for (const location of env.locations.filter((l) => l.kind === 'region')) {
      const desired = (
        await table.send(
          new GetCommand({
            TableName: tableName,
            Key: keys.desiredTraffic(location.id),
            ConsistentRead: true,
          })
        )
      ).Item as { stable: string; candidate?: string; weight: number } | undefined;
      if (!desired) continue;
      const actual = await options.observeRegion(location.id, desired);
      const expectedWeight = desired.candidate ? Number(desired.weight) : 0;
      if (actual.unknown.length > 0 || Math.abs(actual.weight - expectedWeight) > 1e-9) {
        observed.push({
          job: 'drift',
          subject: location.id,
          severity: 'high',
          message:
            actual.unknown.length > 0
              ? `aliases route versions of no desired release: ${actual.unknown.join(', ')}`
              : `serves ${inWords(actual)}; desired ${inWords(desired)}`,
        });
      }
    }
  }
  for (const location of env.locations) {
    const desired = (
      await table.send(
        new GetCommand({ TableName: tableName, Key: keys.desiredTraffic(location.id) })
      )
    ).Item as { stable?: string; candidate?: string } | undefined;
    for (const release of [desired?.stable, desired?.candidate].filter((r): r is string => !!r)) {
      const staged = (
        await table.send(
          new GetCommand({ TableName: tableName, Key: keys.stagedRelease(location.id, release) })
        )
      ).Item as { manifest?: string } | undefined;
      if (!staged?.manifest) continue;
      const forbidden = publicRoutesNotAllowed(
        { manifest: JSON.parse(staged.manifest) },
        env.api.publicRoutes
      );
      if (forbidden.length > 0) {
        observed.push({
          job: 'policy',
          subject: location.id,
          severity: 'high',
          message: `${release} serves public routes the environment does not allow: ${forbidden.join(', ')}`,
        });
      }
    }
  }
  for (const location of env.locations) {
    const region = location.kind === 'region' ? location.region : location.parentRegion;
    if (!env.allowedRegions.includes(region)) {
      observed.push({
        job: 'policy',
        subject: location.id,
        severity: 'high',
        message: `runs in ${region}, outside allowedRegions`,
      });
    }
  }

  const at = new Date(now()).toISOString();
  const existing = (
    await table.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'FINDINGS' },
      })
    )
  ).Items as (Finding & { sk: string })[] | undefined;
  const byKey = new Map((existing ?? []).map((f) => [f.sk, f]));
  const open: Finding[] = [];
  for (const o of observed) {
    const key = keys.finding(o.job, o.subject);
    const before = byKey.get(key.sk);
    byKey.delete(key.sk);
    const finding: Finding = {
      ...o,
      firstSeen: before && !before.resolved ? before.firstSeen : at,
      lastSeen: at,
      resolved: false,
    };
    await table.send(new PutCommand({ TableName: tableName, Item: { ...key, ...finding } }));
    open.push(finding);
  }
  for (const [sk, stale] of byKey) {
    if (stale.resolved) continue;
    if (unjudged.has(sk)) {
      const { sk: _sk, pk: _pk, ...kept } = stale as Finding & { sk: string; pk: string };
      open.push(kept);
      continue;
    }
    await table.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...stale, pk: 'FINDINGS', sk, resolved: true, resolvedAt: at },
      })
    );
  }
  return open;
}

/** Every finding, open ones first. */
export async function listFindings(
  table: DynamoDBDocumentClient,
  tableName: string
): Promise<Finding[]> {
  const out = await table.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'FINDINGS' },
    })
  );
  return ((out.Items ?? []) as Finding[]).sort((a, b) => Number(a.resolved) - Number(b.resolved));
}
