import type { Records } from '../../../core/records';
import { type Heartbeat, isStale } from '../../../core/records/heartbeats';
import type { HealthSample, HealthSource } from '../ports';

/** Satellites' health: their heartbeats (monotonic totals, last window's p99, freshness). */
export class HeartbeatHealthSource implements HealthSource {
  constructor(
    private readonly records: Records,
    private readonly now: () => number = Date.now
  ) {}

  async sample(locationId: string, release: string, stable?: string): Promise<HealthSample> {
    return this.toSample(await this.records.heartbeats.get(locationId), release, stable);
  }

  /** Reads the heartbeats in BatchGetItem pages of 100, not one request per location. */
  async sampleMany(
    locationIds: readonly string[],
    release: string,
    stableOf?: (locationId: string) => string | undefined
  ): Promise<Map<string, HealthSample>> {
    const found = await this.records.heartbeats.many(locationIds);
    return new Map(
      locationIds.map((id) => [id, this.toSample(found.get(id), release, stableOf?.(id))])
    );
  }

  private toSample(hb: Heartbeat | undefined, release: string, stable?: string): HealthSample {
    const of = (r: string) => ({
      requests: hb?.totals?.[r]?.requests ?? 0,
      errors5xx: hb?.totals?.[r]?.errors5xx ?? 0,
      p99Ms: hb?.releases?.[r]?.p99Ms ?? 0,
      // A heartbeat's p99 is over its last window, not over the step.
      ...(typeof hb?.releases?.[r]?.requests === 'number'
        ? { p99Requests: hb.releases[r].requests }
        : {}),
    });
    const beside = stable ? { stable: of(stable) } : {};
    if (!hb)
      return { requests: 0, errors5xx: 0, p99Ms: 0, fresh: false, alarmsOk: true, ...beside };
    return { ...of(release), fresh: !isStale(hb, this.now()), alarmsOk: true, ...beside };
  }
}
