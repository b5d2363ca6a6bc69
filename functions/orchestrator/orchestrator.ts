import type { Environment, Location } from '../../lib/config/schema';
import { ConflictError, type ControlStore } from './control-store';
import { FleetRecords, presenceOf } from './fleet-records';
import { clockTime, type GateVerdict, judge, silence } from './gates';
import type { Baseline, Intent, Rollout } from './model';
import { rolloutProblem } from './plan';
import type { HealthSample, HealthSource, TrafficDriver, TrafficTarget } from './ports';

/** Options of an {@link Orchestrator}. */
export interface OrchestratorOptions {
  readonly environment: Environment;
  readonly store: ControlStore;
  /** The driver that moves traffic at a location (Lambda aliases, satellite records). */
  readonly driverFor: (location: Location) => TrafficDriver;
  /** Where a location's gates read health. */
  readonly healthFor: (location: Location) => HealthSource;
  /** @default Date.now */
  readonly now?: () => number;
  /** Who the orchestrator acts as in the audit log. @default 'orchestrator' */
  readonly actor?: string;
}

/** What one reconcile pass did. */
export interface ReconcileReport {
  readonly events: readonly string[];
  /**
   * Locations whose gates wait for evidence (fresh heartbeats, enough requests) with the bake
   * over: a pass run as soon as one of them reports can take the next step. The rollout
   * record's `waiting` says what each waits for, in words.
   */
  readonly waitingOn: readonly string[];
}

const DRAIN_RETRY_AFTER_SECONDS = 30;

type Wave = Environment['rollout']['waves'][number];

/** A step without bake is judged on its locations' next evidence: the pass after applying it waits on them. */
const judgedNext = (wave: Wave | undefined): readonly string[] =>
  wave && wave.bakeMinutes === 0 ? wave.locations : [];

const NO_COUNTS: Baseline = { requests: 0, errors5xx: 0 };

const sameWaits = (a: Rollout['waiting'], b: Readonly<Record<string, string>>): boolean =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b).sort());

/** A command the orchestrator refuses (its intent is closed as rejected, with this reason). */
class RejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RejectedError';
  }
}

/**
 * The reconciler. Each pass executes pending commands, then takes at most one step of the
 * active rollout: move traffic for the next step, or judge the gates of the current one and
 * advance, complete or roll every touched location back. A step never waits silently nor
 * for ever: the record says what it waits for, and evidence still missing `maxWaitMinutes`
 * after the bake pauses the rollout (or rolls it back); so does a wave about to start on a
 * location that is not reporting. Drained locations are waited for, not judged. Every
 * decision is written with a version check before or after the traffic it moves, so
 * concurrent or crashed runs neither repeat nor lose a step; moving traffic is idempotent
 * (absolute weights).
 */
export class Orchestrator {
  private readonly now: () => number;
  private readonly actor: string;
  private readonly byId: ReadonlyMap<string, Location>;
  private readonly records: FleetRecords;
  /** The functions of each release seen (releases are immutable). */
  private readonly functionsOf = new Map<string, Promise<string[]>>();

  constructor(private readonly options: OrchestratorOptions) {
    this.now = options.now ?? Date.now;
    this.actor = options.actor ?? 'orchestrator';
    this.byId = new Map(options.environment.locations.map((l) => [l.id, l]));
    this.records = new FleetRecords(options.store.table, options.store.tableName);
  }

  /** One pass. Conflicts with a concurrent run end the pass quietly: the winner did the work. */
  async reconcile(): Promise<ReconcileReport> {
    const events: string[] = [];
    const waitingOn: string[] = [];
    try {
      for (const intent of await this.options.store.pendingIntents()) {
        events.push(await this.execute(intent));
      }
      const id = await this.options.store.activeRolloutId();
      const rollout = id ? await this.options.store.rollout(id) : undefined;
      if (rollout) {
        const event = await this.step(rollout, waitingOn);
        if (event) events.push(event);
      }
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      events.push(`yielded: ${err.message}`);
    }
    return { events, waitingOn };
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private async execute(intent: Intent): Promise<string> {
    const { store } = this.options;
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
    await store.closeIntent(intent, status, outcome);
    await store.audit({
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
    const { store, environment } = this.options;
    const rolloutId = `ro-${intent.intentId}`;
    const active = await store.activeRolloutId();
    if (active && active !== rolloutId)
      throw new RejectedError(`rollout ${active} is active; one at a time`);
    const standing = await this.records.standing(
      environment.locations.map((l) => l.id),
      intent.release
    );
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
    const existing = await store.rollout(rolloutId);
    if (!existing) await store.saveRollout(rollout);
    if (!(await store.claimActive(rolloutId))) {
      throw new RejectedError('another rollout became active first; one at a time');
    }
    return { outcome: `rollout ${rolloutId} of ${intent.release} started`, rolloutId };
  }

  private async control(
    command: 'pause' | 'resume' | 'abort' | 'promote'
  ): Promise<{ outcome: string; rolloutId: string }> {
    const { store } = this.options;
    const id = await store.activeRolloutId();
    const rollout = id ? await store.rollout(id) : undefined;
    if (!rollout) throw new RejectedError('no rollout is active');
    const running = rollout.status === 'running';
    if (command === 'pause') {
      if (!running) throw new RejectedError(`rollout ${rollout.rolloutId} is ${rollout.status}`);
      await this.save(rollout, { status: 'paused' }, 'paused');
    } else if (command === 'resume') {
      if (rollout.status !== 'paused')
        throw new RejectedError(`rollout ${rollout.rolloutId} is ${rollout.status}, not paused`);
      // The wait for evidence starts again: a resumed step gets its full `maxWaitMinutes`.
      const { reason: _, ...resumed } = rollout;
      await this.save(
        resumed,
        { status: 'running', bakeUntilMs: Math.max(rollout.bakeUntilMs, this.now()) },
        'resumed'
      );
    } else if (command === 'promote') {
      if (!running) throw new RejectedError(`rollout ${rollout.rolloutId} is ${rollout.status}`);
      await this.save(rollout, { bakeUntilMs: this.now() }, 'bake skipped (promote)');
    } else {
      await this.rollBack(rollout, 'aborted', 'aborted by operator');
    }
    return { outcome: `rollout ${rollout.rolloutId}: ${command}`, rolloutId: rollout.rolloutId };
  }

  private async drain(intent: Intent & { command: 'drain' | 'restore' }): Promise<string> {
    if (!intent.location && !intent.function)
      throw new RejectedError(`name a location or a function to ${intent.command}`);
    if (intent.location && intent.function)
      throw new RejectedError('name a location or a function, not both');
    if (intent.location && !this.byId.has(intent.location)) {
      throw new RejectedError(
        `no location '${intent.location}'; the locations are ${[...this.byId.keys()].join(', ')}`
      );
    }
    if (intent.function) await this.knownFunction(intent.function, intent.command);
    const drained = intent.command === 'drain';
    await this.records.setDrain({
      ...(intent.location ? { location: intent.location } : { function: intent.function }),
      drained,
      reason: intent.reason ?? (drained ? 'drained by operator' : 'restored'),
      by: intent.by,
      at: this.iso(),
      retryAfterSeconds: DRAIN_RETRY_AFTER_SECONDS,
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
    const known = await this.records.knownFunctions([...this.byId.keys()]);
    if (known.includes(name)) return;
    if (command === 'restore' && (await this.records.functionDrained(name))) return;
    throw new RejectedError(
      `no function '${name}' in the releases of ${this.options.environment.name}; the functions are ${known.join(', ') || 'none (no staged release lists any)'}`
    );
  }

  /** At most one step of a rollout; `waitingOn` gets the locations whose evidence it awaits. */
  private async step(rollout: Rollout, waitingOn: string[]): Promise<string | undefined> {
    if (rollout.status !== 'running') return undefined;
    const wave = this.options.environment.rollout.waves[rollout.wave];
    if (!wave) return this.complete(rollout);
    if (rollout.phase === 'applying') return this.apply(rollout, waitingOn);

    const now = this.now();
    const verdicts = await this.verdicts(rollout, rollout.touched, now);
    const waiting: Record<string, string> = {};
    for (const id of rollout.touched) {
      const verdict = verdicts.get(id) as GateVerdict;
      if (verdict.verdict === 'breach') {
        return this.rollBack(rollout, 'rolled-back', `gate breached at ${id}: ${verdict.why}`);
      }
      if (verdict.verdict === 'wait' && wave.locations.includes(id)) waiting[id] = verdict.why;
    }
    // The record says `baking until …` from the pass that applied the step.
    if (now < rollout.bakeUntilMs) return undefined;
    if (Object.keys(waiting).length > 0) return this.wait(rollout, waiting, waitingOn);
    const last = rollout.step + 1 >= wave.steps.length;
    const next = last
      ? { wave: rollout.wave + 1, step: 0 }
      : { wave: rollout.wave, step: rollout.step + 1 };
    if (!this.options.environment.rollout.waves[next.wave]) return this.complete(rollout);
    const advanced = await this.save(
      rollout,
      { ...next, phase: 'applying' },
      `advance to wave ${next.wave} step ${next.step}`
    );
    return this.apply(advanced, waitingOn);
  }

  /**
   * A baked step whose gates lack evidence: records what it waits for, until `maxWaitMinutes`
   * after the bake; then the wait ends, by the gates' `onTimeout`: pause or roll back.
   */
  private async wait(
    rollout: Rollout,
    waiting: Readonly<Record<string, string>>,
    waitingOn: string[]
  ): Promise<string | undefined> {
    const { maxWaitMinutes, onTimeout } = this.options.environment.rollout.gates;
    if (this.now() >= rollout.bakeUntilMs + maxWaitMinutes * 60_000) {
      const reason = `${Object.values(waiting).join('; ')} (waited ${maxWaitMinutes} min after the bake)`;
      return onTimeout === 'rollback'
        ? this.rollBack(rollout, 'rolled-back', reason)
        : this.pause(rollout, reason, waiting);
    }
    waitingOn.push(...Object.keys(waiting));
    // Written only when it changes, and outside the history: it is a status, not an event.
    if (!sameWaits(rollout.waiting, waiting)) await this.note(rollout, { waiting });
    return undefined;
  }

  /** Pauses the rollout on its own, saying why, in the record and in the audit log. */
  private async pause(
    rollout: Rollout,
    reason: string,
    waiting: Readonly<Record<string, string>>
  ): Promise<string> {
    await this.save(rollout, { status: 'paused', reason, waiting }, `paused: ${reason}`);
    await this.options.store.audit({
      at: this.iso(),
      by: this.actor,
      action: 'rollout',
      outcome: `paused: ${reason}`,
      detail: { rolloutId: rollout.rolloutId, release: rollout.release },
    });
    return `rollout ${rollout.rolloutId} paused: ${reason}`;
  }

  /**
   * Each location's gate verdict: drained locations (the location, or one of the release's
   * functions fleet-wide) and silent ones wait, with the reason in words.
   */
  private async verdicts(
    rollout: Rollout,
    ids: readonly string[],
    nowMs: number
  ): Promise<Map<string, GateVerdict>> {
    const samples = await this.samples(ids, rollout.release);
    const drains = await this.records.drains(ids, await this.functionsOfRelease(rollout.release));
    const silent = ids.filter((id) => !samples.get(id)?.fresh && !drains.has(id));
    const reports = silent.length > 0 ? await this.records.lastReports(silent) : new Map();
    const gates = this.options.environment.rollout.gates;
    return new Map(
      ids.map((id) => {
        const drained = drains.get(id);
        const lastReportMs = reports.get(id);
        return [
          id,
          judge(samples.get(id) as HealthSample, rollout.baseline[id] ?? NO_COUNTS, gates, {
            locationId: id,
            nowMs,
            ...(drained ? { drained } : {}),
            ...(lastReportMs !== undefined ? { lastReportMs } : {}),
          }),
        ];
      })
    );
  }

  private functionsOfRelease(release: string): Promise<string[]> {
    let names = this.functionsOf.get(release);
    if (!names) {
      names = this.records.releaseFunctions([...this.byId.keys()], release);
      names.catch(() => this.functionsOf.delete(release));
      this.functionsOf.set(release, names);
    }
    return names;
  }

  /**
   * Moves the current wave to the current step's weight, then starts its bake. A wave does
   * not start on a location that is not reporting: the rollout pauses, saying which.
   */
  private async apply(rollout: Rollout, waitingOn: string[]): Promise<string> {
    const wave = this.options.environment.rollout.waves[rollout.wave];
    if (!wave) return this.complete(rollout);
    const percent = wave.steps[rollout.step] ?? 100;
    const now = this.now();
    const samples = await this.samples(wave.locations, rollout.release);
    if (rollout.step === 0) {
      const stale = wave.locations.filter((id) => !samples.get(id)?.fresh);
      if (stale.length > 0) {
        const reports = await this.records.lastReports(stale);
        const waiting = Object.fromEntries(
          stale.map((id) => [id, silence(id, reports.get(id), now)])
        );
        const reason = `wave ${wave.name} not started: ${Object.values(waiting).join('; ')}`;
        return this.pause(rollout, reason, waiting);
      }
    }
    // Overlapping passes are fenced by the rollout's version. The locations are recorded as
    // touched before traffic moves, so a pass that rolls back meanwhile returns them too.
    const touched = [...new Set([...rollout.touched, ...wave.locations])];
    let current = rollout;
    if (touched.length > rollout.touched.length) {
      current = await this.save(rollout, { touched }, `wave ${wave.name}: moving to ${percent}%`);
    }
    await this.applyEverywhere(wave.locations, (id) => ({
      stable: rollout.previous[id] as string,
      candidate: rollout.release,
      weight: percent / 100,
    }));
    const baseline: Record<string, Baseline> = { ...rollout.baseline };
    for (const id of wave.locations) {
      const sample = samples.get(id) as HealthSample;
      baseline[id] = { requests: sample.requests, errors5xx: sample.errors5xx };
    }
    const bakeUntilMs = now + wave.bakeMinutes * 60_000;
    const awaits =
      wave.bakeMinutes > 0 ? `bake until ${clockTime(bakeUntilMs, now)}` : 'gates at the next pass';
    try {
      await this.save(
        current,
        {
          phase: 'baking',
          baseline,
          touched,
          bakeUntilMs,
          waiting: Object.fromEntries(wave.locations.map((id) => [id, awaits])),
        },
        `wave ${wave.name} at ${percent}%`
      );
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      await this.undoIfEnded(current.rolloutId, wave.locations);
      throw err;
    }
    waitingOn.push(...judgedNext(wave));
    return `rollout ${rollout.rolloutId}: wave ${wave.name} (${wave.locations.join(', ')}) at ${percent}%`;
  }

  /**
   * After a move lost the race for the rollout record: if another pass ended the rollout
   * (rolled back or aborted) while this one moved traffic, this pass's move may have landed
   * after that rollback, so it returns `ids` to what they served before.
   */
  private async undoIfEnded(rolloutId: string, ids: readonly string[]): Promise<void> {
    const latest = await this.options.store.rollout(rolloutId);
    if (latest?.status !== 'aborted' && latest?.status !== 'rolled-back') return;
    await this.applyEverywhere(ids, (id) => ({
      stable: latest.previous[id] as string,
      weight: 0,
    }));
  }

  /**
   * Moves traffic at many locations at once, and returns only when every move has settled:
   * a pass never ends with a write still in flight that could land after the next pass's.
   * Failures are reported together, in location order; the next pass repeats the moves
   * (absolute weights, so repeating one is harmless).
   */
  private async applyEverywhere(
    ids: readonly string[],
    target: (id: string) => TrafficTarget
  ): Promise<void> {
    const results = await Promise.allSettled(
      ids.map((id) => this.options.driverFor(this.byId.get(id) as Location).apply(id, target(id)))
    );
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${ids[i]}: ${(r.reason as Error)?.message ?? r.reason}`] : []
    );
    if (failed.length > 0) throw new Error(`moving traffic failed at ${failed.join('; ')}`);
  }

  /** Health of many locations, batched per health source where it can batch. */
  private async samples(
    ids: readonly string[],
    release: string
  ): Promise<Map<string, HealthSample>> {
    const bySource = new Map<HealthSource, string[]>();
    for (const id of ids) {
      const source = this.options.healthFor(this.byId.get(id) as Location);
      bySource.set(source, [...(bySource.get(source) ?? []), id]);
    }
    const all = new Map<string, HealthSample>();
    for (const [source, group] of bySource) {
      if (source.sampleMany) {
        for (const [id, sample] of await source.sampleMany(group, release)) all.set(id, sample);
      } else {
        for (const id of group) all.set(id, await source.sample(id, release));
      }
    }
    return all;
  }

  private async complete(rollout: Rollout): Promise<string> {
    await this.applyEverywhere(
      this.options.environment.locations.map((l) => l.id),
      () => ({ stable: rollout.release, weight: 0 })
    );
    await this.save(
      rollout,
      { status: 'completed', waiting: {} },
      'completed: the release is stable everywhere'
    );
    await this.finish(rollout, 'completed');
    return `rollout ${rollout.rolloutId} completed: ${rollout.release} is stable everywhere`;
  }

  /**
   * Returns every touched location to what it served before, in one pass; while a step is
   * being applied, its wave's locations too (a crashed pass may have moved them already).
   */
  private async rollBack(
    rollout: Rollout,
    status: 'rolled-back' | 'aborted',
    reason: string
  ): Promise<string> {
    const wave = this.options.environment.rollout.waves[rollout.wave];
    const returned =
      rollout.phase === 'applying' && wave
        ? [...new Set([...rollout.touched, ...wave.locations])]
        : rollout.touched;
    await this.applyEverywhere(returned, (id) => ({
      stable: rollout.previous[id] as string,
      weight: 0,
    }));
    await this.save(rollout, { status, reason, waiting: {} }, `${status}: ${reason}`);
    await this.finish(rollout, `${status}: ${reason}`);
    return `rollout ${rollout.rolloutId} ${status}: ${reason}; back on stable at ${returned.join(', ') || 'no location'}`;
  }

  private async finish(rollout: Rollout, outcome: string): Promise<void> {
    await this.options.store.releaseActive(rollout.rolloutId);
    await this.options.store.audit({
      at: this.iso(),
      by: this.actor,
      action: 'rollout',
      outcome,
      detail: { rolloutId: rollout.rolloutId, release: rollout.release },
    });
  }

  private async save(rollout: Rollout, change: Partial<Rollout>, event: string): Promise<Rollout> {
    const next: Rollout = {
      ...rollout,
      ...change,
      version: rollout.version + 1,
      updatedAt: this.iso(),
      history: [...rollout.history, { at: this.iso(), event }].slice(-100),
    };
    await this.options.store.saveRollout(next);
    return next;
  }

  /** Saves a change of status fields, without a history entry. */
  private async note(rollout: Rollout, change: Partial<Rollout>): Promise<Rollout> {
    const next: Rollout = {
      ...rollout,
      ...change,
      version: rollout.version + 1,
      updatedAt: this.iso(),
    };
    await this.options.store.saveRollout(next);
    return next;
  }
}
