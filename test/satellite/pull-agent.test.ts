import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../../functions/shared/keys';
import { RouteTable } from '../../functions/shared/route-table';
import type { Release } from '../../lib/release/manifest';
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

  const put = (Item: Record<string, unknown>) =>
    client.send(new PutCommand({ TableName: tableName, Item }));
  const stage = (releaseId: string, stagedAt: string) =>
    put({ ...keys.stagedRelease('sat1', releaseId), releaseId, stagedAt });
  const desire = (desired: { stable: string; candidate?: string; weight: number }) =>
    put({ ...keys.desiredTraffic('sat1'), ...desired, updatedAt: new Date().toISOString() });
  const agent = () =>
    new PullAgent({
      table: client,
      tableName,
      locationId: 'sat1',
      intervalMs: 1000,
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
          routes: new RouteTable([]),
          functions: new Map(),
        };
      },
    });

  beforeEach(async () => {
    ({ tableName, drop } = await createTestTable());
    fetched = [];
    loaded = [];
    await stage(R1, '2026-11-25T10:00:00Z');
    await desire({ stable: R1, weight: 0 });
  });
  afterEach(() => drop());

  it('loads the newest staged release before a rollout asks for it, so the switch loads nothing', async () => {
    const a = agent();
    await a.tick();
    expect(loaded).toEqual([R1]);
    await stage(R2, '2026-11-25T11:00:00Z');
    await a.tick();
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
    expect(hb.Item).toMatchObject({ stable: R1, candidate: R2, weight: 0.25 });
  });

  it('keeps serving and reporting when preloading a staged release fails', async () => {
    const errors: unknown[] = [];
    const a = new PullAgent({
      table: client,
      tableName,
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
        routes: new RouteTable([]),
        functions: new Map(),
      }),
      onError: (err) => errors.push(err),
    });
    await stage(R2, '2026-11-25T11:00:00Z');
    await a.tick();
    expect(a.current().stable.releaseId).toBe(R1);
    expect(errors).toEqual([new Error('the bucket is unreachable')]);
  });
});
