import { HttpError, ValidationError } from '../../core/errors';
import { RELEASE_OVERRIDE_HEADER } from '../../functions/shared/http';
import { affinityPoint } from './affinity';
import type { LoadedRelease } from './function-host';

/** Which releases serve a location and how traffic is split between them. */
export interface TrafficState {
  readonly stable: LoadedRelease;
  /** The release being rolled out, if any. */
  readonly candidate?: LoadedRelease;
  /** Share of requests the candidate gets, 0..1. */
  readonly weight: number;
  /**
   * Releases staged at the location that serve no traffic, loaded on demand for requests
   * that name them. @default - such requests get 404
   */
  readonly staged?: { get(releaseId: string): Promise<LoadedRelease> };
}

export { RELEASE_OVERRIDE_HEADER };

const RELEASE_ID = /^r-[0-9a-f]{16}$/;

/**
 * Picks the release for one request: the one the override header names; else, for a client
 * that sent an affinity key, the candidate iff the key's point (see {@link affinityPoint})
 * is below `weight`, so the client stays on one release while the weight holds and, as it
 * grows, only ever moves from stable to the candidate; else the candidate with probability
 * `weight`. Returns the release id when the header names a release that serves no traffic
 * here (a staged one, to be loaded). Never falls back to another release than the one asked
 * for: a malformed header is a 400, `candidate` with no candidate a 404. `random` is
 * injectable for tests.
 */
export function pickRelease(
  state: TrafficState,
  override: string | undefined,
  random: () => number = Math.random,
  affinityKey?: string
): LoadedRelease | string {
  const { stable, candidate } = state;
  if (override !== undefined) {
    if (override === 'stable' || override === stable.releaseId) return stable;
    if (override === 'candidate') {
      if (candidate) return candidate;
      throw new HttpError(
        404,
        'no-candidate',
        `this location serves no candidate release; to test a staged release, send ${RELEASE_OVERRIDE_HEADER}: <release id>`
      );
    }
    if (candidate && override === candidate.releaseId) return candidate;
    if (!RELEASE_ID.test(override)) {
      throw new ValidationError(
        `${RELEASE_OVERRIDE_HEADER} must be stable, candidate or a release id (r- and 16 hex digits), not '${override.slice(0, 64)}'`,
        [{ in: 'header', field: RELEASE_OVERRIDE_HEADER, message: 'not a release' }]
      );
    }
    return override;
  }
  if (!candidate || state.weight <= 0) return stable;
  const point =
    affinityKey === undefined ? random() : affinityPoint(candidate.releaseId, affinityKey);
  return point < state.weight ? candidate : stable;
}
