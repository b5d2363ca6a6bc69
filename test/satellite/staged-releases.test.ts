import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Release } from '../../core/manifest';
import { Records } from '../../core/records';
import { keys } from '../../core/records/keys';
import { type ArtifactSource, LocalArtifactSource } from '../../lib/satellite/artifacts';
import { type LoadedRelease, loadRelease, unloadRelease } from '../../lib/satellite/function-host';
import { PullAgent } from '../../lib/satellite/pull-agent';
import { createRuntimeServer } from '../../lib/satellite/server';
import { StagedReleases } from '../../lib/satellite/staged-releases';
import { ReleaseStats } from '../../lib/satellite/stats';
import { testTableClient } from '../support/handlers';
import { fakeRelease } from '../support/release';
import { createTestTable } from '../support/table';

const HEADER = 'x-orbit-target-release';

/**
 * Smoke tests of staged releases through a real runtime server: the pull agent, its artifact
 * source on disk (bundles checked against their manifest), real module loads.
 */
describe('a staged release named by x-orbit-target-release', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let releasesDir: string;
  /** Release ids by variant (the fake bundles answer `/health` with `health <variant>`). */
  const ids: Record<string, string> = {};
  let fetched: string[];
  let unloaded: string[];
  /** Fetches that never finish, to prove a load is bounded in time. */
  let hanging: Set<string>;
  let agent: PullAgent;
  let server: Server;
  let url: string;

  const put = (Item: Record<string, unknown>) =>
    client.send(new PutCommand({ TableName: table.tableName, Item }));
  const get = (headers: Record<string, string> = {}) =>
    fetch(new URL('/health', url), { headers }).then(async (res) => ({
      status: res.status,
      release: res.headers.get('x-orbit-release'),
      retryAfter: res.headers.get('retry-after'),
      body: await res.text(),
    }));
  const problem = (body: string) => JSON.parse(body) as { type: string; detail: string };

  beforeAll(async () => {
    table = await createTestTable();
    releasesDir = mkdtempSync(path.join(tmpdir(), 'orbit-staged-'));
    for (const variant of ['S', 'T1', 'T2', 'T3', 'BAD', 'SLOW', 'UNSTAGED']) {
      const release = fakeRelease(variant);
      ids[variant] = release.manifest.releaseId;
      cpSync(release.dir, path.join(releasesDir, release.manifest.releaseId), { recursive: true });
      rmSync(release.dir, { recursive: true, force: true });
      if (variant === 'UNSTAGED') continue;
      await put({
        ...keys.stagedRelease('lab', release.manifest.releaseId),
        releaseId: ids[variant],
      });
    }
    appendFileSync(
      path.join(releasesDir, ids.BAD as string, 'functions/health/index.js'),
      '\n// altered'
    );
    // The newest staged release is the stable one: nothing else is preloaded.
    await put({ ...keys.location('lab'), kind: 'on-prem', latestStaged: ids.S });
  });
  afterAll(async () => {
    await table.drop();
    rmSync(releasesDir, { recursive: true, force: true });
  });

  /** A pull agent and its server; `loadTimeoutMs` generous unless a test needs it short. */
  const start = async (loadTimeoutMs = 30_000) => {
    await put({
      ...keys.desiredTraffic('lab'),
      stable: ids.S,
      weight: 0,
      updatedAt: new Date().toISOString(),
    });
    fetched = [];
    unloaded = [];
    hanging = new Set();
    const local = new LocalArtifactSource(releasesDir);
    const artifacts: ArtifactSource = {
      fetch: (releaseId) => {
        fetched.push(releaseId);
        if (hanging.has(releaseId)) return new Promise<Release>(() => undefined);
        return local.fetch(releaseId);
      },
    };
    const stats = new ReleaseStats();
    agent = new PullAgent({
      records: new Records(client, table.tableName),
      locationId: 'lab',
      stats,
      artifacts,
      load: (release) => loadRelease(release, {}),
      unload: (release: LoadedRelease) => {
        unloaded.push(release.releaseId);
        unloadRelease(release);
      },
      stagedLoadTimeoutMs: loadTimeoutMs,
    });
    await agent.tick();
    await agent.stop();
    server = createRuntimeServer({
      traffic: () => agent.current(),
      stats,
      locationId: 'lab',
      onError: () => undefined,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    fetched = [];
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  beforeEach(() => start());
  afterEach(() => stop());

  it('answers from the staged release, loaded on demand, and says so in x-orbit-release', async () => {
    const staged = await get({ [HEADER]: ids.T1 as string });
    expect(staged).toMatchObject({ status: 200, release: ids.T1, body: 'health T1' });
    // Traffic still goes to the stable release.
    expect(await get()).toMatchObject({ status: 200, release: ids.S, body: 'health S' });
    expect(await get({ [HEADER]: 'stable' })).toMatchObject({ release: ids.S });
    expect(fetched).toEqual([ids.T1]);
  });

  it('answers 404 naming a release that is not staged here, even when its bundles are on disk', async () => {
    for (const id of [ids.UNSTAGED as string, 'r-00000000000000ff']) {
      const res = await get({ [HEADER]: id });
      expect(res.status).toBe(404);
      expect(res.release).toBeNull();
      expect(problem(res.body)).toMatchObject({
        type: 'urn:orbit:problem:release-not-staged',
        detail: `release ${id} is not staged at lab`,
      });
    }
    expect(fetched).toEqual([]);
  });

  it('answers 404 when asked for a candidate while the location has none, and 400 for a header naming no release', async () => {
    const candidate = await get({ [HEADER]: 'candidate' });
    expect(candidate.status).toBe(404);
    expect(problem(candidate.body).type).toBe('urn:orbit:problem:no-candidate');
    expect((await get({ [HEADER]: 'newest' })).status).toBe(400);
  });

  it('shares one load between concurrent requests for a release not loaded yet', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => get({ [HEADER]: ids.T2 as string }))
    );
    expect(answers.map((a) => a.body)).toEqual(Array(6).fill('health T2'));
    expect(fetched).toEqual([ids.T2]);
  });

  it('starts one load for any number of requests waiting for the same release', async () => {
    let finish: (release: Release) => void = () => undefined;
    let fetches = 0;
    const staged = new StagedReleases({
      locationId: 'lab',
      isStaged: async () => true,
      fetch: () => {
        fetches += 1;
        return new Promise<Release>((resolve) => {
          finish = resolve;
        });
      },
      load: (release) => ({ releaseId: release.manifest.releaseId }) as LoadedRelease,
      held: () => undefined,
    });
    const waiting = Array.from({ length: 6 }, () => staged.get(ids.T2 as string));
    for (let i = 0; i < 100 && fetches === 0; i++) await new Promise((r) => setImmediate(r));
    expect(fetches).toBe(1);
    finish({ dir: '/x', manifest: { releaseId: ids.T2 } } as Release);
    const loaded = await Promise.all(waiting);
    expect(new Set(loaded).size).toBe(1);
    expect(fetches).toBe(1);
  });

  it('keeps at most two staged releases loaded, letting go of the least recently used', async () => {
    await get({ [HEADER]: ids.T1 as string });
    await get({ [HEADER]: ids.T2 as string });
    await get({ [HEADER]: ids.T1 as string }); // T1 is now the most recently used
    await get({ [HEADER]: ids.T3 as string });
    expect(agent.staged.cached).toEqual([ids.T1, ids.T3]);
    expect(unloaded).toEqual([ids.T2]);
    expect(await get({ [HEADER]: ids.T2 as string })).toMatchObject({ body: 'health T2' });
    expect(fetched).toEqual([ids.T1, ids.T2, ids.T3, ids.T2]);
  });

  it('answers 502 with the reason when the staged release fails its check, and tries again on the next request', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await get({ [HEADER]: ids.BAD as string });
      expect(res.status).toBe(502);
      expect(res.release).toBeNull();
      expect(problem(res.body)).toMatchObject({
        type: 'urn:orbit:problem:release-load-failed',
        detail: expect.stringContaining(`health of ${ids.BAD} does not match its manifest`),
      });
    }
    expect(fetched).toEqual([ids.BAD, ids.BAD]);
  });

  it('answers 503 with Retry-After when a load does not finish within its budget, never hanging', async () => {
    await stop();
    await start(200);
    hanging.add(ids.SLOW as string);
    const [first, second] = await Promise.all([
      get({ [HEADER]: ids.SLOW as string }),
      get({ [HEADER]: ids.SLOW as string }),
    ]);
    for (const res of [first, second]) {
      expect(res).toMatchObject({ status: 503, release: null, retryAfter: '1' });
      expect(problem(res.body).type).toBe('urn:orbit:problem:release-load-timeout');
    }
    expect(new Set(fetched)).toEqual(new Set([ids.SLOW]));
    // Other requests are served meanwhile.
    expect(await get()).toMatchObject({ status: 200, body: 'health S' });
  });

  it('hands a release loaded for smoke tests to the rollout that then asks for it, without loading it again', async () => {
    await get({ [HEADER]: ids.T1 as string });
    await put({
      ...keys.desiredTraffic('lab'),
      stable: ids.S,
      candidate: ids.T1,
      weight: 0.1,
      updatedAt: new Date().toISOString(),
    });
    await agent.tick();
    await agent.stop();
    expect(agent.current().candidate?.releaseId).toBe(ids.T1);
    expect(agent.staged.cached).toEqual([]);
    expect(fetched).toEqual([ids.T1]);
    expect(await get({ [HEADER]: 'candidate' })).toMatchObject({ body: 'health T1' });
  });
});
