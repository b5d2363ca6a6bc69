import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Release } from '../../core/manifest';
import { Records } from '../../core/records';
import { type HeartbeatRecord, locationHeartbeat } from '../../core/records/heartbeats';
import { keys } from '../../core/records/keys';
import { RouteTable } from '../../functions/shared/route-table';
import type { LoadedRelease } from '../../lib/satellite/function-host';
import { PullAgent } from '../../lib/satellite/pull-agent';
import { ReleaseStats } from '../../lib/satellite/stats';
import { testTableClient } from '../support/handlers';
import { createTestTable } from '../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

describe('the pull agent', () => {
  const client = testTableClient();
  let tableName: string;
  let drop: () => Promise<void>;
  let fetched: string[];
  let loaded: string[];
  let unloaded: string[];

  const put = (Item: Record<string, unknown>) =>
    client.send(new PutCommand({ TableName: tableName, Item }));
  /** What a deploy writes: the staged record, and the newest staged id on the registration. */
  const stage = async (releaseId: string, stagedAt: string) => {
    await put({ ...keys.stagedRelease('sat1', releaseId), releaseId, stagedAt });
    await put({ ...keys.location('sat1'), kind: 'on-prem', latestStaged: releaseId });
  };
  const desire = (desired: { stable: string; candidate?: string; weight: number }) =>
    put({ ...keys.desiredTraffic('sat1'), ...desired, updatedAt: new Date().toISOString() });
  const agent = (intervalMs = 1000, records = new Records(client, tableName)) =>
    new PullAgent({
      records,
      locationId: 'sat1',
      intervalMs,
      stats: new ReleaseStats(),
      artifacts: {
        fetch: async (releaseId) => {
          fetched.push(releaseId);
          return { dir: `/releases/${releaseId}`, manifest: { releaseId } } as unknown as Release;
        },
      },
      load: (release): LoadedRelease => {
        loaded.push(release.manifest.releaseId);
        return {
          releaseId: release.manifest.releaseId,
          dir: release.dir,
          routes: new RouteTable([]),
          functions: new Map(),
        };
      },
      unload: (release) => unloaded.push(release.releaseId),
    });

  beforeEach(async () => {
    ({ tableName, drop } = await createTestTable());
    fetched = [];
    loaded = [];
    unloaded = [];
    await stage(R1, '2026-11-25T10:00:00Z');
    await desire({ stable: R1, weight: 0 });
  });
  afterEach(() => drop());

  it('serves after its first pull without waiting for its heartbeat, which later pulls and stop wait for', async () => {
    const records = new Records(client, tableName);
    const write = records.heartbeats.write.bind(records.heartbeats);
    let letWrite = () => {};
    const held = new Promise<void>((resolve) => {
      letWrite = resolve;
    });
    const writes: string[] = [];
    (records.heartbeats as { write: typeof write }).write = async (hb) => {
      writes.push(`writing ${hb.instanceId}`);
      await held;
      await write(hb);
      writes.push('written');
    };
    const a = agent(20, records);
    await a.firstPull();
    expect(a.current().stable.releaseId).toBe(R1);
    expect(writes).not.toContain('written');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(writes).toEqual([expect.stringMatching(/^writing /)]);
    a.start();
    // Several intervals: no pull starts while the first one's heartbeat is still writing.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(writes).toHaveLength(1);
    let stopped = false;
    const stopping = a.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    letWrite();
    await stopping;
    expect(writes).toEqual([expect.stringMatching(/^writing /), 'written']);
    expect((await records.heartbeats.get('sat1'))?.stable).toBe(R1);
  });

  it('fails its first pull when there is nothing to serve', async () => {
    await client.send(
      new DeleteCommand({ TableName: tableName, Key: keys.desiredTraffic('sat1') })
    );
    await client.send(new DeleteCommand({ TableName: tableName, Key: keys.location('sat1') }));
    await expect(agent().firstPull()).rejects.toThrow(
      'location sat1 has nothing to serve: no desired state, and no release staged for it'
    );
  });

  it('loads the newest staged release before a rollout asks for it, so the switch loads nothing', async () => {
    const a = agent();
    await a.tick();
    expect(loaded).toEqual([R1]);
    await stage(R2, '2026-11-25T11:00:00Z');
    await a.tick();
    await a.stop(); // waits for the preload, which runs beside the pulls
    expect(loaded).toEqual([R1, R2]);
    expect(a.current().candidate).toBeUndefined();

    await desire({ stable: R1, candidate: R2, weight: 0.5 });
    await a.tick();
    expect(loaded).toEqual([R1, R2]);
    expect(fetched).toEqual([R1, R2]);
    expect(a.current()).toMatchObject({
      stable: { releaseId: R1 },
      candidate: { releaseId: R2 },
      weight: 0.5,
    });
  });

  it('adopts the release the last deploy staged, once, when the location has never served', async () => {
    await client.send(
      new DeleteCommand({ TableName: tableName, Key: keys.desiredTraffic('sat1') })
    );
    await stage(R2, '2026-11-25T11:00:00Z');
    const a = agent();
    await a.tick();
    expect(a.current()).toMatchObject({ stable: { releaseId: R2 }, weight: 0 });
    const desired = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.desiredTraffic('sat1') })
    );
    expect(desired.Item).toMatchObject({ stable: R2, weight: 0 });
    // From then on only the orchestrator moves it: a later deploy changes nothing served.
    await stage(R1, '2026-11-25T12:00:00Z');
    await a.tick();
    expect(a.current().stable.releaseId).toBe(R2);
  });

  it('pulls again after half an interval when it switched, so the gates see the new split sooner', async () => {
    const a = agent();
    await a.tick();
    expect(a.nextPullInMs).toBe(500);
    await a.tick();
    expect(a.nextPullInMs).toBe(1000);
    await stage(R2, '2026-11-25T11:00:00Z');
    await desire({ stable: R1, candidate: R2, weight: 0.25 });
    await a.tick();
    expect(a.nextPullInMs).toBe(500);
    await a.tick();
    expect(a.nextPullInMs).toBe(1000);
    const hb = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.heartbeat('sat1') })
    );
    expect(locationHeartbeat(hb.Item)).toMatchObject({ stable: R1, candidate: R2, weight: 0.25 });
  });

  it('pulls at once when asked (as on SIGHUP), not at the next interval', async () => {
    const a = agent(3_600_000);
    await a.tick();
    a.start();
    await stage(R2, '2026-11-25T11:00:00Z');
    await desire({ stable: R1, candidate: R2, weight: 1 });
    a.pullNow();
    a.pullNow(); // while that pull runs: one more after it, not two at once
    for (let i = 0; i < 100 && a.current().candidate === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await a.stop();
    expect(a.current()).toMatchObject({ candidate: { releaseId: R2 }, weight: 1 });
  });

  it('keeps one heartbeat entry per host, so that hosts of a location never overwrite each other', async () => {
    const onHost = (instanceId: string, table: DynamoDBDocumentClient = client) =>
      new PullAgent({
        records: new Records(table, tableName),
        locationId: 'sat1',
        instanceId,
        stats: new ReleaseStats(),
        artifacts: {
          fetch: async (releaseId) => ({ dir: '/r', manifest: { releaseId } }) as never,
        },
        load: (release) => ({
          releaseId: release.manifest.releaseId,
          dir: release.dir,
          routes: new RouteTable([]),
          functions: new Map(),
        }),
      });
    // The race on a location's first heartbeat, forced: host-b creates the map between
    // host-a's failed update and its own attempt to create it.
    const b = onHost('host-b');
    let raced = false;
    const racing = {
      send: async (command: { input: { UpdateExpression?: string } }) => {
        if (!raced && command.input.UpdateExpression?.startsWith('SET #instances = ')) {
          raced = true;
          await b.tick();
        }
        return client.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const a = onHost('host-a', racing);
    await a.tick();
    expect(raced).toBe(true);
    const item = (
      await client.send(new GetCommand({ TableName: tableName, Key: keys.heartbeat('sat1') }))
    ).Item as HeartbeatRecord;
    expect(
      Object.values(item.instances)
        .map((e) => e.instanceId)
        .sort()
    ).toEqual(['host-a', 'host-b']);
    expect(locationHeartbeat(item)).toMatchObject({
      stable: R1,
      hosts: [expect.anything(), expect.anything()],
    });
  });

  it('keeps serving and reporting when preloading a staged release fails', async () => {
    const errors: unknown[] = [];
    const a = new PullAgent({
      records: new Records(client, tableName),
      locationId: 'sat1',
      stats: new ReleaseStats(),
      artifacts: {
        fetch: async (releaseId) => {
          if (releaseId === R2) throw new Error('the bucket is unreachable');
          return { dir: '/r', manifest: { releaseId } } as unknown as Release;
        },
      },
      load: (release) => ({
        releaseId: release.manifest.releaseId,
        dir: release.dir,
        routes: new RouteTable([]),
        functions: new Map(),
      }),
      onError: (err) => errors.push(err),
    });
    await stage(R2, '2026-11-25T11:00:00Z');
    await a.tick();
    await a.stop();
    await a.tick();
    await a.stop();
    expect(a.current().stable.releaseId).toBe(R1);
    // Reported once, not at every pull, and never at the cost of a heartbeat.
    expect(errors.map((e) => (e as Error).message)).toEqual([
      `cannot preload staged release ${R2}: the bucket is unreachable`,
    ]);
    const hb = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.heartbeat('sat1') })
    );
    expect(locationHeartbeat(hb.Item)).toMatchObject({ stable: R1 });
  });

  it('unloads releases that are neither served nor the newest staged one', async () => {
    const R3 = 'r-3333333333333333';
    const a = agent();
    await stage(R2, '2026-11-25T11:00:00Z');
    await desire({ stable: R1, candidate: R2, weight: 0.5 });
    await a.tick();
    await desire({ stable: R2, weight: 0 });
    await a.tick();
    expect(unloaded).toEqual([R1]);
    await stage(R3, '2026-11-25T12:00:00Z');
    await a.tick();
    await a.stop();
    expect(loaded).toEqual([R1, R2, R3]);
    await desire({ stable: R2, weight: 0 });
    await stage(R1, '2026-11-25T13:00:00Z');
    await a.tick();
    await a.stop();
    await a.tick();
    // R3 was preloaded, then a newer staging (R1 again) took its place: R3 goes.
    expect(unloaded).toEqual([R1, R3]);
  });
});

describe('unloadRelease', () => {
  it("removes a release's modules from Node's module cache, and only its own", () => {
    const root = mkdtempSync(path.join(tmpdir(), 'orbit-unload-'));
    for (const id of [R1, R2]) {
      mkdirSync(path.join(root, id, 'health'), { recursive: true });
      writeFileSync(path.join(root, id, 'health', 'index.js'), 'exports.handler = () => 1;');
    }
    // In a plain Node process: jest keeps a module registry of its own.
    const script = `
      const path = require('node:path');
      const { unloadRelease } = require(${JSON.stringify(path.join(__dirname, '../../lib/satellite/function-host.ts'))});
      const root = ${JSON.stringify(root)};
      const file = (id) => path.join(root, id, 'health', 'index.js');
      require(file('${R1}'));
      require(file('${R2}'));
      unloadRelease({ releaseId: '${R1}', dir: path.join(root, '${R1}') });
      console.log(JSON.stringify([file('${R1}') in require.cache, file('${R2}') in require.cache]));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: path.join(__dirname, '..', '..'),
    });
    expect(JSON.parse(out.toString())).toEqual([false, true]);
  });
});
