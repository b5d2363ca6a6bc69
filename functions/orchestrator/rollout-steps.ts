import type { Environment, Location, RolloutEventKind } from '../../core/environment/schema';
import type { Records } from '../../core/records';
import type { Baseline, LocationEvidence, Rollout } from '../../core/records/rollouts';
import { ConflictError } from '../../core/records/table';
import { clockTime, type GateVerdict, gatesOf, judge, silence } from './gates';
import { batchesOf } from './plan';
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

const NO_COUNTS: Baseline = { requests: 0, errors5xx: 0 };

/** The evidence of each verdict, as the rollout record keeps it. */
function evidenceOf(verdicts: ReadonlyMap<string, GateVerdict>): Record<string, LocationEvidence> {
  const out: Record<string, LocationEvidence> = {};
  for (const [id, v] of verdicts) {
    if (!v.evidence) continue;
    out[id] = {
      verdict: v.verdict,
      ...(v.verdict !== 'pass' ? { why: v.why } : {}),
      ...(v.verdict === 'breach' ? { rule: v.rule } : {}),
      ...(v.verdict === 'breach' && v.confidencePercent !== undefined
        ? { confidencePercent: v.confidencePercent }
        : {}),
      candidate: v.evidence.candidate,
      ...(v.evidence.stable ? { stable: v.evidence.stable } : {}),
      ...(v.dryRun ? { dryRun: v.dryRun } : {}),
    };
  }
  return out;
}

const sameEvidence = (
  a: Rollout['evidence'],
  b: Readonly<Record<string, LocationEvidence>>
): boolean => JSON.stringify(a ?? {}) === JSON.stringify(b);

/** The entries of `evidence` for `ids`. */
const pick = (
  evidence: Readonly<Record<string, LocationEvidence>>,
  ids: readonly string[]
): Record<string, LocationEvidence> =>
  Object.fromEntries(ids.flatMap((id) => (evidence[id] ? [[id, evidence[id]]] : [])));

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
  /** Events published in this pass and not yet delivered. */
  private readonly sending: Promise<void>[] = [];
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

  /** The wave's locations at the current step: its current batch, less those returned to stable. */
  private currentBatch(rollout: Rollout): string[] {
    const wave = this.waves[rollout.wave];
    if (!wave) return [];
    const breached = new Set(rollout.breached ?? []);
    return (batchesOf(wave)[rollout.batch ?? 0] ?? []).filter((id) => !breached.has(id));
  }

  /** The wave a location belongs to. */
  private waveOf(id: string): Wave | undefined {
    return this.waves.find((w) => w.locations.includes(id));
  }

  /** The step after the current one: the next step of the batch, the next batch, the next wave. */
  private nextStep(rollout: Rollout): { wave: number; batch: number; step: number } | undefined {
    const wave = this.waves[rollout.wave];
    if (!wave) return undefined;
    const batch = rollout.batch ?? 0;
    if (rollout.step + 1 < wave.steps.length)
      return { wave: rollout.wave, batch, step: rollout.step + 1 };
    if (batch + 1 < batchesOf(wave).length)
      return { wave: rollout.wave, batch: batch + 1, step: 0 };
    return this.waves[rollout.wave + 1] ? { wave: rollout.wave + 1, batch: 0, step: 0 } : undefined;
  }

  /** At most one step of a rollout; `waitingOn` gets the locations whose evidence it awaits. */
  async step(rollout: Rollout, waitingOn: string[]): Promise<string | undefined> {
    if (rollout.status !== 'running') return undefined;
    const wave = this.waves[rollout.wave];
    if (!wave) return this.complete(rollout);
    if (rollout.phase === 'applying') return this.apply(rollout, waitingOn);

    const now = this.context.now();
    const breached = new Set(rollout.breached ?? []);
    const judged = rollout.touched.filter((id) => !breached.has(id));
    const verdicts = await this.verdicts(rollout, judged, now);
    const current = this.currentBatch(rollout);
    const evidence = { ...rollout.evidence, ...evidenceOf(verdicts) };
    const waiting: Record<string, string> = {};
    const breaches: string[] = [];
    for (const id of judged) {
      const verdict = verdicts.get(id) as GateVerdict;
      if (verdict.verdict === 'breach') breaches.push(id);
      else if (verdict.verdict === 'wait' && current.includes(id)) waiting[id] = verdict.why;
    }
    if (breaches.length > 0) return this.breach(rollout, breaches, verdicts, evidence);
    // The record says `baking until …` from the pass that applied the step.
    if (now < rollout.bakeUntilMs) {
      if (!sameEvidence(rollout.evidence, evidence)) await this.note(rollout, { evidence });
      return undefined;
    }
    if (Object.keys(waiting).length > 0) return this.wait(rollout, waiting, waitingOn, evidence);
    const next = this.nextStep(rollout);
    if (!next) return this.complete(rollout, evidence);
    const batched = batchesOf(this.waves[next.wave] as Wave).length > 1;
    const advanced = await this.save(
      rollout,
      { ...next, phase: 'applying', evidence },
      `advance to wave ${next.wave}${batched ? ` batch ${next.batch}` : ''} step ${next.step}`,
      pick(evidence, current)
    );
    return this.apply(advanced, waitingOn);
  }

  /**
   * Locations that breached: each is returned to stable at once; the rollout rolls everything
   * back when a wave's tolerance is exceeded — more than `maxBreachedPercent` of the wave's
   * judged locations, once at least `minJudged` are judged (by default any breach).
   */
  private async breach(
    rollout: Rollout,
    ids: readonly string[],
    verdicts: ReadonlyMap<string, GateVerdict>,
    evidence: Readonly<Record<string, LocationEvidence>>
  ): Promise<string> {
    const why = (id: string) => (verdicts.get(id) as { why: string }).why;
    const breached = [...(rollout.breached ?? []), ...ids];
    for (const id of ids) {
      const wave = this.waveOf(id);
      if (!wave) continue;
      const inWave = rollout.touched.filter((t) => wave.locations.includes(t));
      const judged = inWave.filter(
        (t) => breached.includes(t) || verdicts.get(t)?.verdict === 'pass'
      ).length;
      const broken = breached.filter((t) => wave.locations.includes(t)).length;
      if (judged >= wave.minJudged && (100 * broken) / judged > wave.maxBreachedPercent) {
        const tolerance =
          wave.maxBreachedPercent > 0
            ? ` (${broken} of ${judged} judged in wave ${wave.name}, more than ${wave.maxBreachedPercent}%)`
            : '';
        const reason = `gate breached at ${id}: ${why(id)}${tolerance}`;
        await this.publish(rollout, 'breached', reason, ids);
        return this.rollBack(rollout, 'rolled-back', reason, { evidence });
      }
    }
    // Within tolerance: only the breached locations go back, at once.
    await this.applyEverywhere(ids, (id) => ({
      stable: rollout.previous[id] as string,
      weight: 0,
    }));
    const detail = ids.map((id) => `${id}: ${why(id)}`).join('; ');
    const saved = await this.save(
      rollout,
      { breached, evidence },
      `returned to stable within the wave's tolerance: ${detail}`,
      pick(evidence, ids)
    );
    await this.publish(saved, 'breached', detail, ids);
    return `rollout ${rollout.rolloutId}: ${ids.join(', ')} returned to stable (${detail})`;
  }

  /**
   * A baked step whose gates lack evidence: records what it waits for, until `maxWaitMinutes`
   * after the bake; then the step is `inconclusive`, and the gates' `onInconclusive` decides:
   * pause or roll back.
   */
  private async wait(
    rollout: Rollout,
    waiting: Readonly<Record<string, string>>,
    waitingOn: string[],
    evidence: Readonly<Record<string, LocationEvidence>>
  ): Promise<string | undefined> {
    const { maxWaitMinutes, onInconclusive } = gatesOf(
      this.context.environment,
      this.waves[rollout.wave]
    );
    if (this.context.now() >= rollout.bakeUntilMs + maxWaitMinutes * 60_000) {
      const reason = `${Object.values(waiting).join('; ')} (waited ${maxWaitMinutes} min after the bake)`;
      await this.publish(rollout, 'inconclusive', reason, Object.keys(waiting));
      const judged = { ...rollout, evidence };
      return onInconclusive === 'rollback'
        ? this.rollBack(judged, 'rolled-back', `inconclusive: ${reason}`, { evidence })
        : this.pause(
            judged,
            `inconclusive: ${reason}`,
            waiting,
            pick(evidence, Object.keys(waiting))
          );
    }
    waitingOn.push(...Object.keys(waiting));
    // Written only when it changes, and outside the history: it is a status, not an event.
    if (!sameWaits(rollout.waiting, waiting) || !sameEvidence(rollout.evidence, evidence)) {
      await this.note(rollout, { waiting, evidence });
    }
    return undefined;
  }

  /** Pauses the rollout on its own, saying why, in the record and in the audit log. */
  private async pause(
    rollout: Rollout,
    reason: string,
    waiting: Readonly<Record<string, string>>,
    evidence?: Readonly<Record<string, LocationEvidence>>
  ): Promise<string> {
    const saved = await this.save(
      rollout,
      {
        status: 'paused',
        reason,
        waiting,
        ...(rollout.evidence ? { evidence: rollout.evidence } : {}),
      },
      `paused: ${reason}`,
      evidence
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
    const samples = await this.samples(ids, rollout);
    const drains = await records.drains.reasons(
      ids,
      await this.functionsOfRelease(rollout.release)
    );
    const silent = ids.filter((id) => !samples.get(id)?.fresh && !drains.has(id));
    const reports = silent.length > 0 ? await records.heartbeats.lastReports(silent) : new Map();
    const current = new Set(this.currentBatch(rollout));
    const wave = this.waves[rollout.wave];
    // Locations of the current batch are at its step's weight; all others already at 100%.
    const weightOf = (id: string) =>
      current.has(id) ? (wave?.steps[rollout.step] ?? 100) / 100 : 1;
    return new Map(
      ids.map((id) => {
        const drained = drains.get(id);
        const lastReportMs = reports.get(id);
        const gates = gatesOf(this.context.environment, this.waveOf(id));
        return [
          id,
          judge(samples.get(id) as HealthSample, rollout.baseline[id] ?? NO_COUNTS, gates, {
            locationId: id,
            nowMs,
            weight: weightOf(id),
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
    const batch = this.currentBatch(rollout);
    const label =
      batchesOf(wave).length > 1 ? `${wave.name} batch ${(rollout.batch ?? 0) + 1}` : wave.name;
    const samples = await this.samples(batch, rollout);
    if (rollout.step === 0) {
      const stale = batch.filter((id) => !samples.get(id)?.fresh);
      if (stale.length > 0) {
        const reports = await this.context.records.heartbeats.lastReports(stale);
        const waiting = Object.fromEntries(
          stale.map((id) => [id, silence(id, reports.get(id), now)])
        );
        const reason = `wave ${label} not started: ${Object.values(waiting).join('; ')}`;
        return this.pause(rollout, reason, waiting);
      }
    }
    const fresh = batch.filter((id) => !rollout.touched.includes(id));
    if (
      this.context.smoke &&
      this.context.environment.rollout.smoke.length > 0 &&
      fresh.length > 0
    ) {
      // A drained location refuses the smoke checks too: the wave waits for it, as gates do.
      const drained = await this.context.records.drains.reasons(
        fresh,
        await this.functionsOfRelease(rollout.release)
      );
      if (drained.size > 0) {
        const waiting = Object.fromEntries(drained);
        const reason = `wave ${label} not started: smoke checks cannot run while ${[...drained.values()].join('; ')}`;
        return this.pause(rollout, reason, waiting);
      }
    }
    const smoked = await this.smokeChecks(rollout, fresh);
    if (smoked?.failed) return this.stopBeforeTraffic(rollout, smoked.failed);
    // Overlapping passes are fenced by the rollout's version. The locations are recorded as
    // touched before traffic moves, so a pass that rolls back meanwhile returns them too.
    const touched = [...new Set([...rollout.touched, ...batch])];
    let current = rollout;
    if (touched.length > rollout.touched.length) {
      const passed = smoked ? ` (smoke checks passed: ${smoked.passed})` : '';
      current = await this.save(
        rollout,
        { touched },
        `wave ${label}: moving to ${percent}%${passed}`
      );
    }
    await this.applyEverywhere(batch, (id) => ({
      stable: rollout.previous[id] as string,
      candidate: rollout.release,
      weight: percent / 100,
    }));
    const baseline: Record<string, Baseline> = { ...rollout.baseline };
    for (const id of batch) {
      const sample = samples.get(id) as HealthSample;
      baseline[id] = {
        requests: sample.requests,
        errors5xx: sample.errors5xx,
        ...(sample.stable
          ? { stableRequests: sample.stable.requests, stableErrors5xx: sample.stable.errors5xx }
          : {}),
      };
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
          waiting: Object.fromEntries(batch.map((id) => [id, awaits])),
        },
        `wave ${label} at ${percent}%`
      );
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      await this.undoIfEnded(current.rolloutId, batch);
      throw err;
    }
    await this.publish(baking, 'step', `wave ${label} at ${percent}%`, batch);
    if (wave.bakeMinutes === 0) waitingOn.push(...batch);
    return `rollout ${rollout.rolloutId}: wave ${label} (${batch.join(', ')}) at ${percent}%`;
  }

  /**
   * Runs the smoke checks at locations about to get their first candidate traffic; returns
   * every result in words and what failed, or `undefined` when none are configured.
   */
  private async smokeChecks(
    rollout: Rollout,
    ids: readonly string[]
  ): Promise<
    | {
        readonly failed?: { readonly reason: string; readonly at: readonly string[] };
        readonly passed: string;
      }
    | undefined
  > {
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
    const passed = results
      .flatMap(({ id, results: r }) => r.map((x) => `${id}: ${x.check}: ${x.detail}`))
      .join('; ');
    if (failures.length === 0) return { passed };
    return {
      passed,
      failed: {
        reason: `smoke checks failed before any traffic: ${failures.map((f) => f.text).join('; ')}`,
        at: [...new Set(failures.map((f) => f.id))],
      },
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
    rollout: Rollout
  ): Promise<Map<string, HealthSample>> {
    const { release } = rollout;
    // Each location's stable release is sampled beside the candidate: gates compare the two.
    const stableOf = (id: string) => rollout.previous[id];
    const bySource = new Map<HealthSource, string[]>();
    for (const id of ids) {
      const source = this.context.healthFor(this.byId.get(id) as Location);
      bySource.set(source, [...(bySource.get(source) ?? []), id]);
    }
    const all = new Map<string, HealthSample>();
    for (const [source, group] of bySource) {
      if (source.sampleMany) {
        for (const [id, sample] of await source.sampleMany(group, release, stableOf)) {
          all.set(id, sample);
        }
      } else {
        for (const id of group) all.set(id, await source.sample(id, release, stableOf(id)));
      }
    }
    return all;
  }

  /**
   * Makes the release stable everywhere, except at locations the waves' tolerance returned to
   * stable: they keep what they served, and the outcome names them.
   */
  private async complete(
    rollout: Rollout,
    evidence?: Readonly<Record<string, LocationEvidence>>
  ): Promise<string> {
    const breached = new Set(rollout.breached ?? []);
    await this.applyEverywhere(
      this.context.environment.locations.map((l) => l.id).filter((id) => !breached.has(id)),
      () => ({ stable: rollout.release, weight: 0 })
    );
    const where =
      breached.size === 0
        ? 'the release is stable everywhere'
        : `the release is stable everywhere but at ${[...breached].join(', ')} (returned to stable)`;
    const saved = await this.save(
      rollout,
      { status: 'completed', waiting: {}, ...(evidence ? { evidence } : {}) },
      `completed: ${where}`,
      evidence
    );
    await this.publish(saved, 'completed', `${rollout.release}: ${where}`);
    await this.finish(rollout, breached.size === 0 ? 'completed' : `completed: ${where}`);
    return `rollout ${rollout.rolloutId} completed: ${rollout.release} is stable everywhere${breached.size === 0 ? '' : ` but at ${[...breached].join(', ')}`}`;
  }

  /**
   * Returns every touched location to what it served before, in one pass; while a step is
   * being applied, its wave's locations too (a crashed pass may have moved them already).
   */
  async rollBack(
    rollout: Rollout,
    status: 'rolled-back' | 'aborted',
    reason: string,
    options: {
      readonly untouched?: boolean;
      readonly evidence?: Readonly<Record<string, LocationEvidence>>;
    } = {}
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
    const saved = await this.save(
      rollout,
      { status, reason, waiting: {}, ...(options.evidence ? { evidence: options.evidence } : {}) },
      `${status}: ${reason}`,
      options.evidence
    );
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
    // Sent beside the pass, not in its way: a slow webhook must not hold the next decision.
    // The pass waits for all of them once, at its end (see `flushEvents`).
    const sending = events
      .publish({
        kind,
        environment: this.context.environment.name,
        rolloutId: rollout.rolloutId,
        release: rollout.release,
        at: this.iso(),
        detail,
        ...(locations && locations.length > 0 ? { locations } : {}),
        version: rollout.version,
      })
      .catch((err: unknown) => this.context.onEventError?.(err));
    this.sending.push(sending);
  }

  /**
   * Waits for every event this pass published (in parallel, so a pass's delay is its
   * slowest notification, not their sum); failures were reported as they happened.
   */
  async flushEvents(): Promise<void> {
    const sending = this.sending.splice(0);
    await Promise.all(sending);
  }

  /** Saves a change with an entry in the rollout's history; fenced by version. */
  async save(
    rollout: Rollout,
    change: Partial<Rollout>,
    event: string,
    evidence?: Readonly<Record<string, LocationEvidence>>
  ): Promise<Rollout> {
    const entry = {
      at: this.iso(),
      event,
      ...(evidence && Object.keys(evidence).length > 0 ? { evidence } : {}),
    };
    const next: Rollout = {
      ...rollout,
      ...change,
      version: rollout.version + 1,
      updatedAt: this.iso(),
      history: [...rollout.history, entry].slice(-100),
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
