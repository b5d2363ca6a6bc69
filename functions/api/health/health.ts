import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LocationContext } from '../../../core/location-env';
import { Records } from '../../../core/records';
import type { Drain } from '../../shared/drain-state';

/** The health report a location gives about itself. */
export interface HealthReport {
  /**
   * `drained` wins over the rest: a drained location is out of service on purpose. A satellite
   * cut off from its table is `disconnected`, not `unhealthy`: it serves what it holds (see
   * the README's "Disconnected operation"), so load balancers must keep it in service.
   */
  readonly status: 'ok' | 'unhealthy' | 'drained' | 'disconnected';
  /** Whether the location reaches its table (a satellite: whether its pulls do). */
  readonly connected: boolean;
  /** Since when a satellite cannot reach its table (ISO 8601), while it cannot. */
  readonly disconnectedSince?: string;
  readonly location: string;
  readonly kind: string;
  readonly region: string;
  readonly release: string;
  readonly dataRegion: string;
  readonly table: { readonly ok: boolean; readonly latencyMs: number; readonly error?: string };
  readonly drain: {
    /** Whether this location, or `/health` itself, is drained (then `status` is `drained`). */
    readonly drained: boolean;
    readonly scope?: string;
    readonly reason?: string;
    /**
     * Functions of the release drained fleet-wide (`orbit drain --function`): they answer
     * 503 here while the location itself serves.
     */
    readonly functions: readonly DrainedFunction[];
    /** Why the function drains could not be read, when they could not. */
    readonly functionsError?: string;
  };
}

/** A function drained fleet-wide, as `/health` lists it. */
export interface DrainedFunction {
  readonly name: string;
  readonly reason?: string;
}

/** What reading the function drains found. */
export type FunctionDrains =
  | { readonly functions: readonly DrainedFunction[] }
  | { readonly error: string };

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
    await new Records(table, context.tableName).registrations.get(context.locationId, {
      abortSignal: AbortSignal.timeout(TABLE_PROBE_TIMEOUT_MS),
    });
    return { ok: true, latencyMs: Math.round(now() - started) };
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { ok: false, latencyMs: Math.round(now() - started), error };
  }
}

/**
 * The function drain records (`FUNCTION#<name>`/`DRAIN`) of `functionNames`, in one read.
 * A read that fails is reported, not thrown: the location's own health does not depend on it.
 */
export async function readFunctionDrains(
  context: Pick<LocationContext, 'tableName'>,
  table: DynamoDBDocumentClient,
  functionNames: readonly string[]
): Promise<FunctionDrains> {
  if (functionNames.length === 0) return { functions: [] };
  try {
    const drained = await new Records(table, context.tableName).drains.drainedFunctions(
      functionNames,
      { abortSignal: AbortSignal.timeout(TABLE_PROBE_TIMEOUT_MS) }
    );
    return {
      functions: drained.map(({ name, record }) => ({
        name,
        ...(record.reason ? { reason: record.reason } : {}),
      })),
    };
  } catch (err) {
    return { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

/**
 * A check shared by all requests for `ttlMs`: load balancers and gates may ask for
 * `/health` many times a second, and the answer is about the location, not about each asker.
 */
export function cachedProbe<T>(
  probe: () => Promise<T>,
  ttlMs = 1000,
  clock: () => number = Date.now
): () => Promise<T> {
  let last: { at: number; check: Promise<T> } | undefined;
  return () => {
    if (!last || clock() - last.at >= ttlMs) last = { at: clock(), check: probe() };
    return last.check;
  };
}

/**
 * The health report: where this location is, what it runs, its table, its drain state and
 * the functions of its release drained fleet-wide.
 */
export async function checkHealth(
  context: LocationContext,
  probe: () => Promise<TableCheck>,
  drain: Drain,
  functionDrains: () => Promise<FunctionDrains> = async () => ({ functions: [] }),
  linkDownSince: string | undefined = undefined
): Promise<HealthReport> {
  const [table, fns] = await Promise.all([probe(), functionDrains()]);
  const functions =
    'functions' in fns
      ? { functions: fns.functions }
      : { functions: [], functionsError: fns.error };
  return {
    status: drain.drained
      ? 'drained'
      : linkDownSince
        ? 'disconnected'
        : table.ok
          ? 'ok'
          : 'unhealthy',
    connected: !linkDownSince && table.ok,
    ...(linkDownSince ? { disconnectedSince: linkDownSince } : {}),
    location: context.locationId,
    kind: context.locationKind,
    region: context.region,
    release: context.releaseId,
    dataRegion: context.dataRegion,
    table,
    drain: drain.drained
      ? { drained: true, scope: drain.scope, reason: drain.reason, ...functions }
      : { drained: false, ...functions },
  };
}
