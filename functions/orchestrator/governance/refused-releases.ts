import type { GovernanceJob } from './job';

/** The subject of a refusal finding: one per location and release. */
const subjectOf = (locationId: string, releaseId: string) => `${locationId}/${releaseId}`;

/**
 * **Security: refused releases.** A satellite host refused to load a release staged at its
 * location: unsigned, a signature that does not verify against the environment's release
 * key, another release's manifest, or a bundle that does not match its signed hash. Someone
 * or something put bytes the deploy did not sign in front of a satellite: a high finding,
 * until a host of that location loads the release after all (the host clears its refusal).
 */
export const refusedReleases: GovernanceJob = {
  name: 'refused-releases',
  finding: 'refused-release',
  owns: (subject, { environment }) =>
    environment.locations.some((l) => subject.startsWith(`${l.id}/`)),
  run: async ({ environment, records }) => {
    const refused = await records.stagedReleases.refused(environment.locations.map((l) => l.id));
    return {
      observed: refused.map((r) => ({
        job: 'refused-release' as const,
        subject: subjectOf(r.locationId, r.releaseId),
        severity: 'high' as const,
        message: `${r.locationId} refused release ${r.releaseId} (host ${r.instanceId}, ${r.at}): ${r.reason}`,
      })),
    };
  },
};
