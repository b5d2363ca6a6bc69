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

/**
 * Checks that the table in the data region answers a read (of this location's own record,
 * which need not exist) and reports where this location is and what it runs.
 */
export async function checkHealth(
  context: LocationContext,
  table: DynamoDBDocumentClient,
  drain: Drain,
  now: () => number = performance.now.bind(performance)
): Promise<HealthReport> {
  const started = now();
  let error: string | undefined;
  try {
    await table.send(
      new GetCommand({ TableName: context.tableName, Key: keys.location(context.locationId) }),
      { abortSignal: AbortSignal.timeout(TABLE_PROBE_TIMEOUT_MS) }
    );
  } catch (err) {
    error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  const latencyMs = Math.round(now() - started);
  return {
    status: drain.drained ? 'drained' : error === undefined ? 'ok' : 'unhealthy',
    location: context.locationId,
    kind: context.locationKind,
    region: context.region,
    release: context.releaseId,
    dataRegion: context.dataRegion,
    table: error === undefined ? { ok: true, latencyMs } : { ok: false, latencyMs, error },
    drain: drain.drained
      ? { drained: true, scope: drain.scope, reason: drain.reason }
      : { drained: false },
  };
}
