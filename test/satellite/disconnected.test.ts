import { cpSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Release } from '../../core/manifest';
import { Records } from '../../core/records';
import type { DesiredTraffic } from '../../core/records/desired-traffic';
import { type InstanceHeartbeat, instanceKey } from '../../core/records/heartbeats';
import { keys } from '../../core/records/keys';
import { createTableClient } from '../../core/records/table';
import { RouteTable } from '../../functions/shared/route-table';
import { openLocalReleaseKey } from '../../lib/local/release-key';
import { type StoreProxy, startStoreProxy } from '../../lib/local/store-proxy';
import { LocalArtifactSource } from '../../lib/satellite/artifacts';
import type { LoadedRelease } from '../../lib/satellite/function-host';
import { HeartbeatBuffer } from '../../lib/satellite/heartbeat-buffer';
import { PullAgent } from '../../lib/satellite/pull-agent';
import {
  keptReleaseKey,
  ReleaseVerifier,
  releaseKeyFrom,
} from '../../lib/satellite/release-signature';
import { stateFile } from '../../lib/satellite/state-files';
import { ReleaseStats } from '../../lib/satellite/stats';
import { testTableClient } from '../support/handlers';
import { fakeRelease } from '../support/release';
import { createTestTable, testEndpoint } from '../support/table';

const R1 = 'r-1111111111111111';

/** A heartbeat of one process, with `requests` in its window and `total` since its start. */
const beat = (
  instanceId: string,
  atMs: number,
  requests: number,
  total: number,
  p99Ms = 10
): InstanceHeartbeat => ({
  instanceId,
  locationId: 'sat1',
  at: new Date(atMs).toISOString(),
  atMs,
  intervalSeconds: 1,
  stable: R1,
  weight: 0,
  releases: { [R1]: { requests, errors4xx: 0, errors5xx: 0, p50Ms: 1, p99Ms } },
  totals: { [R1]: { requests: total, errors4xx: 0, errors5xx: 0 } },
  startedAt: '2026-12-02T00:00:00.000Z',
});

describe('the heartbeat buffer', () => {
  it('keeps heartbeats in order and delivers them in that order', async () => {
    const buffer = new HeartbeatBuffer();
    for (let i = 1; i <= 3; i++) buffer.add(beat('h1', i, 1, i));
    const written: number[] = [];
    expect(await buffer.flush(async (hb) => void written.push(hb.atMs))).toBe(3);
    expect(written).toEqual([1, 2, 3]);
    expect(buffer.size).toBe(0);
  });

  it('stays within its capacity by merging the oldest windows of a process, counting every request', () => {
    const buffer = new HeartbeatBuffer({ capacity: 3 });
    for (let i = 1; i <= 10; i++) buffer.add(beat('h1', i, 2, 2 * i, i));
    const kept = buffer.pending();
    expect(kept).toHaveLength(3);
    const windowed = kept.reduce((n, hb) => n + (hb.releases[R1]?.requests ?? 0), 0);
    expect(windowed).toBe(20);
    expect(kept.at(-1)?.totals[R1]?.requests).toBe(20);
    expect(kept.map((hb) => hb.atMs)).toEqual([8, 9, 10]);
    // A merged window is as slow as its slowest part: a gate must not miss it.
    expect(kept[0]?.releases[R1]?.p99Ms).toBe(8);
  });

  it('never merges heartbeats of two processes: each keeps its own totals', () => {
    const buffer = new HeartbeatBuffer({ capacity: 2 });
    buffer.add(beat('h1', 1, 5, 5));
    buffer.add({ ...beat('h1', 2, 7, 7), startedAt: '2026-12-02T00:05:00.000Z' });
    buffer.add({ ...beat('h1', 3, 1, 8), startedAt: '2026-12-02T00:05:00.000Z' });
    const kept = buffer.pending();
    expect(new Set(kept.map(instanceKey)).size).toBe(2);
    expect(kept.map((hb) => hb.totals[R1]?.requests)).toEqual([5, 8]);
  });

  it('stops at the first failed write and keeps the rest, in order, for the next pull', async () => {
    const buffer = new HeartbeatBuffer();
    for (let i = 1; i <= 3; i++) buffer.add(beat('h1', i, 1, i));
    let writes = 0;
    await expect(
      buffer.flush(async () => {
        if (++writes === 2) throw new Error('the table went away again');
      })
    ).rejects.toThrow('went away again');
    expect(buffer.pending().map((hb) => hb.atMs)).toEqual([2, 3]);
  });

  it('keeps its heartbeats in an owner-only file, so a restarted runtime still delivers them', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'orbit-state-')), 'state');
    const file = path.join(dir, 'heartbeats.json');
    new HeartbeatBuffer({ file }).add(beat('h1', 1, 4, 4));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(new HeartbeatBuffer({ file }).pending()).toEqual([beat('h1', 1, 4, 4)]);
  });
});

describe('a satellite cut off from its table', () => {
  let tableName: string;
  let drop: () => Promise<void>;
  let proxy: StoreProxy;
  const direct = testTableClient();

  beforeAll(async () => {
    proxy = await startStoreProxy(Number(new URL(testEndpoint()).port));
  });
  afterAll(() => proxy.stop());
  beforeEach(async () => {
    proxy.up();
    ({ tableName, drop } = await createTestTable());
    const put = (Item: Record<string, unknown>) =>
      direct.send(new PutCommand({ TableName: tableName, Item }));
    await put({ ...keys.stagedRelease('sat1', R1), releaseId: R1, stagedAt: '2026-12-02' });
    await put({ ...keys.location('sat1'), kind: 'on-prem', latestStaged: R1 });
    await put({ ...keys.desiredTraffic('sat1'), stable: R1, weight: 0, updatedAt: '2026-12-02' });
  });
  afterEach(() => drop());

  /** An agent whose table traffic goes through the proxy; the clock is the test's. */
  const agentAt = (
    clock: { ms: number },
    options: { stateFile?: string; instanceId?: string; desiredFile?: string } = {}
  ) => {
    const stats = new ReleaseStats();
    const errors: unknown[] = [];
    const agent = new PullAgent({
      onError: (err) => errors.push(err),
      records: new Records(
        // One attempt: a cut link fails a pull at once instead of after the SDK's retries.
        createTableClient({ region: 'us-east-1', endpoint: proxy.endpoint, maxAttempts: 1 }),
        tableName
      ),
      locationId: 'sat1',
      instanceId: options.instanceId ?? 'host-a',
      intervalMs: 1000,
      now: () => clock.ms,
      stats,
      heartbeatBuffer: new HeartbeatBuffer({ file: options.stateFile }),
      ...(options.desiredFile
        ? { lastDesired: stateFile<DesiredTraffic>(options.desiredFile) }
        : {}),
      artifacts: {
        fetch: async (releaseId) =>
          ({ dir: `/releases/${releaseId}`, manifest: { releaseId } }) as unknown as Release,
      },
      load: (release): LoadedRelease => ({
        releaseId: release.manifest.releaseId,
        dir: release.dir,
        routes: new RouteTable([]),
        functions: new Map(),
      }),
    });
    return { agent, stats, errors };
  };
  const stored = () => new Records(direct, tableName).heartbeats.get('sat1');
  const serve = (stats: ReleaseStats, n: number, status = 200) => {
    for (let i = 0; i < n; i++) stats.record(R1, status, 3);
  };

  it('keeps serving what it holds, reports the link down, and delivers every request it served once the link is back', async () => {
    const clock = { ms: Date.parse('2026-12-02T10:00:00Z') };
    const { agent, stats, errors } = agentAt(clock);
    await agent.tick();
    serve(stats, 5);
    await agent.tick();
    expect((await stored())?.totals[R1]?.requests).toBe(5);

    proxy.down();
    let errorsAtCut = 0;
    for (let i = 0; i < 4; i++) {
      clock.ms += 1000;
      serve(stats, 10, i === 0 ? 503 : 200);
      await agent.tick();
      if (i === 1) errorsAtCut = errors.length;
    }
    expect(agent.current().stable.releaseId).toBe(R1);
    expect(agent.link()).toEqual({ connected: false, since: '2026-12-02T10:00:01.000Z' });
    // Said when the link went down (by that pull, and by a preload the cut broke, if one
    // was on its way), not again at every pull of the disconnection.
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBe(errorsAtCut);
    // Nothing reached the table meanwhile.
    expect((await stored())?.totals[R1]?.requests).toBe(5);

    proxy.up();
    clock.ms += 1000;
    serve(stats, 1);
    await agent.tick();
    expect(agent.link().connected).toBe(true);
    const after = await stored();
    // Answered before the pull noticed the cut: evidence as usual (the 503s are errors); after
    // it, until a pull reached the table again: offline, no evidence either way. 46 in all.
    expect(after?.totals[R1]).toEqual({ requests: 15, errors4xx: 0, errors5xx: 10, offline: 31 });
    expect(after?.disconnection).toEqual({
      since: '2026-12-02T10:00:01.000Z',
      until: '2026-12-02T10:00:05.000Z',
    });
    expect(after?.atMs).toBe(clock.ms);
  });

  it('a runtime restarted while cut off delivers what the process before it served, under that process', async () => {
    const stateFile = path.join(
      mkdtempSync(path.join(tmpdir(), 'orbit-state-')),
      'heartbeats.json'
    );
    const clock = { ms: Date.parse('2026-12-02T11:00:00Z') };
    const first = agentAt(clock, { stateFile });
    await first.agent.tick();
    proxy.down();
    serve(first.stats, 7);
    clock.ms += 1000;
    await first.agent.tick(); // kept in the file; then the process dies
    await first.agent.stop();

    proxy.up();
    clock.ms += 60_000;
    // Its successor starts a second later in wall time: another entry, totals from zero.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = agentAt(clock, { stateFile });
    serve(second.stats, 3);
    await second.agent.tick();
    expect((await stored())?.totals[R1]?.requests).toBe(10);
  });

  it('a runtime started while cut off serves the split it last pulled', async () => {
    const desiredFile = path.join(mkdtempSync(path.join(tmpdir(), 'orbit-state-')), 'desired.json');
    const clock = { ms: Date.parse('2026-12-02T12:00:00Z') };
    const first = agentAt(clock, { desiredFile });
    await first.agent.tick();
    await first.agent.stop();
    expect(statSync(desiredFile).mode & 0o777).toBe(0o600);

    proxy.down();
    const restarted = agentAt(clock, { desiredFile });
    await restarted.agent.tick();
    expect(restarted.agent.current().stable.releaseId).toBe(R1);
    expect(restarted.agent.link().connected).toBe(false);
    // Without the split it last pulled, a start cut off has nothing to serve, and says so.
    await expect(agentAt(clock).agent.tick()).rejects.toThrow();
  });

  it('a runtime started while cut off still verifies the signed releases it holds, with the key and records it kept', async () => {
    const state = mkdtempSync(path.join(tmpdir(), 'orbit-state-'));
    const releasesDir = mkdtempSync(path.join(tmpdir(), 'orbit-signed-'));
    const release = fakeRelease(`offline-${Math.random()}`);
    cpSync(release.dir, path.join(releasesDir, release.manifest.releaseId), { recursive: true });
    const key = openLocalReleaseKey();
    const id = release.manifest.releaseId;
    const records = new Records(direct, tableName);
    await records.stagedReleases.stage({
      locationId: 'sat1',
      releaseId: id,
      manifest: JSON.stringify(release.manifest),
      signature: key.sign('test', release.manifest),
    });
    /** The source a runtime builds: its records through the link, its state kept in `state`. */
    const source = () => {
      const linked = new Records(
        createTableClient({ region: 'us-east-1', endpoint: proxy.endpoint, maxAttempts: 1 }),
        tableName
      );
      const verifier = new ReleaseVerifier({
        environment: 'test',
        key: keptReleaseKey(releaseKeyFrom(key.publicKey), path.join(state, 'release-key.json')),
        records: linked,
        locationId: 'sat1',
        instanceId: 'host-a',
        signedRecordsDir: path.join(state, 'signed-releases'),
        log: () => {},
      });
      return new LocalArtifactSource(releasesDir, verifier);
    };
    expect((await source().fetch(id)).manifest.releaseId).toBe(id);
    proxy.down();
    expect((await source().fetch(id)).manifest.releaseId).toBe(id);
    // What it kept is checked as the record was: a bundle changed meanwhile is refused.
    const bundle = path.join(releasesDir, id, release.manifest.functions[0]?.file as string);
    writeFileSync(bundle, 'exports.handler = async () => "changed while cut off"');
    await expect(source().fetch(id)).rejects.toThrow(/refused/);
  });
});
