import type { Environment, Location, RolloutEventKind } from '../../core/environment/schema';
import type { Records } from '../../core/records';
import type { Baseline, Rollout } from '../../core/records/rollouts';
import { ConflictError } from '../../core/records/table';
import { clockTime, type GateVerdict, judge, silence } from './gates';
import type {
  HealthSample,
  HealthSource,
  RolloutEvents,
  SmokeRunner,
  TrafficDriver,
  TrafficTarget,
} from './ports';

/** What the rollout step machine works with. */
export interface RolloutContext {
  readonly environment: Environment;
  readonly records: Records;
  /** The driver that moves traffic at a location (Lambda aliases, satellite records). */
  readonly driverFor: (location: Location) => TrafficDriver;
  /** Where a location's gates read health. */
  readonly healthFor: (location: Location) => HealthSource;
  readonly now: () => number;
  /** Who the orchestrator acts as in the audit log. */
  readonly actor: string;
  /** Runs `rollout.smoke` against the candidate before a location gets traffic. @default - none run */
  readonly smoke?: SmokeRunner;
  /** Where rollout transitions are told. @default - nowhere but the record and the audit log */
  readonly events?: RolloutEvents;
  /** Told when publishing an event failed (the rollout goes on). @default - ignored */
  readonly onEventError?: (err: unknown) => void;
}

type Wave = Environment['rollout']['waves'][number];

/** A step without bake is judged on its locations' next evidence: the pass after applying it waits on them. */
const judgedNext = (wave: Wave | undefined): readonly string[] =>
  wave && wave.bakeMinutes === 0 ? wave.locations : [];

const NO_COUNTS: Baseline = { requests: 0, errors5xx: 0 };

const sameWaits = (a: Rollout['waiting'], b: Readonly<Record<string, string>>): boolean =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * The rollout step machine: at most one step of the active rollout per pass — move traffic
 * for the next step, or judge the gates of the current one and advance, complete or roll
 * every touched location back. A step never waits silently nor for ever: the record says
 * what it waits for, and evidence still missing `maxWaitMinutes` after the bake pauses the
 * rollout (or rolls it back); so does a wave about to start on a location that is not
 * reporting. Drained locations are waited for, not judged. Every decision is written with a
 * version check before or after the traffic it moves, so concurrent or crashed runs neither
 * repeat nor lose a step; moving traffic is idempotent (absolute weights).
 */
export class RolloutSteps {
  private readonly byId: ReadonlyMap<string, Location>;
  /** The functions of each release seen (releases are immutable). */
  private readonly functionsOf = new Map<string, Promise<string[]>>();

  constructor(private readonly context: RolloutContext) {
    this.byId = new Map(context.environment.locations.map((l) => [l.id, l]));
  }

  private get waves() {
    return this.context.environment.rollout.waves;
  }

  private iso(): string {
    return new Date(this.context.now()).toISOString();
  }

  /** At most one step of a rollout; `waitingOn` gets the locations whose evidence it awaits. */
  async step(rollout: Rollout, waitingOn: string[]): Promise<string | undefined> {
    if (rollout.status !== 'running') return undefined;
    const wave = this.waves[rollout.wave];
    if (!wave) return this.complete(rollout);
    if (rollout.phase === 'applying') return this.apply(rollout, waitingOn);

    const now = this.context.now();
    const verdicts = await this.verdicts(rollout, rollout.touched, now);
    const waiting: Record<string, string> = {};
    for (const id of rollout.touched) {
      const verdict = verdicts.get(id) as GateVerdict;
      if (verdict.verdict === 'breach') {
        const reason = `gate breached at ${id}: ${verdict.why}`;
        await this.publish(rollout, 'breached', reason, [id]);
        return this.rollBack(rollout, 'rolled-back', reason);
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
    if (!this.waves[next.wave]) return this.complete(rollout);
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
    const { maxWaitMinutes, onInconclusive } = this.context.environment.rollout.gates;
    if (this.context.now() >= rollout.bakeUntilMs + maxWaitMinutes * 60_000) {
      const reason = `${Object.values(waiting).join('; ')} (waited ${maxWaitMinutes} min after the bake)`;
      await this.publish(rollout, 'inconclusive', reason, Object.keys(waiting));
      return onInconclusive === 'rollback'
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
    const saved = await this.save(
      rollout,
      { status: 'paused', reason, waiting },
      `paused: ${reason}`
    );
    await this.publish(saved, 'paused', reason, Object.keys(waiting));
    await this.context.records.audit.append({
      at: this.iso(),
      by: this.context.actor,
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
    const { records } = this.context;
    const samples = await this.samples(ids, rollout.release);
    const drains = await records.drains.reasons(
      ids,
      await this.functionsOfRelease(rollout.release)
    );
    const silent = ids.filter((id) => !samples.get(id)?.fresh && !drains.has(id));
    const reports = silent.length > 0 ? await records.heartbeats.lastReports(silent) : new Map();
    const gates = this.context.environment.rollout.gates;
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
      names = this.context.records.stagedReleases.releaseFunctions([...this.byId.keys()], release);
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
    const wave = this.waves[rollout.wave];
    if (!wave) return this.complete(rollout);
    const percent = wave.steps[rollout.step] ?? 100;
    const now = this.context.now();
    const samples = await this.samples(wave.locations, rollout.release);
    if (rollout.step === 0) {
      const stale = wave.locations.filter((id) => !samples.get(id)?.fresh);
      if (stale.length > 0) {
        const reports = await this.context.records.heartbeats.lastReports(stale);
        const waiting = Object.fromEntries(
          stale.map((id) => [id, silence(id, reports.get(id), now)])
        );
        const reason = `wave ${wave.name} not started: ${Object.values(waiting).join('; ')}`;
        return this.pause(rollout, reason, waiting);
      }
    }
    const failed = await this.smokeFailures(
      rollout,
      wave.locations.filter((id) => !rollout.touched.includes(id))
    );
    if (failed) return this.stopBeforeTraffic(rollout, failed);
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
    let baking: Rollout;
    try {
      baking = await this.save(
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
    await this.publish(baking, 'step', `wave ${wave.name} at ${percent}%`, wave.locations);
    waitingOn.push(...judgedNext(wave));
    return `rollout ${rollout.rolloutId}: wave ${wave.name} (${wave.locations.join(', ')}) at ${percent}%`;
  }

  /**
   * Runs the smoke checks at locations about to get their first candidate traffic; returns
   * what failed, in words, or `undefined` when every check passed (or none are configured).
   */
  private async smokeFailures(
    rollout: Rollout,
    ids: readonly string[]
  ): Promise<{ readonly reason: string; readonly at: readonly string[] } | undefined> {
    const { smoke, environment } = this.context;
    if (!smoke || environment.rollout.smoke.length === 0 || ids.length === 0) return undefined;
    const results = await Promise.all(
      ids.map(async (id) => {
        try {
          return { id, results: await smoke.run(id, rollout.release) };
        } catch (err) {
          return {
            id,
            results: [{ check: 'smoke', ok: false, detail: (err as Error).message ?? String(err) }],
          };
        }
      })
    );
    const failures = results.flatMap(({ id, results: r }) =>
      r.filter((x) => !x.ok).map((x) => ({ id, text: `${id}: ${x.check}: ${x.detail}` }))
    );
    if (failures.length === 0) return undefined;
    return {
      reason: `smoke checks failed before any traffic: ${failures.map((f) => f.text).join('; ')}`,
      at: [...new Set(failures.map((f) => f.id))],
    };
  }

  /** Ends a rollout whose smoke checks failed: no location it was about to move got traffic. */
  private async stopBeforeTraffic(
    rollout: Rollout,
    failed: { readonly reason: string; readonly at: readonly string[] }
  ): Promise<string> {
    await this.publish(rollout, 'smoke-failed', failed.reason, failed.at);
    return this.rollBack(rollout, 'rolled-back', failed.reason, { untouched: true });
  }

  /**
   * After a move lost the race for the rollout record: if another pass ended the rollout
   * (rolled back or aborted) while this one moved traffic, this pass's move may have landed
   * after that rollback, so it returns `ids` to what they served before.
   */
  private async undoIfEnded(rolloutId: string, ids: readonly string[]): Promise<void> {
    const latest = await this.context.records.rollouts.get(rolloutId);
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
      ids.map((id) => this.context.driverFor(this.byId.get(id) as Location).apply(id, target(id)))
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
      const source = this.context.healthFor(this.byId.get(id) as Location);
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
      this.context.environment.locations.map((l) => l.id),
      () => ({ stable: rollout.release, weight: 0 })
    );
    const saved = await this.save(
      rollout,
      { status: 'completed', waiting: {} },
      'completed: the release is stable everywhere'
    );
    await this.publish(saved, 'completed', `${rollout.release} is stable everywhere`);
    await this.finish(rollout, 'completed');
    return `rollout ${rollout.rolloutId} completed: ${rollout.release} is stable everywhere`;
  }

  /**
   * Returns every touched location to what it served before, in one pass; while a step is
   * being applied, its wave's locations too (a crashed pass may have moved them already).
   */
  async rollBack(
    rollout: Rollout,
    status: 'rolled-back' | 'aborted',
    reason: string,
    options: { readonly untouched?: boolean } = {}
  ): Promise<string> {
    const wave = this.waves[rollout.wave];
    // Smoke checks run before a wave's locations are recorded as touched: they got nothing.
    const returned =
      rollout.phase === 'applying' && wave && !options.untouched
        ? [...new Set([...rollout.touched, ...wave.locations])]
        : rollout.touched;
    await this.applyEverywhere(returned, (id) => ({
      stable: rollout.previous[id] as string,
      weight: 0,
    }));
    const saved = await this.save(rollout, { status, reason, waiting: {} }, `${status}: ${reason}`);
    await this.publish(saved, status, reason, returned);
    await this.finish(rollout, `${status}: ${reason}`);
    return `rollout ${rollout.rolloutId} ${status}: ${reason}; back on stable at ${returned.join(', ') || 'no location'}`;
  }

  private async finish(rollout: Rollout, outcome: string): Promise<void> {
    await this.context.records.rollouts.releaseActive(rollout.rolloutId);
    await this.context.records.audit.append({
      at: this.iso(),
      by: this.context.actor,
      action: 'rollout',
      outcome,
      detail: { rolloutId: rollout.rolloutId, release: rollout.release },
    });
  }

  /** Tells `events` of a transition; a failure to tell is reported, never thrown. */
  async publish(
    rollout: Rollout,
    kind: RolloutEventKind,
    detail: string,
    locations?: readonly string[]
  ): Promise<void> {
    const { events } = this.context;
    if (!events) return;
    try {
      await events.publish({
        kind,
        environment: this.context.environment.name,
        rolloutId: rollout.rolloutId,
        release: rollout.release,
        at: this.iso(),
        detail,
        ...(locations && locations.length > 0 ? { locations } : {}),
        version: rollout.version,
      });
    } catch (err) {
      this.context.onEventError?.(err);
    }
  }

  /** Saves a change with an entry in the rollout's history; fenced by version. */
  async save(rollout: Rollout, change: Partial<Rollout>, event: string): Promise<Rollout> {
    const next: Rollout = {
      ...rollout,
      ...change,
      version: rollout.version + 1,
      updatedAt: this.iso(),
      history: [...rollout.history, { at: this.iso(), event }].slice(-100),
    };
    await this.context.records.rollouts.save(next);
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
    await this.context.records.rollouts.save(next);
    return next;
  }
}
