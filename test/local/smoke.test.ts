import type { Release } from '../../core/manifest';
import { tableNameOf } from '../../core/names';
import { Records } from '../../core/records';
import type { Rollout } from '../../core/records/rollouts';
import { createTableClient } from '../../core/records/table';
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
      smoke: [{ path: '/health', expectJson: { status: 'ok', 'table.ok': true } }],
    },
  },
  'smoke'
);

/** Keeps every location busy with /health requests, noting which release answered each. */
function generateTraffic(fleet: LocalFleet) {
  let running = true;
  const answeredBy = new Set<string>();
  const loops = fleet.locations.map(async (l) => {
    while (running) {
      await fetch(`${l.url}health`).then(
        async (r) => {
          answeredBy.add(r.headers.get('x-orbit-release') ?? '-');
          await r.arrayBuffer();
        },
        () => undefined
      );
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  return {
    answeredBy,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 40_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('smoke checks before traffic, on the local fleet', () => {
  let fleet: LocalFleet;
  let release: Release;
  let traffic: ReturnType<typeof generateTraffic>;
  let records: Records;
  let client: ReturnType<typeof createTableClient> | undefined;
  const cli = () => commandsFor(fleet);
  const ended = async (release: string) => {
    let latest: Rollout | undefined;
    await until(`the rollout of ${release} to end`, async () => {
      latest = (await cli().rolloutStatus()).data as unknown as Rollout;
      return latest?.release === release && latest.status !== 'running';
    });
    return latest as Rollout;
  };

  beforeAll(async () => {
    release = await buildRelease();
    fleet = await startLocalFleet({
      environment,
      basePort: 0,
      release,
      pullIntervalSeconds: 0.5,
      reconcileIntervalSeconds: 0.5,
    });
    client = createTableClient({ region: environment.homeRegion, endpoint: fleet.storeEndpoint });
    records = new Records(client, tableNameOf(environment));
    traffic = generateTraffic(fleet);
  });
  afterAll(async () => {
    await traffic?.stop();
    client?.destroy();
    await fleet?.stop();
  });

  it('rolls out a release whose smoke checks pass to 100% everywhere', async () => {
    const good = 'r-0000000000005001';
    await cli().stage(releaseVariant(release, good));
    await cli().submit({ command: 'start', release: good });
    expect((await ended(good)).status).toBe('completed');
  });

  it('stops a candidate that fails its smoke check before any user request reaches it', async () => {
    const bad = 'r-000000000000bad5';
    // It answers, but unhealthy: only the smoke check's expectJson can tell.
    await cli().stage(
      releaseVariant(release, bad, {
        file: 'functions/health/index.js',
        code: 'exports.handler=async()=>({statusCode:200,headers:{"content-type":"application/json"},body:JSON.stringify({status:"degraded",table:{ok:false}})});',
      })
    );
    const before = await records.desired.get('lab', { consistent: true });
    await cli().submit({ command: 'start', release: bad });
    const rollout = await ended(bad);

    expect(rollout.status).toBe('rolled-back');
    expect(rollout.reason).toBe(
      'smoke checks failed before any traffic: lab: GET /health: status: expected "ok", got "degraded"; table.ok: expected true, got false'
    );
    expect(rollout.history.map((h) => h.event)).toContainEqual(
      expect.stringContaining('smoke checks failed before any traffic: lab: GET /health')
    );
    expect(rollout.touched).toEqual([]);
    // The desired traffic never named the candidate: not even written again.
    expect(await records.desired.get('lab', { consistent: true })).toEqual(before);
    expect(traffic.answeredBy.has(bad)).toBe(false);
  });
});
