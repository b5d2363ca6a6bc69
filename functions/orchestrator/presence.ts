import type { Environment } from '../../core/environment/schema';
import type { Records } from '../../core/records';
import type { TrafficSplit } from '../../core/records/desired-traffic';

/** Where a release stands across the fleet: what `rolloutProblem` judges. */
export interface ReleasePresence {
  /** Locations where the release is staged. */
  readonly stagedAt: readonly string[];
  /** Locations that serve it as their stable release, with no candidate. */
  readonly stableAt: readonly string[];
}

/** What the table says about one location and one release. */
export interface LocationStanding {
  readonly locationId: string;
  /** What the location serves (its desired-traffic record). */
  readonly desired?: TrafficSplit;
  /** Whether the release is staged there. */
  readonly staged: boolean;
}

/** Where `release` stands across these locations. */
export function presenceOf(
  standing: readonly LocationStanding[],
  release: string
): ReleasePresence {
  return {
    stagedAt: standing.filter((s) => s.staged).map((s) => s.locationId),
    stableAt: standing
      .filter((s) => s.desired?.stable === release && !s.desired.candidate)
      .map((s) => s.locationId),
  };
}

/** Per location, in order: what it serves and whether `release` is staged there. */
export async function standingOf(
  records: Records,
  locationIds: readonly string[],
  release: string
): Promise<LocationStanding[]> {
  return Promise.all(
    locationIds.map(async (locationId) => {
      const [desired, staged] = await Promise.all([
        records.desired.get(locationId, { consistent: true }),
        records.stagedReleases.get(locationId, release),
      ]);
      return { locationId, ...(desired ? { desired } : {}), staged: staged !== undefined };
    })
  );
}

/** Where `release` stands at every location of `env`. */
export async function presenceIn(
  records: Records,
  env: Environment,
  release: string
): Promise<ReleasePresence> {
  const ids = env.locations.map((l) => l.id);
  return presenceOf(await standingOf(records, ids, release), release);
}
