import type { Records } from '../../../core/records';
import type { TrafficDriver, TrafficTarget } from '../ports';

/**
 * Satellites (and every location of the local fleet): the desired-traffic record their pull
 * agents apply.
 */
export class SatelliteTrafficDriver implements TrafficDriver {
  constructor(
    private readonly records: Records,
    private readonly now: () => number = Date.now
  ) {}

  async apply(locationId: string, target: TrafficTarget): Promise<void> {
    await this.records.desired.put(locationId, target, this.now());
  }
}
