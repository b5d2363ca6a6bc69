import { publicRoutesNotAllowed, type ReleaseManifest } from '../../../core/manifest';
import type { GovernanceJob, Observation } from './job';

/**
 * **Policy: public routes.** A release a location serves (stable or candidate) may expose
 * routes without authentication only where the environment's `api.publicRoutes` lists them.
 */
export const publicRoutes: GovernanceJob = {
  name: 'public-routes',
  finding: 'policy',
  owns: () => true,
  run: async ({ environment, records, desired }) => {
    const observed: Observation[] = [];
    for (const location of environment.locations) {
      const served = await desired(location.id);
      for (const release of [served?.stable, served?.candidate].filter((r): r is string => !!r)) {
        const staged = await records.stagedReleases.get(location.id, release);
        if (!staged?.manifest) continue;
        const manifest = JSON.parse(staged.manifest) as ReleaseManifest;
        const forbidden = publicRoutesNotAllowed({ manifest }, environment.api.publicRoutes);
        if (forbidden.length > 0) {
          observed.push({
            job: 'policy',
            subject: location.id,
            severity: 'high',
            message: `${release} serves public routes the environment does not allow: ${forbidden.join(', ')}`,
          });
        }
      }
    }
    return { observed };
  },
};
