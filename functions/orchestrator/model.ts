/** What the orchestrator keeps about rollouts, commands, the audit log and findings. */

/** Where a rollout stands. */
export type RolloutStatus = 'running' | 'paused' | 'completed' | 'aborted' | 'rolled-back';

/**
 * The step in progress: `applying` is recorded before traffic moves and `baking` after, so a
 * run that crashes half way leaves a record the next run finishes (re-applying is harmless:
 * drivers set absolute weights).
 */
export type StepPhase = 'applying' | 'baking';

/** Counts a gate compares against, per location, at the start of a step. */
export interface Baseline {
  readonly requests: number;
  readonly errors5xx: number;
}

/** One progressive rollout of a candidate release over the fleet. */
export interface Rollout {
  readonly rolloutId: string;
  readonly release: string;
  /** What each location served when the rollout started: where a rollback returns. */
  readonly previous: Readonly<Record<string, string>>;
  readonly status: RolloutStatus;
  readonly wave: number;
  readonly step: number;
  readonly phase: StepPhase;
  readonly bakeUntilMs: number;
  readonly baseline: Readonly<Record<string, Baseline>>;
  /** Locations that have served the candidate; a rollback returns all of them. */
  readonly touched: readonly string[];
  /**
   * What the current step waits for, per location of its wave, in words: its bake, or the
   * evidence its gate lacks (`no heartbeat from lab since 19:05:12 UTC`, `lab is drained`,
   * `lab: 3 of 50 requests served`). Empty once nothing is awaited; a paused rollout keeps
   * what it waited for when it paused. Absent in rollouts written before it existed.
   */
  readonly waiting?: Readonly<Record<string, string>>;
  /** Optimistic lock: every write says which version it replaces. */
  readonly version: number;
  /** Why the rollout paused, rolled back or was aborted; cleared by a resume. */
  readonly reason?: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly history: readonly { readonly at: string; readonly event: string }[];
}

/** A command for the orchestrator, written by the CLI, executed by the next run. */
export type Command =
  | { readonly command: 'start'; readonly release: string }
  | { readonly command: 'pause' | 'resume' | 'abort' | 'promote' }
  | {
      readonly command: 'drain' | 'restore';
      readonly location?: string;
      readonly function?: string;
      readonly reason?: string;
    };

/** An intent as stored. */
export type Intent = Command & {
  readonly intentId: string;
  readonly by: string;
  readonly at: string;
  readonly status: 'pending' | 'done' | 'rejected';
  readonly outcome?: string;
  readonly pk: string;
  readonly sk: string;
};

/** One line of the audit log. */
export interface AuditEntry {
  readonly at: string;
  readonly by: string;
  readonly action: string;
  readonly outcome: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Something a governance job found. */
export interface Finding {
  readonly job: 'drift' | 'stale-heartbeat' | 'policy';
  readonly subject: string;
  readonly severity: 'low' | 'medium' | 'high';
  readonly message: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly resolved: boolean;
  readonly resolvedAt?: string;
}
