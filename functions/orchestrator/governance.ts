import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Environment } from '../../lib/config/schema';
import { publicRoutesNotAllowed } from '../../lib/release/manifest';
import { type HeartbeatRecord, isStale, locationHeartbeat } from '../../lib/satellite/records';
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

/** Heartbeat entries of runtime processes silent this long are dropped (between rollouts). */
export const HEARTBEAT_ENTRY_RETENTION_MS = 60 * 60 * 1000;

/**
 * Drops the heartbeat entries of runtime processes long gone (replaced hosts, restarts), so
 * that a location's heartbeat item does not grow with every process it ever ran. The
 * freshest entry stays, so that a silent location still says when it last reported.
 */
async function pruneHeartbeat(
  table: DynamoDBDocumentClient,
  tableName: string,
  locationId: string,
  record: unknown,
  nowMs: number
): Promise<void> {
  const entries = Object.entries((record as Partial<HeartbeatRecord> | undefined)?.instances ?? {});
  const newest = Math.max(...entries.map(([, e]) => e.atMs));
  for (const [key, entry] of entries) {
    if (entry.atMs === newest || nowMs - entry.atMs < HEARTBEAT_ENTRY_RETENTION_MS) continue;
    await table
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: keys.heartbeat(locationId),
          UpdateExpression: 'REMOVE #instances.#entry',
          // Only if that process has not reported meanwhile.
          ConditionExpression: '#instances.#entry.#at = :at',
          ExpressionAttributeNames: { '#instances': 'instances', '#entry': key, '#at': 'atMs' },
          ExpressionAttributeValues: { ':at': entry.atMs },
        })
      )
      .catch((err: unknown) => {
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      });
  }
}

/**
 * The governance jobs over one environment: **drift** (a location serving something other
 * than its desired traffic), **stale heartbeats** (a location silent for three intervals)
 * and **policy** (locations outside `allowedRegions`, public routes the environment does not
 * allow). Each finding keeps when it was first
 * and last seen; one no longer observed is marked resolved. Returns the open findings.
 */
export async function runGovernance(options: GovernanceOptions): Promise<Finding[]> {
  const { environment: env, table, tableName } = options;
  const now = options.now ?? Date.now;
  const observed: Observation[] = [];
  const rolloutActive = (
    await table.send(
      new GetCommand({ TableName: tableName, Key: keys.activeRollout, ConsistentRead: true })
    )
  ).Item;
  for (const id of options.reporting) {
    const [desired, heartbeat] = await Promise.all(
      [keys.desiredTraffic(id), keys.heartbeat(id)].map(
        async (Key) =>
          (await table.send(new GetCommand({ TableName: tableName, Key, ConsistentRead: true })))
            .Item
      )
    );
    // Gates diff summed totals, so entries leave only between rollouts.
    if (!rolloutActive) await pruneHeartbeat(table, tableName, id, heartbeat, now());
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
    if (
      desired &&
      (desired.stable !== hb.stable ||
        (desired.candidate ?? undefined) !== (hb.candidate ?? undefined) ||
        Number(desired.weight) !== hb.weight)
    ) {
      observed.push({
        job: 'drift',
        subject: id,
        severity: 'medium',
        message: `serves ${hb.stable}${hb.candidate ? ` + ${hb.candidate} at ${hb.weight}` : ''}, desired ${desired.stable}${desired.candidate ? ` + ${desired.candidate} at ${desired.weight}` : ''}`,
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
              : `candidate weight is ${actual.weight}, desired ${expectedWeight}`,
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
