import type { Environment, Wave } from '../../core/environment/schema';
import type { ReleasePresence } from './presence';

/** One wave as a rollout will run it. */
export interface PlannedWave {
  readonly name: string;
  readonly locations: readonly string[];
  /** Candidate traffic at each step, percent. */
  readonly steps: readonly number[];
  readonly bakeMinutes: number;
  /** The wave's locations in the batches they join it in, each through every step. */
  readonly batches: readonly (readonly string[])[];
  /** Share of the fleet's locations this wave touches, percent, and in total after it. */
  readonly shareOfFleet: number;
  readonly cumulativeShare: number;
}

/** What a rollout of `release` would do, before anything moves. */
export interface RolloutPlan {
  readonly release: string;
  readonly waves: readonly PlannedWave[];
  /** Steps in all, and the least time the rollout takes (bake times only). */
  readonly totalSteps: number;
  readonly minimumMinutes: number;
  readonly gates: Environment['rollout']['gates'];
}

/**
 * A wave's locations in the batches they join it in: all at once, in batches of `size`, or
 * an exponential ramp (`initial`, then each batch `factor` times the one before, rounded up,
 * as AWS IoT Jobs' `exponentialRate`). The last batch takes what is left.
 */
export function batchesOf(wave: Pick<Wave, 'locations' | 'batches'>): string[][] {
  const ids = [...wave.locations];
  const plan = wave.batches;
  if (!plan) return [ids];
  const out: string[][] = [];
  let size = 'size' in plan ? plan.size : plan.initial;
  for (let i = 0; i < ids.length; ) {
    out.push(ids.slice(i, i + size));
    i += size;
    if (!('size' in plan)) size = Math.ceil(size * plan.factor);
  }
  return out;
}

/** The waves, steps and bake times of a rollout, from the environment's rollout settings. */
export function planRollout(env: Environment, release: string): RolloutPlan {
  const total = env.locations.length;
  let covered = 0;
  const waves = env.rollout.waves.map((w) => {
    covered += w.locations.length;
    return {
      name: w.name,
      locations: [...w.locations],
      steps: [...w.steps],
      bakeMinutes: w.bakeMinutes,
      batches: batchesOf(w),
      shareOfFleet: Math.round((w.locations.length / total) * 1000) / 10,
      cumulativeShare: Math.round((covered / total) * 1000) / 10,
    };
  });
  return {
    release,
    waves,
    totalSteps: waves.reduce((n, w) => n + w.steps.length * w.batches.length, 0),
    minimumMinutes: waves.reduce(
      (n, w) => n + w.steps.length * w.batches.length * w.bakeMinutes,
      0
    ),
    gates: env.rollout.gates,
  };
}

/**
 * Why a rollout of `release` cannot start, or `undefined` when it can: a release staged
 * nowhere or not at every location, or one already stable at every location. Pure, so that
 * `rollout plan` and `rollout start` (the orchestrator) say the same thing.
 */
export function rolloutProblem(
  env: Environment,
  release: string,
  presence: ReleasePresence
): string | undefined {
  const ids = env.locations.map((l) => l.id);
  const staged = new Set(presence.stagedAt);
  const stable = new Set(presence.stableAt);
  if (ids.every((id) => stable.has(id))) return `${release} is already stable at every location`;
  if (!ids.some((id) => staged.has(id))) {
    return `release ${release} is not staged at any location of ${env.name}; deploy it first`;
  }
  const missing = ids.filter((id) => !staged.has(id));
  if (missing.length > 0) {
    return `release ${release} is not staged at ${missing.join(', ')}; deploy it there first`;
  }
  return undefined;
}
