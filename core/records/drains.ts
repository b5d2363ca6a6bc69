import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TrafficSplit } from './desired-traffic';
import { keys, type TableKey } from './keys';
import { batchGetItems, getItem, itemAt, type ReadOptions, type RecordTable } from './table';

/**
 * A kill switch as stored: a location's (`LOCATION#<id>`/`DRAIN`) or a function's, fleet-wide
 * (`FUNCTION#<name>`/`DRAIN`). Restoring writes `drained: false`, so the record keeps who
 * restored it and why.
 */
export interface DrainRecord {
  readonly drained: boolean;
  readonly reason?: string;
  readonly by?: string;
  readonly at?: string;
  /** What clients are told to wait before retrying. */
  readonly retryAfterSeconds?: number;
}

/** What a drain of a location, or of a function fleet-wide, records. */
export interface DrainChange {
  readonly location?: string;
  readonly function?: string;
  readonly drained: boolean;
  readonly reason: string;
  readonly by: string;
  readonly at: string;
  /** @default DRAIN_RETRY_AFTER_SECONDS */
  readonly retryAfterSeconds?: number;
}

/** What a drained function tells clients to wait before retrying, unless its record says otherwise. */
export const DRAIN_RETRY_AFTER_SECONDS = 30;

/** The flags a function checks before it answers: its location's drain, its own, and what its location serves. */
export interface DrainFlags {
  readonly location?: DrainRecord;
  readonly function?: DrainRecord;
  /** Only when asked for. */
  readonly desired?: TrafficSplit;
}

/** The drain records of the fleet. */
export class DrainRecords {
  constructor(private readonly table: RecordTable) {}

  /** Drains or restores a location, or a function fleet-wide. */
  async set(change: DrainChange): Promise<void> {
    const { location, function: fn, retryAfterSeconds, ...record } = change;
    const key = location ? keys.locationDrain(location) : keys.functionDrain(fn as string);
    await this.table.client.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: {
          ...key,
          ...record,
          retryAfterSeconds: retryAfterSeconds ?? DRAIN_RETRY_AFTER_SECONDS,
        },
      })
    );
  }

  /** A location's drain record, if it was ever drained. */
  async location(locationId: string, options: ReadOptions = {}): Promise<DrainRecord | undefined> {
    return (await getItem(this.table, keys.locationDrain(locationId), options)) as
      | DrainRecord
      | undefined;
  }

  /** A function's fleet-wide drain record, if it was ever drained. */
  async function(name: string, options: ReadOptions = {}): Promise<DrainRecord | undefined> {
    return (await getItem(this.table, keys.functionDrain(name), options)) as
      | DrainRecord
      | undefined;
  }

  /** Of these functions, those drained fleet-wide, with their records, in one read. */
  async drainedFunctions(
    names: readonly string[],
    options: ReadOptions = {}
  ): Promise<{ readonly name: string; readonly record: DrainRecord }[]> {
    const unique = [...new Set(names)];
    if (unique.length === 0) return [];
    // BatchGetItem refuses a request that names one key twice.
    const items = await batchGetItems(
      this.table,
      unique.map((name) => keys.functionDrain(name)),
      options
    );
    return unique.flatMap((name) => {
      const record = itemAt<DrainRecord>(items, keys.functionDrain(name));
      return record?.drained === true ? [{ name, record }] : [];
    });
  }

  /**
   * Why each of these locations is drained, for those that are: the location itself, or one
   * of `functions` fleet-wide (every location then refuses part of its requests).
   */
  async reasons(
    locationIds: readonly string[],
    functions: readonly string[]
  ): Promise<Map<string, string>> {
    const items = await batchGetItems(
      this.table,
      [
        ...[...new Set(locationIds)].map((id) => keys.locationDrain(id)),
        ...[...new Set(functions)].map((name) => keys.functionDrain(name)),
      ],
      { consistent: true }
    );
    const drained = (key: TableKey) => itemAt<DrainRecord>(items, key)?.drained === true;
    const fn = functions.find((name) => drained(keys.functionDrain(name)));
    const out = new Map<string, string>();
    for (const id of locationIds) {
      if (drained(keys.locationDrain(id))) out.set(id, `${id} is drained`);
      else if (fn) out.set(id, `function ${fn} is drained fleet-wide`);
    }
    return out;
  }

  /**
   * In one BatchGetItem, the flags a function at a location checks: the location's drain,
   * the function's, and (with `withDesired`) what the location serves.
   */
  async flags(
    locationId: string,
    functionName: string,
    options: { readonly withDesired: boolean; readonly consistent: boolean }
  ): Promise<DrainFlags> {
    const locationKey = keys.locationDrain(locationId);
    const functionKey = keys.functionDrain(functionName);
    const desiredKey = keys.desiredTraffic(locationId);
    const items = await batchGetItems(
      this.table,
      [locationKey, functionKey, ...(options.withDesired ? [desiredKey] : [])],
      { consistent: options.consistent }
    );
    const location = itemAt<DrainRecord>(items, locationKey);
    const fn = itemAt<DrainRecord>(items, functionKey);
    const desired = itemAt<TrafficSplit>(items, desiredKey);
    return {
      ...(location ? { location } : {}),
      ...(fn ? { function: fn } : {}),
      ...(desired ? { desired } : {}),
    };
  }
}
