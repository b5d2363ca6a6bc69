import type { LoadedRelease } from './function-host';

/** Which releases serve a location and how traffic is split between them. */
export interface TrafficState {
  readonly stable: LoadedRelease;
  /** The release being rolled out, if any. */
  readonly candidate?: LoadedRelease;
  /** Share of requests the candidate gets, 0..1. */
  readonly weight: number;
}

/**
 * The header that sends one request to a chosen release on purpose (smoke tests):
 * `candidate`, `stable`, or a release id.
 */
export const RELEASE_OVERRIDE_HEADER = 'x-orbit-target-release';

/**
 * Picks the release for one request: the override header when it names a serving release,
 * else the candidate with probability `weight`. `random` is injectable for tests.
 */
export function pickRelease(
  state: TrafficState,
  override: string | undefined,
  random: () => number = Math.random
): LoadedRelease {
  const { stable, candidate } = state;
  if (override !== undefined) {
    if (override === 'stable' || override === stable.releaseId) return stable;
    if (candidate && (override === 'candidate' || override === candidate.releaseId)) {
      return candidate;
    }
  }
  if (!candidate || state.weight <= 0) return stable;
  return random() < state.weight ? candidate : stable;
}
