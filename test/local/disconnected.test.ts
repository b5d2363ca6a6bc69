import type { Release } from '../../core/manifest';
import { Records } from '../../core/records';
import { answersIn, heartbeatEntries, sumTotals } from '../../core/records/heartbeats';
import { createTableClient } from '../../core/records/table';
import { parseEnvironment } from '../../lib/config/load';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import { buildRelease } from '../../lib/release/build';
import { commandsFor } from '../support/cli';
import { releaseVariant } from '../support/release-variant';
import { twoLocationInput, until } from './environments';

/**
 * A satellite losing its link, rehearsed on the local fleet: `orbit fault disconnect` cuts one
 * location's proxies to the store and the issuer (README, "Disconnected operation").
 */
describe('a location cut off from the control plane, on the local fleet', () => {
  const input = twoLocationInput('disconnect');
  const environment = parseEnvironment(
    {
      ...input,
      rollout: {
        waves: [
          { name: 'canary', locations: ['lab'], steps: [50, 100], bakeMinutes: 0 },
          { name: 'rest', locations: ['us-east-1'], bakeMinutes: 0 },
        ],
        // A step waits at most 6 s for evidence, then pauses: the rehearsal stays short.
        gates: { minRequests: 5, maxWaitMinutes: 0.1, onInconclusive: 'pause' },
      },
    },
    "'disconnect'"
  );
  let fleet: LocalFleet;
  let release: Release;
  let records: Records;
  const url = (id: string) => fleet.locations.find((l) => l.id === id)?.url as string;
  const auth = () => ({ authorization: `Bearer ${fleet.token}` });
  /** What the store holds for `id`: every process's totals added up, per release. */
  const storedTotals = async (id: string) =>
    sumTotals(heartbeatEntries(await records.heartbeats.record(id)));
  /** Every answer `id` gave with the release, evidence or not (offline, drained). */
  const requestsOf = async (id: string, releaseId: string) =>
    answersIn((await storedTotals(id))[releaseId]);

  beforeAll(async () => {
    release = await buildRelease();
    fleet = await startLocalFleet({
      environment,
      basePort: 0,
      release,
      pullIntervalSeconds: 0.5,
      reconcileIntervalSeconds: 0.5,
    });
    records = new Records(
      createTableClient({ region: environment.homeRegion, endpoint: fleet.storeEndpoint }),
      `orbit-${environment.name}`
    );
  });
  afterAll(() => fleet?.stop());
  afterEach(() => {
    for (const l of fleet.locations) fleet.link(l.id, true);
  });

  /** Requests sent to lab by this file: nothing else calls it, so its totals must equal them. */
  let sentToLab = 0;
  const toLab = (path: string, init?: RequestInit) => {
    sentToLab++;
    return fetch(`${url('lab')}${path}`, init);
  };
  const labHealth = async () => (await (await toLab('health')).json()) as { status: string };

  it('keeps serving public and jwt routes, says so in /health, and delivers exact totals on reconnect', async () => {
    const stable = fleet.releaseId;
    // A jwt request before the cut: the runtime fetches (and keeps) the issuer's keys.
    expect((await toLab('items?limit=1', { headers: auth() })).status).toBe(200);
    await until(
      'lab to report what it served',
      async () => (await requestsOf('lab', stable)) === sentToLab
    );
    const before = sentToLab;

    const cut = fleet.link('lab', false);
    expect(cut).toMatchObject({ location: 'lab', connected: false });
    await until(
      'lab /health to say disconnected',
      async () => (await labHealth()).status === 'disconnected'
    );
    const health = await toLab('health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'disconnected',
      connected: false,
      disconnectedSince: expect.any(String),
    });
    // `orbit status` says why lab is silent.
    const rows = (
      (await commandsFor(fleet).status()).data as {
        locations: { location: string; health: string }[];
      }
    ).locations;
    expect(rows.find((r) => r.location === 'lab')?.health).toBe('cut-off');
    expect(rows.find((r) => r.location === 'us-east-1')?.health).toBe('ok');
    for (let i = 0; i < 20; i++) expect((await toLab('health')).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const res = await toLab('items?limit=1', { headers: auth() });
      // The table is out of reach, so items itself may fail (503); the token must not.
      expect([401, 403]).not.toContain(res.status);
      expect(((await res.json()) as { type?: string }).type ?? '').not.toMatch(
        /issuer-unavailable/
      );
    }
    // Nothing reached the store meanwhile.
    expect(await requestsOf('lab', stable)).toBe(before);

    fleet.link('lab', true);
    await until(
      'lab to deliver what it kept',
      async () => (await requestsOf('lab', stable)) === sentToLab
    );
    // Exact: each answer once, none lost, none twice — also after further heartbeats.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await requestsOf('lab', stable)).toBe(sentToLab);
    expect((await records.heartbeats.get('lab'))?.disconnection).toEqual({
      since: expect.any(String),
      until: expect.any(String),
    });

    await fleet.controlPlane.governance();
    const findings = (await records.findings.list()).filter((f) => !f.resolved);
    expect(findings).toContainEqual(
      expect.objectContaining({ job: 'disconnected', subject: 'lab', severity: 'medium' })
    );
  });

  it('pauses a rollout whose location is cut off mid-step, and never rolls it back for it', async () => {
    const next = 'r-0000000000000d01';
    const cli = commandsFor(fleet);
    await cli.stage(releaseVariant(release, next));
    // Traffic enough for the gates: without the cut, the canary step would pass.
    let running = true;
    const traffic = (async () => {
      while (running) {
        await toLab('health').then(
          (r) => r.arrayBuffer(),
          () => undefined
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await cli.submit({ command: 'start', release: next });
      await until(
        'lab to serve the candidate',
        async () => (await records.heartbeats.get('lab'))?.candidate === next
      );
      fleet.link('lab', false);
      await until(
        'the rollout to stop running',
        async () => ((await cli.rolloutStatus()).data as { status: string }).status !== 'running',
        60_000
      );
      const paused = (await cli.rolloutStatus()).data as { status: string; reason: string };
      expect(paused.status).toBe('paused');
      expect(paused.reason).toMatch(/lab/);
      // Lab serves on, its split as it was.
      expect((await toLab('health')).status).toBe(200);
    } finally {
      running = false;
      await traffic;
    }
    fleet.link('lab', true);
    await cli.submit({ command: 'abort' });
    await until(
      'the rollout to end',
      async () => ((await cli.rolloutStatus()).data as { status: string }).status === 'aborted',
      30_000
    );
  });
});
