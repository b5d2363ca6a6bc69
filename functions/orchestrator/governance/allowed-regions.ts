import { regionOf } from '../../../core/environment/fleet';
import type { GovernanceJob } from './job';

/** **Policy: residency.** Every location runs in (or hangs off) a region of `allowedRegions`. */
export const allowedRegions: GovernanceJob = {
  name: 'allowed-regions',
  finding: 'policy',
  owns: () => true,
  run: async ({ environment }) => ({
    observed: environment.locations
      .filter((l) => !environment.allowedRegions.includes(regionOf(l)))
      .map((l) => ({
        job: 'policy' as const,
        subject: l.id,
        severity: 'high' as const,
        message: `runs in ${regionOf(l)}, outside allowedRegions`,
      })),
  }),
};
