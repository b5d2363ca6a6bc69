import type { Environment } from '../../core/environment/schema';
import type { Records } from '../../core/records';
import type { AuditEntry } from '../../core/records/audit';
import type { Finding } from '../../core/records/findings';
import { isStale } from '../../core/records/heartbeats';
import type { Command, Intent } from '../../core/records/intents';
import type { LocationEvidence, Rollout } from '../../core/records/rollouts';
import { batchesOf, planRollout, rolloutProblem } from '../../functions/orchestrator/plan';
import { presenceIn } from '../../functions/orchestrator/presence';
import type { Painter } from './colour';
import { age, table } from './format';
import type {
  AuditOutput,
  CommandOutput,
  FindingOutput,
  GovernanceOutput,
  PlanOutput,
  RolloutStatusOutput,
  StageOutput,
  StatusOutput,
} from './schemas';
import type { Target } from './target';

/**
 * What a command prints: text for people, data for `--json` (its shape is the command's
 * schema in `schemas.ts`, published in `schemas/`).
 */
export interface Output<T = unknown> {
  readonly text: string;
  readonly data: T;
}

/** Leaves text as it is: the painter of output that is not a terminal. */
const plain: Painter = (text) => text;

/** A function drained fleet-wide, as `status` shows it. */
interface FunctionDrain {
  readonly function: string;
  readonly reason?: string;
  readonly by?: string;
  readonly at?: string;
}

/** The functions of every staged release that are drained fleet-wide. */
async function functionDrains(t: Target): Promise<FunctionDrain[]> {
  const { records } = t;
  const names = await records.stagedReleases.knownFunctions(
    t.environment.locations.map((l) => l.id)
  );
  const drained = await records.drains.drainedFunctions(names, { consistent: true });
  return drained.map(({ name, record }) => ({
    function: name,
    reason: record.reason,
    by: record.by,
    at: record.at,
  }));
}

/**
 * The fleet at a glance: what each location serves, its health, heartbeat and findings, the
 * functions drained fleet-wide, and on the local fleet how often each runtime was restarted.
 */
export async function status(t: Target, paint: Painter = plain): Promise<Output<StatusOutput>> {
  const now = Date.now();
  const [allFindings, drainedFunctions, runtimes, links] = await Promise.all([
    t.records.findings.list(),
    functionDrains(t),
    t.runtimes?.(),
    t.links?.(),
  ]);
  // Local only: a location whose link `orbit fault disconnect` cut.
  const cutOff = new Set((links ?? []).filter((l) => !l.connected).map((l) => l.location));
  const findings = allFindings.filter((f) => !f.resolved);
  const restartsOf = (id: string) => runtimes?.find((r) => r.location === id)?.restarts ?? null;
  const rows = await Promise.all(
    t.environment.locations.map(async (l) => {
      const [desired, hb, drain] = await Promise.all([
        t.records.desired.get(l.id, { consistent: true }),
        t.records.heartbeats.get(l.id),
        t.records.drains.location(l.id, { consistent: true }),
      ]);
      const health = drain?.drained
        ? 'drained'
        : cutOff.has(l.id)
          ? 'cut-off'
          : !hb
            ? 'unknown'
            : isStale(hb, now)
              ? 'stale'
              : 'ok';
      return {
        location: l.id,
        kind: l.kind,
        stable: desired?.stable ?? null,
        candidate: desired?.candidate ?? null,
        weight: desired?.candidate ? Number(desired.weight) : 0,
        health,
        heartbeatAt: hb ? new Date(hb.atMs).toISOString() : null,
        heartbeatMs: hb?.atMs,
        findings: findings.filter((f) => f.subject === l.id).length,
        // Local only: how often the fleet restarted the runtime (null when it cannot say).
        ...(t.local ? { restarts: restartsOf(l.id) } : {}),
      } as const;
    })
  );
  const active = await t.records.rollouts.activeId();
  const text = [
    table(
      [
        ...['location', 'kind', 'stable', 'candidate', 'weight', 'health', 'heartbeat', 'findings'],
        ...(t.local ? ['restarts'] : []),
      ],
      rows.map((r) => [
        r.location,
        r.kind,
        r.stable ?? '-',
        r.candidate ?? '-',
        `${Math.round(r.weight * 100)}%`,
        r.health,
        age(r.heartbeatMs, now),
        String(r.findings),
        ...(t.local ? [String(r.restarts ?? '-')] : []),
      ]),
      { columns: ['health'], paint }
    ),
    '',
    ...drainedFunctions.map(
      (d) =>
        `function ${d.function} drained fleet-wide${d.reason ? `: ${d.reason}` : ''}${d.by ? ` (by ${d.by}${d.at ? ` at ${d.at}` : ''})` : ''}`
    ),
    active ? `active rollout: ${active}` : 'no active rollout',
  ].join('\n');
  return {
    text,
    data: {
      locations: rows.map(({ heartbeatMs: _, ...row }) => row),
      drainedFunctions,
      activeRollout: active ?? null,
    },
  };
}

/** What `rollout plan` reads: the environment, and the records where it can check staging. */
export interface PlanSource {
  readonly environment: Environment;
  /**
   * The fleet's records, to check where the release is staged. @default - none: the plan is
   * configuration only (an AWS environment: no credentials asked for)
   */
  readonly records?: Records;
}

/**
 * What a rollout of `release` would do, before anything moves. With records (a local fleet),
 * a release staged nowhere has no plan (it is an error saying so), and one that `rollout
 * start` would refuse for another reason (staged at some locations only, stable everywhere
 * already) gets its plan and the reason. Without records it is pure configuration: the
 * waves, steps and gates the environment defines, staging not checked.
 */
export async function plan(t: PlanSource, release: string): Promise<Output<PlanOutput>> {
  let problem: string | undefined;
  if (t.records) {
    const presence = await presenceIn(t.records, t.environment, release);
    problem = rolloutProblem(t.environment, release, presence);
    if (presence.stagedAt.length === 0) {
      throw new Error(
        problem ??
          `release ${release} is staged at no location of ${t.environment.name}; deploy it first`
      );
    }
  }
  const p = planRollout(t.environment, release);
  const text = [
    `rollout plan for ${release} in ${t.environment.name}: ${p.totalSteps} steps, at least ${p.minimumMinutes} min of bake`,
    '',
    table(
      ['wave', 'locations', 'batches', 'steps', 'bake', 'share', 'cumulative'],
      p.waves.map((w) => [
        w.name,
        w.locations.length > 6
          ? `${w.locations.slice(0, 3).join(', ')}, … (${w.locations.length})`
          : w.locations.join(', '),
        w.batches.length > 1 ? w.batches.map((b) => b.length).join(' + ') : 'all at once',
        w.steps.map((s) => `${s}%`).join(' → '),
        `${w.bakeMinutes} min`,
        `${w.shareOfFleet}%`,
        `${w.cumulativeShare}%`,
      ])
    ),
    '',
    `gates: error rate ≤ ${p.gates.maxErrorRatePercent}%, p99 ≤ ${p.gates.maxP99LatencyMs} ms, at least ${p.gates.minRequests} requests per location and step`,
    `compared with stable in the same window: ${p.gates.compare.confidencePercent}% confidence, at least ${p.gates.compare.minStableRequests} stable requests, p99 ≤ ${p.gates.compare.maxP99Ratio}× stable's${p.gates.dryRun.length > 0 ? `; dry run: ${p.gates.dryRun.join(', ')}` : ''}`,
    ...(p.waves.some((w) => w.batches.length > 1)
      ? [`batches go through every step of their wave before the next batch starts`]
      : []),
    ...(t.records
      ? []
      : [
          `staging not checked: a plan from the configuration of ${t.environment.name} only (rollout start checks where the release is staged)`,
        ]),
    ...(problem ? ['', `rollout start would be rejected: ${problem}`] : []),
  ].join('\n');
  // Percentages become fractions (0.5, not 50), as weights are everywhere in --json.
  const fractionOf = (percent: number) => Math.round(percent * 10) / 1000;
  return {
    text,
    data: {
      release,
      environment: t.environment.name,
      waves: p.waves.map((w) => ({
        name: w.name,
        locations: [...w.locations],
        batches: w.batches.map((b) => [...b]),
        steps: w.steps.map((s) => s / 100),
        bakeMinutes: w.bakeMinutes,
        shareOfFleet: fractionOf(w.shareOfFleet),
        cumulativeShare: fractionOf(w.cumulativeShare),
      })),
      totalSteps: p.totalSteps,
      minimumMinutes: p.minimumMinutes,
      gates: p.gates,
      staging: t.records ? 'checked' : 'not-checked',
      problem: problem ?? null,
    },
  };
}

/**
 * Records a command, wakes the orchestrator and waits (up to `waitMs`) for it to execute the
 * command; a rejected command is an error with the orchestrator's reason. A failed wake is
 * told to `warn` at once (the command stands; the next scheduled pass runs it).
 */
export async function submit(
  t: Target,
  command: Command,
  waitMs = 30_000,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)
): Promise<Output<CommandOutput> & { readonly intent: Intent }> {
  const intent = await t.records.intents.submit(command, t.actor);
  // The intent is recorded either way: a failed wake only delays it to the next scheduled pass.
  const notWoken = await t.wake().then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err.message : String(err))
  );
  if (notWoken) {
    warn(
      `orbit: ${command.command} is recorded, but the orchestrator could not be woken (${notWoken}); its next scheduled pass runs it`
    );
  }
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const now = await t.records.intents.get(intent);
    if (now && now.status !== 'pending') {
      if (now.status === 'rejected') throw new Error(`${command.command} rejected: ${now.outcome}`);
      return { text: now.outcome ?? 'done', data: commandOutputOf(now), intent: now };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const why = notWoken
    ? ` (it could not be woken: ${notWoken}; its next scheduled pass runs it)`
    : '';
  return {
    text: `${command.command} recorded as intent ${intent.intentId}; the orchestrator has not run it yet${why}`,
    data: commandOutputOf(intent),
    intent,
  };
}

/** An intent as `--json` shows it: what was asked, by whom, and what came of it; no table keys. */
function commandOutputOf(intent: Intent): CommandOutput {
  const { pk: _pk, sk: _sk, outcome, status, ...asked } = intent;
  return { ...asked, status: status === 'done' ? 'done' : 'pending', outcome: outcome ?? null };
}

const figures = (f: { requests: number; errorRatePercent: number; p99Ms: number } | undefined) =>
  f ? [String(f.requests), `${f.errorRatePercent}%`, `${f.p99Ms} ms`] : ['-', '-', '-'];

/**
 * A rollout as `--json` shows it: positions named (the wave, its step's weight as a fraction),
 * times as ISO strings, no table keys and none of the orchestrator's bookkeeping (its lock
 * version, the counters a step started from).
 */
export function rolloutOutputOf(
  environment: Environment,
  rollout: Rollout
): NonNullable<RolloutStatusOutput> {
  const waves = environment.rollout.waves;
  const wave = waves[rollout.wave];
  const stepPercent = wave?.steps[rollout.step];
  return {
    rolloutId: rollout.rolloutId,
    release: rollout.release,
    status: rollout.status,
    reason: rollout.reason ?? null,
    wave:
      wave && stepPercent !== undefined
        ? {
            index: rollout.wave,
            name: wave.name,
            of: waves.length,
            step: rollout.step,
            weight: stepPercent / 100,
            batch: rollout.batch ?? 0,
            batches: batchesOf(wave).length,
          }
        : null,
    phase: rollout.phase,
    bakeUntil:
      rollout.phase === 'baking' && rollout.bakeUntilMs > 0
        ? new Date(rollout.bakeUntilMs).toISOString()
        : null,
    previous: { ...rollout.previous },
    touched: [...rollout.touched],
    breached: [...(rollout.breached ?? [])],
    waiting: { ...rollout.waiting },
    evidence: { ...rollout.evidence } as Record<string, LocationEvidence>,
    createdBy: rollout.createdBy,
    createdAt: rollout.createdAt,
    updatedAt: rollout.updatedAt,
    history: rollout.history.map((h) => ({
      at: h.at,
      event: h.event,
      ...(h.evidence ? { evidence: { ...h.evidence } } : {}),
    })),
  } as NonNullable<RolloutStatusOutput>;
}

/**
 * A rollout's progress and evidence: the active one (or the latest), or the one named. Per
 * location of the current wave: candidate and stable requests, error rates and p99s over the
 * step, the verdict with the rule that decided and its confidence, and what it waits for.
 * A finished rollout is explained by its history, which keeps the evidence each step was
 * decided on.
 */
export async function rolloutStatus(
  t: Target,
  rolloutId?: string,
  paint: Painter = plain
): Promise<Output<RolloutStatusOutput>> {
  const rollout: Rollout | undefined = rolloutId
    ? await t.records.rollouts.get(rolloutId)
    : ((await t.records.rollouts.active()) ?? (await t.records.rollouts.list(1))[0]);
  if (!rollout) {
    if (rolloutId) throw new Error(`no rollout ${rolloutId} in ${t.environment.name}`);
    return { text: 'no rollout yet', data: null };
  }
  const wave = t.environment.rollout.waves[rollout.wave];
  const batches = wave ? batchesOf(wave) : [];
  const batch = batches.length > 1 ? `, batch ${(rollout.batch ?? 0) + 1}/${batches.length}` : '';
  const where = wave
    ? `wave ${wave.name} (${rollout.wave + 1}/${t.environment.rollout.waves.length}${batch}), step ${wave.steps[rollout.step]}%`
    : 'all waves done';
  const now = Date.now();
  const bake =
    rollout.status === 'running' && rollout.phase === 'baking' && rollout.bakeUntilMs > now
      ? `; bake ends in ${Math.ceil((rollout.bakeUntilMs - now) / 1000)} s`
      : '';
  const evidence = rollout.evidence ?? {};
  const shown = Object.keys(evidence).filter(
    (id) => !wave || wave.locations.includes(id) || !rollout.touched.includes(id)
  );
  const rows = shown.map((id) => {
    const e = evidence[id] as LocationEvidence;
    const verdict =
      e.verdict === 'breach'
        ? `breach (${e.rule}${e.confidencePercent !== undefined ? `, ${e.confidencePercent}% sure` : ''})`
        : e.verdict;
    return [id, ...figures(e.candidate), ...figures(e.stable), verdict];
  });
  const breached = rollout.breached ?? [];
  const text = [
    `rollout ${rollout.rolloutId} of ${rollout.release}: ${paint(rollout.status)}${rollout.reason ? ` (${rollout.reason})` : ''}`,
    `${where}; touched: ${rollout.touched.join(', ') || 'none'}${bake}`,
    ...(breached.length > 0 ? [`returned to stable: ${breached.join(', ')}`] : []),
    ...(rows.length > 0
      ? [
          '',
          table(
            ['location', 'candidate', 'errors', 'p99', 'stable', 'errors', 'p99', 'verdict'],
            rows,
            { columns: ['verdict'], paint }
          ),
        ]
      : []),
    // What the current step waits for, per location: a step never waits without a reason.
    ...Object.entries(rollout.waiting ?? {}).map(([id, why]) => `  waits for ${id}: ${why}`),
    ...shown.flatMap((id) => (evidence[id]?.dryRun ?? []).map((d) => `  dry run at ${id}: ${d}`)),
    ...(rows.length > 0 ? [''] : []),
    ...rollout.history.slice(-5).map((h) => `  ${h.at}  ${h.event}`),
  ].join('\n');
  return { text, data: rolloutOutputOf(t.environment, rollout) };
}

/** A finding as `--json` shows it: without its table key. */
const findingOutputOf = (
  f: Finding & { readonly sk?: string; readonly pk?: string }
): FindingOutput => {
  const { sk: _sk, pk: _pk, ...finding } = f;
  return finding;
};

/** What the governance jobs found, open ones first. */
export async function findings(t: Target): Promise<Output<FindingOutput[]>> {
  const all = await t.records.findings.list();
  const text =
    all.length === 0
      ? 'no findings'
      : table(
          ['job', 'subject', 'severity', 'state', 'first seen', 'last seen', 'message'],
          all.map((f) => [
            f.job,
            f.subject,
            f.severity,
            f.resolved ? 'resolved' : 'open',
            f.firstSeen,
            f.lastSeen,
            f.message,
          ])
        );
  return { text, data: all.map(findingOutputOf) };
}

/**
 * Runs the governance jobs now, by asking the control plane (the orchestrator function in
 * AWS, the running local fleet) for the run its schedule makes, so that a run on demand
 * checks exactly what the scheduled one does, with the same wiring.
 */
export async function governance(t: Target): Promise<Output<GovernanceOutput>> {
  const open = await t.governance();
  const found = await findings(t);
  return {
    text:
      open === 0
        ? 'governance: no open findings'
        : `governance: ${open} open finding(s)\n${found.text}`,
    data: { openFindings: open, findings: found.data.filter((f) => !f.resolved) },
  };
}

/** Who did what, when, with what outcome: the newest `limit` entries of the audit log. */
export async function audit(t: Target, limit = 30): Promise<Output<AuditOutput>> {
  const entries = await t.records.audit.latest(limit);
  return {
    text:
      entries.length === 0
        ? 'no audit entries'
        : table(
            ['at', 'by', 'action', 'outcome'],
            entries.map((e) => [e.at, e.by, e.action, e.outcome])
          ),
    data: entries.map(({ at, by, action, outcome, detail }: AuditEntry): AuditOutput[number] => ({
      at,
      by,
      action,
      outcome,
      ...(detail === undefined ? {} : { detail: { ...detail } }),
    })),
  };
}

/**
 * Local fleet only: builds a release from `functions/` (or takes one built earlier) and
 * stages it at every location, as `cdk deploy` does in AWS. Nothing moves traffic. The
 * release build (esbuild) and the fleet's code load only here.
 */
export async function stage(t: Target, releaseDir?: string): Promise<Output<StageOutput>> {
  if (!t.local) throw new Error('in AWS, cdk deploy stages releases; stage is for the local fleet');
  const [{ loadRelease }, { buildRelease }, { stageEverywhere }] = await Promise.all([
    import('../../core/manifest'),
    import('../release/build'),
    import('../local/fleet'),
  ]);
  const release = releaseDir ? loadRelease(releaseDir) : await buildRelease();
  await stageEverywhere(t.environment, t.records, release.manifest.releaseId, release.manifest);
  return {
    text: `staged ${release.manifest.releaseId} at ${t.environment.locations.length} locations; roll it out with: npx orbit rollout start ${release.manifest.releaseId}`,
    data: {
      release: release.manifest.releaseId,
      locations: t.environment.locations.map((l) => l.id),
      functions: release.manifest.functions.map((f) => ({
        name: f.name,
        bytes: f.bytes,
        sha256: f.sha256,
      })),
    },
  };
}
