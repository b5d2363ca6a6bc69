import type { Intent } from '../../core/records/intents';
import type { Rollout } from '../../core/records/rollouts';
import { rolloutProblem } from './plan';
import { presenceOf, standingOf } from './presence';
import type { RolloutContext, RolloutSteps } from './rollout-steps';

/** A command the orchestrator refuses (its intent is closed as rejected, with this reason). */
class RejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RejectedError';
  }
}

/**
 * Executes the commands the CLI records as intents: start, pause, resume, abort and promote a
 * rollout; drain and restore a location or a function fleet-wide. Each intent is closed once
 * (done, or rejected with the reason) and audited; a crash or a conflict leaves it pending
 * for the next run.
 */
export class Commands {
  private readonly locationIds: readonly string[];

  constructor(
    private readonly context: RolloutContext,
    private readonly steps: RolloutSteps
  ) {
    this.locationIds = context.environment.locations.map((l) => l.id);
  }

  private iso(): string {
    return new Date(this.context.now()).toISOString();
  }

  /** Executes one intent, closes it and audits it; returns what happened, in words. */
  async execute(intent: Intent): Promise<string> {
    const { records } = this.context;
    let status: 'done' | 'rejected' = 'done';
    let outcome: string;
    let rolloutId: string | undefined;
    try {
      switch (intent.command) {
        case 'start':
          ({ outcome, rolloutId } = await this.start(intent));
          break;
        case 'pause':
        case 'resume':
        case 'abort':
        case 'promote':
          ({ outcome, rolloutId } = await this.control(intent.command));
          break;
        case 'drain':
        case 'restore':
          outcome = await this.drain(intent);
          break;
      }
    } catch (err) {
      // Anything but a refusal (a crash, a conflict) leaves the intent pending for the next run.
      if (!(err instanceof RejectedError)) throw err;
      status = 'rejected';
      outcome = err.message;
    }
    await records.intents.close(intent, status, outcome);
    await records.audit.append({
      at: this.iso(),
      by: intent.by,
      action: intent.command,
      outcome: `${status}: ${outcome}`,
      detail: { intentId: intent.intentId, ...(rolloutId ? { rolloutId } : {}) },
    });
    return `${intent.command} ${status}: ${outcome}`;
  }

  private async start(
    intent: Intent & { command: 'start' }
  ): Promise<{ outcome: string; rolloutId: string }> {
    const { records, environment } = this.context;
    const rolloutId = `ro-${intent.intentId}`;
    const active = await records.rollouts.activeId();
    if (active && active !== rolloutId)
      throw new RejectedError(`rollout ${active} is active; one at a time`);
    const standing = await standingOf(records, this.locationIds, intent.release);
    const problem = rolloutProblem(
      environment,
      intent.release,
      presenceOf(standing, intent.release)
    );
    if (problem) throw new RejectedError(problem);
    const previous: Record<string, string> = {};
    // Read in parallel, judged in order: the first location at fault is the one named.
    for (const { locationId, desired } of standing) {
      if (!desired) throw new RejectedError(`location ${locationId} serves nothing yet`);
      if (desired.candidate)
        throw new RejectedError(`location ${locationId} still has a candidate`);
      previous[locationId] = desired.stable;
    }
    const rollout: Rollout = {
      rolloutId,
      release: intent.release,
      previous,
      status: 'running',
      wave: 0,
      step: 0,
      phase: 'applying',
      bakeUntilMs: 0,
      baseline: {},
      touched: [],
      waiting: {},
      version: 1,
      createdBy: intent.by,
      createdAt: this.iso(),
      updatedAt: this.iso(),
      history: [{ at: this.iso(), event: `started by ${intent.by}` }],
    };
    // Written before the slot is claimed, under an id derived from the intent: a run that
    // crashes in between finds the same rollout next time instead of making a second one.
    const existing = await records.rollouts.get(rolloutId);
    if (!existing) await records.rollouts.save(rollout);
    if (!(await records.rollouts.claimActive(rolloutId))) {
      throw new RejectedError('another rollout became active first; one at a time');
    }
    await this.steps.publish(rollout, 'started', `started by ${intent.by}`);
    return { outcome: `rollout ${rolloutId} of ${intent.release} started`, rolloutId };
  }

  private async control(
    command: 'pause' | 'resume' | 'abort' | 'promote'
  ): Promise<{ outcome: string; rolloutId: string }> {
    const rollout = await this.context.records.rollouts.active();
    if (!rollout) throw new RejectedError('no rollout is active');
    const running = rollout.status === 'running';
    const { steps } = this;
    if (command === 'pause') {
      if (!running) throw new RejectedError(`rollout ${rollout.rolloutId} is ${rollout.status}`);
      const paused = await steps.save(rollout, { status: 'paused' }, 'paused');
      await steps.publish(paused, 'paused', 'paused by operator');
    } else if (command === 'resume') {
      if (rollout.status !== 'paused')
        throw new RejectedError(`rollout ${rollout.rolloutId} is ${rollout.status}, not paused`);
      // The wait for evidence starts again: a resumed step gets its full `maxWaitMinutes`.
      const { reason: _, ...resumed } = rollout;
      const running = await steps.save(
        resumed,
        { status: 'running', bakeUntilMs: Math.max(rollout.bakeUntilMs, this.context.now()) },
        'resumed'
      );
      await steps.publish(running, 'resumed', 'resumed by operator');
    } else if (command === 'promote') {
      if (!running) throw new RejectedError(`rollout ${rollout.rolloutId} is ${rollout.status}`);
      await steps.save(rollout, { bakeUntilMs: this.context.now() }, 'bake skipped (promote)');
    } else {
      await steps.rollBack(rollout, 'aborted', 'aborted by operator');
    }
    return { outcome: `rollout ${rollout.rolloutId}: ${command}`, rolloutId: rollout.rolloutId };
  }

  private async drain(intent: Intent & { command: 'drain' | 'restore' }): Promise<string> {
    if (!intent.location && !intent.function)
      throw new RejectedError(`name a location or a function to ${intent.command}`);
    if (intent.location && intent.function)
      throw new RejectedError('name a location or a function, not both');
    if (intent.location && !this.locationIds.includes(intent.location)) {
      throw new RejectedError(
        `no location '${intent.location}'; the locations are ${this.locationIds.join(', ')}`
      );
    }
    if (intent.function) await this.knownFunction(intent.function, intent.command);
    const drained = intent.command === 'drain';
    await this.context.records.drains.set({
      ...(intent.location ? { location: intent.location } : { function: intent.function }),
      drained,
      reason: intent.reason ?? (drained ? 'drained by operator' : 'restored'),
      by: intent.by,
      at: this.iso(),
    });
    const what = intent.location
      ? `location ${intent.location}`
      : `function ${intent.function} fleet-wide`;
    return `${what} ${drained ? 'drained' : 'restored'}`;
  }

  /**
   * Refuses a function no release staged in the environment has: a typo must not look like a
   * kill switch that worked. A function drained earlier can always be restored.
   */
  private async knownFunction(name: string, command: 'drain' | 'restore'): Promise<void> {
    const { records, environment } = this.context;
    const known = await records.stagedReleases.knownFunctions(this.locationIds);
    if (known.includes(name)) return;
    if (command === 'restore' && (await records.drains.function(name))?.drained === true) return;
    throw new RejectedError(
      `no function '${name}' in the releases of ${environment.name}; the functions are ${known.join(', ') || 'none (no staged release lists any)'}`
    );
  }
}
