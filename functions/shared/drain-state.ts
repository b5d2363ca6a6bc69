import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from './keys';

/** Whether this function at this location is drained, and why. */
export interface Drain {
  readonly drained: boolean;
  /** `location <id>` or `function <name>` when drained. */
  readonly scope?: string;
  readonly reason?: string;
  /** What clients are told to wait before retrying. */
  readonly retryAfterSeconds: number;
}

/** Props of a {@link DrainState}. */
export interface DrainStateOptions {
  readonly table: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly locationId: string;
  readonly functionName: string;
  /**
   * How long a read flag is trusted; the kill switch takes effect within this time.
   * @default 5000
   */
  readonly ttlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told when the flags cannot be read (the last known state stays in force). @default - ignored */
  readonly onReadError?: (err: unknown) => void;
}

const NOT_DRAINED: Drain = { drained: false, retryAfterSeconds: 0 };
const DEFAULT_RETRY_AFTER_SECONDS = 30;

interface DrainRecord {
  readonly drained?: boolean;
  readonly reason?: string;
  readonly retryAfterSeconds?: number;
}

/**
 * The kill switch as a function sees it: the location's and the function's drain records,
 * read at most once per `ttlMs` (one BatchGet for both) and shared by all requests in
 * between, so a drain costs no table read per request. When the table cannot be read, the
 * last known state stays in force: an outage of the data region neither drains nor
 * restores a location by itself.
 */
export class DrainState {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private current: Drain = NOT_DRAINED;
  private readAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<Drain> | undefined;

  constructor(private readonly options: DrainStateOptions) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** The drain state, from cache when it is fresh enough. */
  async get(): Promise<Drain> {
    if (this.now() - this.readAt < this.ttlMs) return this.current;
    this.pending ??= this.refresh().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async refresh(): Promise<Drain> {
    const { table, tableName, locationId, functionName } = this.options;
    const locationKey = keys.locationDrain(locationId);
    const functionKey = keys.functionDrain(functionName);
    try {
      const out = await table.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: { Keys: [locationKey, functionKey], ConsistentRead: false },
          },
        })
      );
      const records = (out.Responses?.[tableName] ?? []) as (DrainRecord & { pk: string })[];
      const location = records.find((r) => r.pk === locationKey.pk && r.drained);
      const fn = records.find((r) => r.pk === functionKey.pk && r.drained);
      const hit = location
        ? { record: location, scope: `location ${locationId}` }
        : fn
          ? { record: fn, scope: `function ${functionName}` }
          : undefined;
      this.current = hit
        ? {
            drained: true,
            scope: hit.scope,
            reason: hit.record.reason,
            retryAfterSeconds: hit.record.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
          }
        : NOT_DRAINED;
    } catch (err) {
      // Keep the last known state; the next request after the TTL tries again.
      this.options.onReadError?.(err);
    }
    this.readAt = this.now();
    return this.current;
  }
}
