import { ORBIT_FUNCTION_ENV } from '../../core/location-env';
import type { Records } from '../../core/records';
import { servesRelease } from '../../core/records/desired-traffic';
import { DRAIN_RETRY_AFTER_SECONDS } from '../../core/records/drains';

/** Whether this function at this location is drained, and why. */
export interface Drain {
  readonly drained: boolean;
  /** `location <id>` or `function <name>` when drained. */
  readonly scope?: string;
  readonly reason?: string;
  /** What clients are told to wait before retrying. */
  readonly retryAfterSeconds: number;
  /**
   * False when the location serves neither this function's release as stable nor as a
   * candidate with a share of traffic (only with {@link DrainStateOptions.releaseId}).
   */
  readonly released?: boolean;
}

/** Props of a {@link DrainState}. */
export interface DrainStateOptions {
  /** The platform records, in the location's data region. */
  readonly records: Records;
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
  /**
   * The release this code belongs to: when set, the location's desired-traffic record is read
   * in the same request, and {@link Drain.released} says whether the location serves this
   * release. Region locations need it: their `live` aliases route per function, so a function
   * that a staged release adds, or that a stable release keeps after a newer one removed it,
   * would otherwise answer for a release the location does not serve.
   * @default - not checked (satellites load only the releases they serve)
   */
  readonly releaseId?: string;
  /**
   * Whether the table is known to be out of reach (a satellite cut off from it says so in
   * `ORBIT_LINK_DOWN_SINCE`): then a stale state answers at once while the read runs beside,
   * as no request should wait for the table client's timeouts on a link known to be down.
   * @default - the runtime's `ORBIT_LINK_DOWN_SINCE` is set
   */
  readonly linkDown?: () => boolean;
}

const linkDownFromEnv = () => process.env[ORBIT_FUNCTION_ENV.linkDownSince] !== undefined;

/**
 * How old a cached "not served" may be before a request re-reads it (strongly consistent). A
 * traffic driver that adds a release to what a location serves writes the desired-traffic
 * record first, waits until the location's data-region replica shows it, then waits this
 * long before routing to the release, so no request meets a stale refusal.
 */
export const SERVED_RECHECK_MS = 1_000;

const NOT_DRAINED: Drain = { drained: false, retryAfterSeconds: 0 };

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

  /**
   * The cached drain state when it is younger than `maxAgeMs`, else undefined (then
   * {@link get} reads it): a synchronous look for the per-request path, which needs no
   * promise while the cache is fresh.
   */
  cached(maxAgeMs = this.ttlMs): Drain | undefined {
    return this.now() - this.readAt < maxAgeMs ? this.current : undefined;
  }

  /** The drain state, from cache when it is younger than `maxAgeMs`. */
  async get(maxAgeMs = this.ttlMs): Promise<Drain> {
    if (this.now() - this.readAt < maxAgeMs) return this.current;
    this.pending ??= this.refresh(false).finally(() => {
      this.pending = undefined;
    });
    const known = this.readAt !== Number.NEGATIVE_INFINITY;
    if (known && (this.options.linkDown ?? linkDownFromEnv)()) return this.current;
    return this.pending;
  }

  /**
   * Before refusing a request as "not served": a strongly consistent read, at most once per
   * {@link SERVED_RECHECK_MS}, so a release the orchestrator just recorded (and waited to see
   * replicated to this data region) is never refused from a stale cache or replica.
   */
  async recheckServed(): Promise<Drain> {
    if (this.now() - this.readAt < SERVED_RECHECK_MS) return this.current;
    if (this.pending) await this.pending;
    if (this.now() - this.readAt < SERVED_RECHECK_MS) return this.current;
    this.pending = this.refresh(true).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async refresh(consistent: boolean): Promise<Drain> {
    const { records, locationId, functionName, releaseId } = this.options;
    try {
      const flags = await records.drains.flags(locationId, functionName, {
        withDesired: releaseId !== undefined,
        consistent,
      });
      const released = releaseId ? { released: servesRelease(flags.desired, releaseId) } : {};
      const hit = flags.location?.drained
        ? { record: flags.location, scope: `location ${locationId}` }
        : flags.function?.drained
          ? { record: flags.function, scope: `function ${functionName}` }
          : undefined;
      this.current = hit
        ? {
            drained: true,
            scope: hit.scope,
            reason: hit.record.reason,
            retryAfterSeconds: hit.record.retryAfterSeconds ?? DRAIN_RETRY_AFTER_SECONDS,
            ...released,
          }
        : { ...NOT_DRAINED, ...released };
    } catch (err) {
      // Keep the last known state; the next request after the TTL tries again.
      this.options.onReadError?.(err);
    }
    this.readAt = this.now();
    return this.current;
  }
}
