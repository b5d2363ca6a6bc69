import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadRelease } from '../core/manifest';
import { tableNameOf } from '../core/names';
import { Records } from '../core/records';
import { answersIn, heartbeatEntries, sumTotals } from '../core/records/heartbeats';
import { createTableClient } from '../core/records/table';
import { dev } from '../lib/config/environments/dev';
import { parseEnvironment } from '../lib/config/load';
import { stageEverywhere, startLocalFleet } from '../lib/local/fleet';
import { buildRelease } from '../lib/release/build';
import { releaseVariant } from '../test/support/release-variant';

/**
 * `npx tsx bench/disconnect.ts [--seconds N]`: the local fleet rehearses a satellite losing
 * its uplink during a rollout. Clients keep calling every location (public and `jwt` routes);
 * once the canary (`lab`) serves the candidate, its link to the store and the issuer is cut for
 * N seconds (default 120), then restored. It reports what lab answered while cut off, whether
 * every answer it gave is in its delivered totals (exactly), what the rollout did (it must
 * pause, never roll back, and complete once resumed), and the findings. Exit code 1 when a
 * count is off, the rollout rolled back, or lab stopped answering.
 */

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const CUT_SECONDS = Number(arg('--seconds') ?? 120);
const BASE_PORT = 7600;

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'orbit-disconnect-'));
  const log = (line: string) =>
    console.log(`[disconnect ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const environment = parseEnvironment(
    {
      ...dev,
      rollout: {
        ...dev.rollout,
        waves: dev.rollout.waves.map((w) => ({ ...w, bakeMinutes: 0.25 })),
        // A step waits a minute for evidence: a two-minute cut outlasts it.
        gates: { ...dev.rollout.gates, maxWaitMinutes: 1, onInconclusive: 'pause' },
      },
    },
    'disconnect'
  );
  const r1 = await buildRelease({ outDir: path.join(work, 'releases') });
  const r2 = loadRelease(releaseVariant(r1, 'r-d15c0d15c0d15c01'));
  const fleet = await startLocalFleet({
    environment,
    basePort: BASE_PORT,
    release: r1,
    pullIntervalSeconds: 1,
    reconcileIntervalSeconds: 1,
  });
  const table = createTableClient({
    region: environment.homeRegion,
    endpoint: fleet.storeEndpoint,
  });
  const store = new Records(table, tableNameOf(environment));
  const auth = { authorization: `Bearer ${fleet.token}` };
  const answered = new Map<string, number>();
  const labWhileCut = new Map<string, number>();
  let cut = false;
  let running = true;

  const worker = async (location: { id: string; url: string }, jwt: boolean) => {
    while (running) {
      try {
        const res = await fetch(new URL(jwt ? 'items?limit=1' : 'health', location.url), {
          headers: jwt ? auth : {},
          signal: AbortSignal.timeout(10_000),
        });
        const body = await res.text();
        answered.set(location.id, (answered.get(location.id) ?? 0) + 1);
        if (location.id === 'lab' && cut) {
          const type =
            res.status >= 400 ? ` ${(JSON.parse(body || '{}').type ?? '').split(':').pop()}` : '';
          const key = `${jwt ? 'jwt' : 'public'} ${res.status}${type}`;
          labWhileCut.set(key, (labWhileCut.get(key) ?? 0) + 1);
        }
      } catch {
        // No answer: not counted as served; reported through the totals check.
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const workers = fleet.locations.flatMap((l) => [worker(l, false), worker(l, true)]);

  const rolloutStatus = async () => (await store.rollouts.list(1))[0];
  const waitFor = async (what: string, check: () => Promise<boolean>, seconds: number) => {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    log(`gave up waiting ${seconds} s for ${what}`);
    return false;
  };

  await stageEverywhere(environment, store, r2.manifest.releaseId, r2.manifest);
  await store.intents.submit({ command: 'start', release: r2.manifest.releaseId }, 'rehearsal');
  fleet.wake();
  log(`rollout of ${r2.manifest.releaseId} started`);
  await waitFor(
    'lab to serve the candidate',
    async () => (await store.heartbeats.get('lab'))?.candidate === r2.manifest.releaseId,
    60
  );
  const cutAt = Date.now();
  fleet.link('lab', false);
  cut = true;
  log(`lab cut off for ${CUT_SECONDS} s`);
  let pausedAfterSeconds: number | undefined;
  const watch = (async () => {
    while (cut) {
      const r = await rolloutStatus();
      if (r?.status === 'paused' && pausedAfterSeconds === undefined) {
        pausedAfterSeconds = Math.round((Date.now() - cutAt) / 1000);
        log(`rollout paused: ${r.reason}`);
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  })();
  await new Promise((r) => setTimeout(r, CUT_SECONDS * 1000));
  const labHealth = (await (
    await fetch(new URL('health', fleet.locations.find((l) => l.id === 'lab')?.url))
  ).json()) as {
    status: string;
    disconnectedSince?: string;
  };
  answered.set('lab', (answered.get('lab') ?? 0) + 1);
  cut = false;
  await watch;
  fleet.link('lab', true);
  log('lab reconnected');
  const statusAfterCut = (await rolloutStatus())?.status;

  // Lab's answers and its delivered totals must meet exactly once the load stops.
  running = false;
  await Promise.all(workers);
  const servedByLab = answered.get('lab') ?? 0;
  const delivered = async () =>
    Object.values(sumTotals(heartbeatEntries(await store.heartbeats.record('lab')))).reduce(
      (n, t) => n + answersIn(t),
      0
    );
  await waitFor('lab to deliver its totals', async () => (await delivered()) === servedByLab, 60);
  const deliveredByLab = await delivered();

  await store.intents.submit({ command: 'resume' }, 'rehearsal');
  fleet.wake();
  // Fresh evidence after the resume: light traffic until the rollout ends.
  running = true;
  const again = fleet.locations.map((l) => worker(l, false));
  await waitFor(
    'the rollout to end',
    async () => !['running', 'paused'].includes((await rolloutStatus())?.status ?? ''),
    240
  );
  running = false;
  await Promise.all(again);
  const outcome = (await rolloutStatus())?.status;
  await fleet.controlPlane.governance();
  const findings = (await store.findings.list())
    .filter((f) => f.subject === 'lab')
    .map((f) => `${f.job} ${f.severity}${f.resolved ? ' (resolved)' : ''}: ${f.message}`);
  await fleet.stop();
  table.destroy();
  rmSync(work, { recursive: true, force: true });

  const report = {
    cutSeconds: CUT_SECONDS,
    labHealthWhileCut: labHealth,
    labAnswersWhileCut: Object.fromEntries([...labWhileCut].sort()),
    labAnswered: servedByLab,
    labDeliveredTotals: deliveredByLab,
    totalsExact: servedByLab === deliveredByLab,
    rolloutPausedAfterSeconds: pausedAfterSeconds ?? null,
    rolloutWhenReconnected: statusAfterCut,
    rolloutAfterResume: outcome,
    findings,
  };
  console.log(JSON.stringify(report, null, 2));
  const labAnsweredWhileCut = [...labWhileCut.values()].reduce((a, b) => a + b, 0) > 0;
  if (!report.totalsExact || outcome !== 'completed' || !labAnsweredWhileCut) process.exit(1);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`disconnect: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  }
);
