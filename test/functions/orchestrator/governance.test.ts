import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import {
  type HeartbeatRecord,
  heartbeatRecord,
  type InstanceHeartbeat,
  locationHeartbeat,
  RETIRED_ENTRY,
} from '../../../core/records/heartbeats';
import { keys } from '../../../core/records/keys';
import { runGovernance } from '../../../functions/orchestrator/governance';
import { loadEnvironment } from '../../../lib/config/load';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

describe('governance jobs', () => {
  const environment = loadEnvironment({ env: 'dev' });
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let now = Date.UTC(2026, 10, 25, 12);
  const put = (item: Record<string, unknown>) =>
    client.send(new PutCommand({ TableName: table.tableName, Item: item }));
  const heartbeat = (id: string, atMs: number, stable = 'r-1111111111111111', weight = 0) =>
    put({
      ...keys.heartbeat(id),
      ...heartbeatRecord({
        instanceId: 'host-1',
        startedAt: '2026-11-25T11:00:00.000Z',
        locationId: id,
        atMs,
        at: new Date(atMs).toISOString(),
        intervalSeconds: 10,
        stable,
        weight,
        releases: {},
        totals: {},
      }),
    });
  const run = () =>
    runGovernance({
      environment,
      records: new Records(client, table.tableName),
      reporting: ['boston', 'lab'],
      now: () => now,
    });

  beforeAll(async () => {
    table = await createTestTable();
    for (const id of ['boston', 'lab']) {
      await put({ ...keys.desiredTraffic(id), stable: 'r-1111111111111111', weight: 0 });
    }
  });
  afterAll(() => table.drop());

  it('finds stale heartbeats and drift, with severity and first/last seen', async () => {
    await heartbeat('boston', now - 60_000);
    await heartbeat('lab', now - 1_000, 'r-2222222222222222');
    const open = await run();
    expect(open).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          job: 'stale-heartbeat',
          subject: 'boston',
          severity: 'high',
          resolved: false,
        }),
        expect.objectContaining({
          job: 'drift',
          subject: 'lab',
          severity: 'medium',
          message: expect.stringContaining('serves r-2222222222222222'),
        }),
      ])
    );
    const first = open.find((f) => f.subject === 'boston')?.firstSeen;
    now += 60_000;
    await heartbeat('lab', now - 1_000, 'r-2222222222222222');
    const again = await run();
    expect(again.find((f) => f.subject === 'boston')).toMatchObject({
      firstSeen: first,
      lastSeen: new Date(now).toISOString(),
    });
  });

  it('marks a finding resolved once it is no longer observed', async () => {
    await heartbeat('boston', now - 1_000);
    await heartbeat('lab', now - 1_000);
    expect(await run()).toEqual([]);
    const all = await new Records(client, table.tableName).findings.list();
    expect(all.every((f) => f.resolved)).toBe(true);
    expect(all.find((f) => f.subject === 'boston')?.resolvedAt).toBe(new Date(now).toISOString());
  });

  it('finds drift at a region location whose aliases route something else', async () => {
    await put({ ...keys.desiredTraffic('us-east-1'), stable: 'r-1111111111111111', weight: 0 });
    const open = await runGovernance({
      environment,
      records: new Records(client, table.tableName),
      reporting: [],
      now: () => now,
      observer: {
        observe: async (id, desired) =>
          id === 'us-east-1'
            ? { stable: desired.stable, weight: 0, unknown: ['orbit-dev-items → 5'] }
            : { stable: desired.stable, weight: 0, unknown: [] },
      },
    });
    expect(open).toEqual([
      expect.objectContaining({
        job: 'drift',
        subject: 'us-east-1',
        severity: 'high',
        message: expect.stringContaining('orbit-dev-items → 5'),
      }),
    ]);
  });

  it("says a region's drift in words: what its aliases route, what is desired", async () => {
    const [R1, R2] = ['r-1111111111111111', 'r-2222222222222222'];
    await put({ ...keys.desiredTraffic('us-east-1'), stable: R1, candidate: R2, weight: 0.25 });
    const open = await runGovernance({
      environment,
      records: new Records(client, table.tableName),
      reporting: [],
      now: () => now,
      observer: {
        observe: async (id, desired) =>
          id === 'us-east-1'
            ? { stable: R1, candidate: R2, weight: 0.1, unknown: [] }
            : { stable: desired.stable, weight: 0, unknown: [] },
      },
    });
    expect(open.find((f) => f.subject === 'us-east-1')?.message).toBe(
      `serves ${R1} with 10% to ${R2}; desired ${R1} with 25% to ${R2}`
    );
    await put({ ...keys.desiredTraffic('us-east-1'), stable: R1, weight: 0 });
  });

  it('drains a location whose heartbeat went stale when asked to', async () => {
    await heartbeat('boston', now - 120_000);
    await runGovernance({
      environment,
      records: new Records(client, table.tableName),
      reporting: ['boston'],
      now: () => now,
      autoDrainStale: true,
    });
    const drain = await client.send(
      new GetCommand({ TableName: table.tableName, Key: keys.locationDrain('boston') })
    );
    expect(drain.Item).toMatchObject({
      drained: true,
      by: 'governance',
      reason: expect.stringMatching(/^stale heartbeat/),
    });
  });

  describe('with several hosts at a location', () => {
    const R1 = 'r-1111111111111111';
    const entry = (instanceId: string, atMs: number, fields: Partial<InstanceHeartbeat> = {}) => ({
      instanceId,
      startedAt: '2026-11-25T09:00:00.000Z',
      locationId: 'boston',
      atMs,
      at: new Date(atMs).toISOString(),
      intervalSeconds: 10,
      stable: R1,
      weight: 0,
      releases: {},
      totals: { [R1]: { requests: 5, errors4xx: 0, errors5xx: 1 } },
      ...fields,
    });
    const stored = async () =>
      (
        await client.send(
          new GetCommand({ TableName: table.tableName, Key: keys.heartbeat('boston') })
        )
      ).Item as HeartbeatRecord;

    it('folds the entries of processes gone for an hour into one, keeping every total', async () => {
      await put({
        ...keys.heartbeat('boston'),
        ...heartbeatRecord(
          entry('replaced', now - 2 * 3_600_000),
          entry('restarted', now - 3_600_001),
          entry('current', now - 1_000)
        ),
      });
      const before = locationHeartbeat(await stored());
      await run();
      const after = await stored();
      expect(Object.keys(after.instances).sort()).toEqual([
        expect.stringMatching(/^current@/),
        RETIRED_ENTRY,
      ]);
      expect(locationHeartbeat(after)?.totals).toEqual(before?.totals);
      expect(locationHeartbeat(after)?.totals[R1]).toEqual({
        requests: 15,
        errors4xx: 0,
        errors5xx: 3,
      });
      // Folding again later adds to the retired entry; the sum still does not move.
      now += 2 * 3_600_000;
      await put({
        ...keys.heartbeat('boston'),
        ...after,
        instances: { ...after.instances, ...heartbeatRecord(entry('next', now - 500)).instances },
      });
      await run();
      expect(locationHeartbeat(await stored())?.totals[R1]).toEqual({
        requests: 20,
        errors4xx: 0,
        errors5xx: 4,
      });
      expect(Object.keys((await stored()).instances)).toHaveLength(2);
    });

    it('keeps the freshest entry even when every host has been silent for an hour', async () => {
      await put({
        ...keys.heartbeat('boston'),
        ...heartbeatRecord(entry('a', now - 7_200_000), entry('b', now - 3_700_000)),
      });
      await run();
      const hb = locationHeartbeat(await stored());
      expect(hb?.at).toBe(new Date(now - 3_700_000).toISOString());
      expect(hb?.totals[R1]?.requests).toBe(10);
    });

    it('finds drift at a host that serves another split while the others do not', async () => {
      await put({
        ...keys.heartbeat('boston'),
        ...heartbeatRecord(
          entry('host-a', now - 1_000),
          entry('host-b', now - 2_000, { stable: 'r-2222222222222222' })
        ),
      });
      const open = await run();
      expect(open.find((f) => f.job === 'drift' && f.subject === 'boston')?.message).toBe(
        `host-b serves r-2222222222222222 only; desired ${R1} only`
      );
    });
  });

  it('finds a served release with public routes the environment does not allow', async () => {
    const strict = { ...environment, api: { ...environment.api, publicRoutes: ['GET /health'] } };
    await put({ ...keys.desiredTraffic('lab'), stable: 'r-3333333333333333', weight: 0 });
    await put({
      ...keys.stagedRelease('lab', 'r-3333333333333333'),
      manifest: JSON.stringify({
        releaseId: 'r-3333333333333333',
        functions: [{ name: 'admin', routes: [{ method: 'POST', path: '/admin', auth: 'none' }] }],
      }),
    });
    const open = await runGovernance({
      environment: strict,
      records: new Records(client, table.tableName),
      reporting: [],
      now: () => now,
    });
    expect(open).toContainEqual(
      expect.objectContaining({
        job: 'policy',
        subject: 'lab',
        message:
          'r-3333333333333333 serves public routes the environment does not allow: POST /admin',
      })
    );
  });

  describe('drift during a traffic move', () => {
    const R1 = 'r-1111111111111111';
    const R2 = 'r-2222222222222222';
    /** The orchestrator moved `lab` to 25% of R2 `agoMs` ago; its runtime still serves R1 only. */
    const moved = async (agoMs: number) => {
      await put({
        ...keys.desiredTraffic('lab'),
        stable: R1,
        candidate: R2,
        weight: 0.25,
        updatedAt: new Date(now - agoMs).toISOString(),
      });
      await heartbeat('boston', now - 1_000);
      await heartbeat('lab', now - 1_000, R1, 0);
    };
    const drift = async () => (await run()).find((f) => f.job === 'drift' && f.subject === 'lab');

    it('is not judged before the move had one pull and one heartbeat interval to settle', async () => {
      await moved(1_000);
      expect(await drift()).toBeUndefined();
      // Heartbeats every 10 s: settled 20 s after the move.
      await moved(19_000);
      expect(await drift()).toBeUndefined();
    });

    it('is found once the move has settled, desired and observed in words', async () => {
      await moved(20_000);
      expect((await drift())?.message).toBe(
        `host-1 serves ${R1} only; desired ${R1} with 25% to ${R2}`
      );
    });

    it('keeps an open drift finding as it is while a new move settles', async () => {
      await moved(60_000);
      const found = await drift();
      expect(found).toBeDefined();
      now += 1_000;
      await moved(1_000);
      expect(await drift()).toMatchObject({ firstSeen: found?.firstSeen, resolved: false });
      const stored = await new Records(client, table.tableName).findings.list();
      expect(stored.find((f) => f.job === 'drift' && f.subject === 'lab')?.resolved).toBe(false);
    });
  });
});

/**
 * A run that does not look at regions (no region observer: the way `orbit governance run`
 * used to run from a laptop) must not resolve the region drift the scheduled job found.
 */
describe('governance runs that look at less', () => {
  const environment = loadEnvironment({ env: 'dev' });
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const now = Date.UTC(2026, 11, 1, 12);
  const drifted = {
    observe: async (_: string, desired: { stable: string }) => ({
      stable: desired.stable,
      weight: 0,
      unknown: ['orbit-dev-items → 7'],
    }),
  };
  const aligned = {
    observe: async (_: string, desired: { stable: string }) => ({
      stable: desired.stable,
      weight: 0,
      unknown: [],
    }),
  };
  const run = (observer?: typeof drifted) =>
    runGovernance({
      environment,
      records: new Records(client, table.tableName),
      reporting: [],
      now: () => now,
      ...(observer ? { observer } : {}),
    });
  const regionDrift = async () =>
    (await new Records(client, table.tableName).findings.list()).find(
      (f) => f.job === 'drift' && f.subject === 'us-east-1'
    );

  beforeAll(async () => {
    table = await createTestTable();
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.desiredTraffic('us-east-1'), stable: 'r-1111111111111111', weight: 0 },
      })
    );
  });
  afterAll(() => table.drop());

  it('keeps region drift open through a run without a region observer, and resolves it once one sees it gone', async () => {
    await run(drifted);
    expect(await regionDrift()).toMatchObject({ resolved: false });
    const open = await run();
    expect(open).toEqual([expect.objectContaining({ job: 'drift', subject: 'us-east-1' })]);
    expect(await regionDrift()).toMatchObject({ resolved: false });
    await run(aligned);
    expect(await regionDrift()).toMatchObject({
      resolved: true,
      resolvedAt: new Date(now).toISOString(),
    });
  });
});
