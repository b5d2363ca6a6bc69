import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { FleetRecords } from '../../functions/orchestrator/fleet-records';
import { listFindings, runGovernance } from '../../functions/orchestrator/governance';
import type { Command, Rollout } from '../../functions/orchestrator/model';
import { planRollout, rolloutProblem } from '../../functions/orchestrator/plan';
import { keys } from '../../functions/shared/keys';
import { stageEverywhere } from '../local/fleet';
import { buildRelease } from '../release/build';
import { loadRelease } from '../release/manifest';
import { isStale, locationHeartbeat } from '../satellite/records';
import { age, table } from './format';
import type { Target } from './target';

/** What a command prints: text for people, data for `--json`. */
export interface Output {
  readonly text: string;
  readonly data: unknown;
}

const get = async (t: Target, Key: { pk: string; sk: string }) =>
  (await t.table.send(new GetCommand({ TableName: t.tableName, Key, ConsistentRead: true }))).Item;

/** A function drained fleet-wide, as `status` shows it. */
interface FunctionDrain {
  readonly function: string;
  readonly reason?: string;
  readonly by?: string;
  readonly at?: string;
}

/** The functions of every staged release that are drained fleet-wide. */
async function functionDrains(t: Target): Promise<FunctionDrain[]> {
  const records = new FleetRecords(t.table, t.tableName);
  const names = await records.knownFunctions(t.environment.locations.map((l) => l.id));
  const items = await Promise.all(names.map((name) => get(t, keys.functionDrain(name))));
  return names.flatMap((name, i) => {
    const item = items[i];
    if (item?.drained !== true) return [];
    return [
      {
        function: name,
        reason: item.reason as string | undefined,
        by: item.by as string | undefined,
        at: item.at as string | undefined,
      },
    ];
  });
}

/**
 * The fleet at a glance: what each location serves, its health, heartbeat and findings, the
 * functions drained fleet-wide, and on the local fleet how often each runtime was restarted.
 */
export async function status(t: Target): Promise<Output> {
  const now = Date.now();
  const [allFindings, drainedFunctions, runtimes] = await Promise.all([
    listFindings(t.table, t.tableName),
    functionDrains(t),
    t.runtimes?.(),
  ]);
  const findings = allFindings.filter((f) => !f.resolved);
  const restartsOf = (id: string) => runtimes?.find((r) => r.location === id)?.restarts ?? null;
  const rows = await Promise.all(
    t.environment.locations.map(async (l) => {
      const [desired, hb, drain] = await Promise.all([
        get(t, keys.desiredTraffic(l.id)),
        get(t, keys.heartbeat(l.id)).then(locationHeartbeat),
        get(t, keys.locationDrain(l.id)),
      ]);
      const health = drain?.drained
        ? 'drained'
        : !hb
          ? 'unknown'
          : isStale(hb, now)
            ? 'stale'
            : 'ok';
      return {
        location: l.id,
        kind: l.kind,
        stable: (desired?.stable as string | undefined) ?? '-',
        candidate: (desired?.candidate as string | undefined) ?? '-',
        weight: desired?.candidate ? `${Math.round(Number(desired.weight) * 100)}%` : '0%',
        health,
        heartbeat: age(hb?.atMs, now),
        findings: findings.filter((f) => f.subject === l.id).length,
        // Local only: how often the fleet restarted the runtime (null when it cannot say).
        ...(t.local ? { restarts: restartsOf(l.id) } : {}),
      };
    })
  );
  const active = await t.store.activeRolloutId();
  const text = [
    table(
      [
        ...['location', 'kind', 'stable', 'candidate', 'weight', 'health', 'heartbeat', 'findings'],
        ...(t.local ? ['restarts'] : []),
      ],
      rows.map((r) => [
        r.location,
        r.kind,
        r.stable,
        r.candidate,
        r.weight,
        r.health,
        r.heartbeat,
        String(r.findings),
        ...(t.local ? [String(r.restarts ?? '-')] : []),
      ])
    ),
    '',
    ...drainedFunctions.map(
      (d) =>
        `function ${d.function} drained fleet-wide${d.reason ? `: ${d.reason}` : ''}${d.by ? ` (by ${d.by}${d.at ? ` at ${d.at}` : ''})` : ''}`
    ),
    active ? `active rollout: ${active}` : 'no active rollout',
  ].join('\n');
  return { text, data: { locations: rows, drainedFunctions, activeRollout: active ?? null } };
}

/**
 * What a rollout of `release` would do, before anything moves. A release staged nowhere has
 * no plan (it is an error saying so); one that `rollout start` would refuse for another
 * reason (staged at some locations only, stable everywhere already) gets its plan and the
 * reason.
 */
export async function plan(t: Target, release: string): Promise<Output> {
  const presence = await new FleetRecords(t.table, t.tableName).presence(t.environment, release);
  const problem = rolloutProblem(t.environment, release, presence);
  if (presence.stagedAt.length === 0) {
    throw new Error(
      problem ??
        `release ${release} is staged at no location of ${t.environment.name}; deploy it first`
    );
  }
  const p = planRollout(t.environment, release);
  const text = [
    `rollout plan for ${release} in ${t.environment.name}: ${p.totalSteps} steps, at least ${p.minimumMinutes} min of bake`,
    '',
    table(
      ['wave', 'locations', 'steps', 'bake', 'share', 'cumulative'],
      p.waves.map((w) => [
        w.name,
        w.locations.join(', '),
        w.steps.map((s) => `${s}%`).join(' → '),
        `${w.bakeMinutes} min`,
        `${w.shareOfFleet}%`,
        `${w.cumulativeShare}%`,
      ])
    ),
    '',
    `gates: error rate ≤ ${p.gates.maxErrorRatePercent}%, p99 ≤ ${p.gates.maxP99LatencyMs} ms, at least ${p.gates.minRequests} requests per location and step`,
    ...(problem ? ['', `rollout start would be rejected: ${problem}`] : []),
  ].join('\n');
  return { text, data: { ...p, ...(problem ? { problem } : {}) } };
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
): Promise<Output> {
  const intent = await t.store.submit(command, t.actor);
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
    const now = await t.store.intent(intent);
    if (now && now.status !== 'pending') {
      if (now.status === 'rejected') throw new Error(`${command.command} rejected: ${now.outcome}`);
      return { text: now.outcome ?? 'done', data: now };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const why = notWoken
    ? ` (it could not be woken: ${notWoken}; its next scheduled pass runs it)`
    : '';
  return {
    text: `${command.command} recorded as intent ${intent.intentId}; the orchestrator has not run it yet${why}`,
    data: intent,
  };
}

/** The active (or latest) rollout's progress. */
export async function rolloutStatus(t: Target): Promise<Output> {
  const id = await t.store.activeRolloutId();
  const rollout: Rollout | undefined = id
    ? await t.store.rollout(id)
    : (await t.store.rollouts(1))[0];
  if (!rollout) return { text: 'no rollout yet', data: null };
  const wave = t.environment.rollout.waves[rollout.wave];
  const where = wave
    ? `wave ${wave.name} (${rollout.wave + 1}/${t.environment.rollout.waves.length}), step ${wave.steps[rollout.step]}%`
    : 'all waves done';
  const text = [
    `rollout ${rollout.rolloutId} of ${rollout.release}: ${rollout.status}${rollout.reason ? ` (${rollout.reason})` : ''}`,
    `${where}; touched: ${rollout.touched.join(', ') || 'none'}`,
    // What the current step waits for, per location: a step never waits without a reason.
    ...Object.entries(rollout.waiting ?? {}).map(([id, why]) => `  waits for ${id}: ${why}`),
    ...rollout.history.slice(-5).map((h) => `  ${h.at}  ${h.event}`),
  ].join('\n');
  return { text, data: rollout };
}

export async function findings(t: Target): Promise<Output> {
  const all = await listFindings(t.table, t.tableName);
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
  return { text, data: all };
}

export async function governance(t: Target): Promise<Output> {
  const open = await runGovernance({
    environment: t.environment,
    table: t.table,
    tableName: t.tableName,
    reporting: t.environment.locations
      .filter((l) => t.local || l.kind !== 'region')
      .map((l) => l.id),
  });
  return {
    text:
      open.length === 0
        ? 'governance: no open findings'
        : `governance: ${open.length} open finding(s)\n${(await findings(t)).text}`,
    data: open,
  };
}

export async function audit(t: Target, limit = 30): Promise<Output> {
  const entries = await t.store.auditLog(limit);
  return {
    text:
      entries.length === 0
        ? 'no audit entries'
        : table(
            ['at', 'by', 'action', 'outcome'],
            entries.map((e) => [e.at, e.by, e.action, e.outcome])
          ),
    data: entries,
  };
}

/**
 * Local fleet only: builds a release from `functions/` (or takes one built earlier) and
 * stages it at every location, as `cdk deploy` does in AWS. Nothing moves traffic.
 */
export async function stage(t: Target, releaseDir?: string): Promise<Output> {
  if (!t.local) throw new Error('in AWS, cdk deploy stages releases; stage is for the local fleet');
  const release = releaseDir ? loadRelease(releaseDir) : await buildRelease();
  await stageEverywhere(t.environment, t.table, release.manifest.releaseId, release.manifest);
  return {
    text: `staged ${release.manifest.releaseId} at ${t.environment.locations.length} locations; roll it out with: npx orbit rollout start ${release.manifest.releaseId}`,
    data: release.manifest,
  };
}
