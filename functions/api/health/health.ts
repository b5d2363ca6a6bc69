import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Drain } from '../../shared/drain-state';
import type { LocationContext } from '../../shared/env';
import { keys } from '../../shared/keys';

/** The health report a location gives about itself. */
export interface HealthReport {
  /** `drained` wins over `unhealthy`: a drained location is out of service on purpose. */
  readonly status: 'ok' | 'unhealthy' | 'drained';
  readonly location: string;
  readonly kind: string;
  readonly region: string;
  readonly release: string;
  readonly dataRegion: string;
  readonly table: { readonly ok: boolean; readonly latencyMs: number; readonly error?: string };
  readonly drain: { readonly drained: boolean; readonly scope?: string; readonly reason?: string };
}

/** How long the table may take to answer before the location counts as unhealthy. */
export const TABLE_PROBE_TIMEOUT_MS = 1500;

/** What the table probe found. */
export type TableCheck = HealthReport['table'];

/**
 * Checks that the table in the data region answers a read (of this location's own record,
 * which need not exist), within {@link TABLE_PROBE_TIMEOUT_MS}.
 */
export async function probeTable(
  context: LocationContext,
  table: DynamoDBDocumentClient,
  now: () => number = performance.now.bind(performance)
): Promise<TableCheck> {
  const started = now();
  try {
    await table.send(
      new GetCommand({ TableName: context.tableName, Key: keys.location(context.locationId) }),
      { abortSignal: AbortSignal.timeout(TABLE_PROBE_TIMEOUT_MS) }
    );
    return { ok: true, latencyMs: Math.round(now() - started) };
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { ok: false, latencyMs: Math.round(now() - started), error };
  }
}

/**
 * The table probe shared by all requests for `ttlMs`: load balancers and gates may ask for
 * `/health` many times a second, and the answer is about the table, not about each asker.
 */
export function cachedProbe(
  probe: () => Promise<TableCheck>,
  ttlMs = 1000,
  clock: () => number = Date.now
): () => Promise<TableCheck> {
  let last: { at: number; check: Promise<TableCheck> } | undefined;
  return () => {
    if (!last || clock() - last.at >= ttlMs) last = { at: clock(), check: probe() };
    return last.check;
  };
}

/** The health report: where this location is, what it runs, its table and its drain state. */
export async function checkHealth(
  context: LocationContext,
  probe: () => Promise<TableCheck>,
  drain: Drain
): Promise<HealthReport> {
  const table = await probe();
  return {
    status: drain.drained ? 'drained' : table.ok ? 'ok' : 'unhealthy',
    location: context.locationId,
    kind: context.locationKind,
    region: context.region,
    release: context.releaseId,
    dataRegion: context.dataRegion,
    table,
    drain: drain.drained
      ? { drained: true, scope: drain.scope, reason: drain.reason }
      : { drained: false },
  };
}
