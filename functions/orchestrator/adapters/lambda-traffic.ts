import { type LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { LIVE_ALIAS } from '../../../core/names';
import type { Records } from '../../../core/records';
import { servedReleases, servesRelease } from '../../../core/records/desired-traffic';
import { SERVED_RECHECK_MS } from '../../shared/drain-state';
import type { TrafficDriver, TrafficTarget } from '../ports';
import { type AwsAdapterOptions, createLambdaClient, perRegion } from './aws-clients';
import { SatelliteTrafficDriver } from './satellite-traffic';

/** Options of a {@link LambdaTrafficDriver}. */
export interface LambdaTrafficDriverOptions extends AwsAdapterOptions {
  /**
   * How long a move that adds a release waits between recording it and routing to it: the
   * time a function's cached "not served" takes to expire.
   * @default SERVED_RECHECK_MS
   */
  readonly servedRecheckMs?: number;
  /**
   * The table replica a location's functions read (its data region), when that is not the
   * table the orchestrator writes: a move that adds a release waits until the replica shows
   * the record (strongly consistent reads, global tables replicate asynchronously).
   * @default - the functions read the orchestrator's table
   */
  readonly replicaOf?: (locationId: string) => Records;
  /** How long to wait for the replica to show the record before failing the move. @default 10000 */
  readonly replicationTimeoutMs?: number;
}

/**
 * Regions: every function's `live` alias points at the stable version, with the candidate
 * version in `RoutingConfig.AdditionalVersionWeights` (Lambda allows exactly one extra
 * version, so an alias never serves more than two). Versions come from the staged-release
 * records the deploys wrote. Throttling is retried by the Lambda client
 * ({@link createLambdaClient}); a function that still fails does not stop the others, and
 * the pass then fails naming it, so the next run applies the (idempotent) target again.
 *
 * The location's desired-traffic record says what it serves, written as for a satellite:
 * starting a rollout, governance's drift job and the functions themselves (which answer only
 * for releases the location serves) read it. A move that takes a release away, or only
 * changes weights, records the target once every alias moved, and not when one failed. A
 * move that adds a release records it first, and routes to it once the functions' cached
 * refusals have expired, so that none of its first requests is refused.
 */
export class LambdaTrafficDriver implements TrafficDriver {
  private readonly lambdaFor: (region: string) => LambdaClient;
  private readonly record: SatelliteTrafficDriver;
  private readonly servedRecheckMs: number;

  constructor(private readonly options: LambdaTrafficDriverOptions) {
    this.lambdaFor = options.lambdaFor ?? perRegion((region) => createLambdaClient(region));
    this.record = new SatelliteTrafficDriver(options.records);
    this.servedRecheckMs = options.servedRecheckMs ?? SERVED_RECHECK_MS;
  }

  async apply(locationId: string, target: TrafficTarget): Promise<void> {
    const { stagedReleases } = this.options.records;
    const stable = await stagedReleases.functionsAt(locationId, target.stable);
    const candidate =
      target.candidate && target.weight > 0
        ? await stagedReleases.functionsAt(locationId, target.candidate)
        : {};
    const adds = await this.addsRelease(locationId, target);
    if (adds) {
      await this.record.apply(locationId, target);
      await this.replicated(locationId, target);
      await new Promise((resolve) => setTimeout(resolve, this.servedRecheckMs));
    }
    const lambda = this.lambdaFor(this.options.regionOf(locationId));
    const failures: string[] = [];
    for (const name of new Set([...Object.keys(stable), ...Object.keys(candidate)])) {
      const s = stable[name];
      const c = candidate[name];
      // A function new in the candidate has only the candidate's version to serve.
      const base = s ?? c;
      if (!base) continue;
      const extra =
        s && c && c.version !== s.version && target.weight < 1
          ? { [c.version]: target.weight }
          : {};
      const primary = s && c && target.weight >= 1 ? c.version : base.version;
      try {
        await lambda.send(
          new UpdateAliasCommand({
            FunctionName: base.functionName,
            Name: LIVE_ALIAS,
            FunctionVersion: primary,
            RoutingConfig: { AdditionalVersionWeights: extra },
          })
        );
      } catch (err) {
        failures.push(`${base.functionName}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    if (failures.length > 0) {
      throw new Error(
        `location ${locationId}: ${failures.length} alias update(s) failed: ${failures.join('; ')}`
      );
    }
    if (!adds) await this.record.apply(locationId, target);
  }

  /**
   * Waits until the location's data-region replica serves what `target` serves, so that no
   * function reads a record older than the one just written; throws after the timeout (the
   * aliases have not moved, and the next pass tries again).
   */
  private async replicated(locationId: string, target: TrafficTarget): Promise<void> {
    const replica = this.options.replicaOf?.(locationId);
    if (!replica || replica === this.options.records) return;
    const timeoutMs = this.options.replicationTimeoutMs ?? 10_000;
    const started = Date.now();
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      const desired = await replica.desired.get(locationId, { consistent: true });
      if (servedReleases(target).every((release) => servesRelease(desired, release))) return;
      if (Date.now() - started >= timeoutMs) {
        throw new Error(
          `location ${locationId}: the desired traffic did not reach its data region's replica within ${timeoutMs} ms; traffic not moved`
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Whether `target` serves a release the location's desired-traffic record does not. */
  private async addsRelease(locationId: string, target: TrafficTarget): Promise<boolean> {
    const desired = await this.options.records.desired.get(locationId, { consistent: true });
    return servedReleases(target).some((release) => !servesRelease(desired, release));
  }
}
