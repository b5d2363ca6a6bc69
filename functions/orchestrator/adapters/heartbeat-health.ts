import type { Records } from '../../../core/records';
import { type Heartbeat, isStale } from '../../../core/records/heartbeats';
import type { HealthSample, HealthSource } from '../ports';

/** Satellites' health: their heartbeats (monotonic totals, last window's p99, freshness). */
export class HeartbeatHealthSource implements HealthSource {
  constructor(
    private readonly records: Records,
    private readonly now: () => number = Date.now
  ) {}

  async sample(locationId: string, release: string): Promise<HealthSample> {
    return this.toSample(await this.records.heartbeats.get(locationId), release);
  }

  /** Reads the heartbeats in BatchGetItem pages of 100, not one request per location. */
  async sampleMany(
    locationIds: readonly string[],
    release: string
  ): Promise<Map<string, HealthSample>> {
    const found = await this.records.heartbeats.many(locationIds);
    return new Map(locationIds.map((id) => [id, this.toSample(found.get(id), release)]));
  }

  private toSample(hb: Heartbeat | undefined, release: string): HealthSample {
    if (!hb) return { requests: 0, errors5xx: 0, p99Ms: 0, fresh: false, alarmsOk: true };
    const totals = hb.totals?.[release];
    return {
      requests: totals?.requests ?? 0,
      errors5xx: totals?.errors5xx ?? 0,
      p99Ms: hb.releases?.[release]?.p99Ms ?? 0,
      fresh: !isStale(hb, this.now()),
      alarmsOk: true,
    };
  }
}
