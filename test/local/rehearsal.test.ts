import type { Release } from '../../core/manifest';
import { dev } from '../../lib/config/environments/dev';
import { parseEnvironment } from '../../lib/config/load';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import { buildRelease } from '../../lib/release/build';
import { commandsFor } from '../support/cli';
import { releaseVariant } from '../support/release-variant';

const environment = parseEnvironment(
  {
    ...dev,
    rollout: {
      waves: [
        { name: 'canary', locations: ['lab'], steps: [50, 100], bakeMinutes: 0 },
        { name: 'rest', locations: ['us-east-1', 'eu-west-1', 'boston'], bakeMinutes: 0 },
      ],
      gates: { minRequests: 5, maxErrorRatePercent: 1 },
    },
  },
  'rehearsal'
);

/** Keeps every location busy with /health requests, as real clients would. */
function generateTraffic(fleet: LocalFleet) {
  let running = true;
  const loops = fleet.locations.map(async (l) => {
    while (running) {
      await fetch(`${l.url}health`).then(
        (r) => r.arrayBuffer(),
        () => undefined
      );
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const servingAt = async (fleet: LocalFleet) =>
  (await commandsFor(fleet).status()).data as {
    locations: { location: string; stable: string; candidate: string | null; health: string }[];
  };

describe('a rollout rehearsed on the local fleet', () => {
  let fleet: LocalFleet;
  let release: Release;
  let traffic: { stop: () => Promise<void> };
  const basePort = 5200 + Math.floor(Math.random() * 200);
  const cli = () => commandsFor(fleet);

  const serving = () => servingAt(fleet);

  beforeAll(async () => {
    release = await buildRelease();
    fleet = await startLocalFleet({
      environment,
      basePort,
      release,
      pullIntervalSeconds: 0.5,
      reconcileIntervalSeconds: 0.5,
    });
    traffic = generateTraffic(fleet);
  });
  afterAll(async () => {
    await traffic?.stop();
    await fleet?.stop();
  });

  it('completes a good release to 100% everywhere', async () => {
    const good = 'r-0000000000000900';
    await cli().stage(releaseVariant(release, good));
    await cli().submit({ command: 'start', release: good });
    await until('the good release to be stable everywhere', async () =>
      (await serving()).locations.every((l) => l.stable === good && l.candidate === null)
    );
    const latest = (await cli().rolloutStatus()).data as { status: string };
    expect(latest.status).toBe('completed');
  });

  it('rolls every location back to stable when the canary gate breaks', async () => {
    const stable = (await serving()).locations[0]?.stable as string;
    const bad = 'r-0000000000000bad';
    const badDir = releaseVariant(release, bad, {
      file: 'functions/health/index.js',
      code: 'exports.handler=async()=>({statusCode:500,body:"broken"});',
    });
    await cli().stage(badDir);
    await cli().submit({ command: 'start', release: bad });
    await until('the rollout to end', async () => {
      const r = (await cli().rolloutStatus()).data as { status: string; release: string };
      return r.release === bad && r.status !== 'running';
    });
    const ended = (await cli().rolloutStatus()).data as {
      status: string;
      reason: string;
      touched: string[];
    };
    expect(ended.status).toBe('rolled-back');
    expect(ended.reason).toMatch(/^gate breached at lab: error rate/);
    expect(ended.touched).toEqual(['lab']);
    // Within one reconcile interval everything is back on stable, and lab serves it again.
    const locations = (await serving()).locations;
    expect(locations.every((l) => l.stable === stable && l.candidate === null)).toBe(true);
    await until(
      'lab to serve stable again',
      async () =>
        (await fetch(`${fleet.locations.find((l) => l.id === 'lab')?.url}health`)).status === 200,
      5_000
    );
  });

  it('drains a location within seconds and shows it in status', async () => {
    const started = Date.now();
    await cli().submit({ command: 'drain', location: 'boston', reason: 'rehearsal' });
    const boston = fleet.locations.find((l) => l.id === 'boston')?.url as string;
    const auth = { authorization: `Bearer ${fleet.token}` };
    await until(
      'boston to answer 503',
      async () => (await fetch(`${boston}items?limit=1`, { headers: auth })).status === 503,
      15_000
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await serving()).locations.find((l) => l.location === 'boston')?.health).toBe(
      'drained'
    );
    await cli().submit({ command: 'restore', location: 'boston' });
    await until(
      'boston to serve again',
      async () => (await fetch(`${boston}items?limit=1`, { headers: auth })).status === 200,
      15_000
    );
  });
});

describe('event-driven reconcile on the local fleet', () => {
  let fleet: LocalFleet;
  let release: Release;
  let traffic: { stop: () => Promise<void> };

  beforeAll(async () => {
    release = await buildRelease();
    // No scheduled pass within the test: only the CLI's wake and the heartbeats the
    // orchestrator waits for can move the rollout.
    fleet = await startLocalFleet({
      environment,
      basePort: 0,
      release,
      pullIntervalSeconds: 0.5,
      reconcileIntervalSeconds: 3600,
    });
    traffic = generateTraffic(fleet);
  });
  afterAll(async () => {
    await traffic?.stop();
    await fleet?.stop();
  });

  it('completes a rollout without bake driven by commands and heartbeats alone', async () => {
    const cli = commandsFor(fleet);
    const next = 'r-0000000000000a01';
    await cli.stage(releaseVariant(release, next));
    await cli.submit({ command: 'start', release: next });
    await until('the release to be stable everywhere', async () =>
      (await servingAt(fleet)).locations.every((l) => l.stable === next && l.candidate === null)
    );
    expect((await cli.rolloutStatus()).data).toMatchObject({ status: 'completed' });
  });
});
