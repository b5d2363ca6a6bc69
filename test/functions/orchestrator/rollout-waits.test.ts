import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EnvironmentInput } from '../../../core/environment/schema';
import { Records } from '../../../core/records';
import { heartbeatRecord } from '../../../core/records/heartbeats';
import { keys } from '../../../core/records/keys';
import type { Rollout } from '../../../core/records/rollouts';
import { HeartbeatHealthSource } from '../../../functions/orchestrator/adapters/heartbeat-health';
import { SatelliteTrafficDriver } from '../../../functions/orchestrator/adapters/satellite-traffic';
import { Orchestrator } from '../../../functions/orchestrator/orchestrator';
import { parseEnvironment } from '../../../lib/config/load';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';
const HEARTBEAT_SECONDS = 10;

const input = {
  name: 'test',
  account: '123456789012',
  homeRegion: 'us-east-1',
  allowedRegions: ['us-east-1', 'eu-west-1'],
  locations: [
    { id: 'use1', kind: 'region', region: 'us-east-1' },
    { id: 'canary', kind: 'on-prem', parentRegion: 'us-east-1' },
    { id: 'lab', kind: 'on-prem', parentRegion: 'us-east-1' },
    { id: 'eu-west-1', kind: 'on-prem', parentRegion: 'us-east-1' },
  ],
  data: { regions: ['us-east-1'] },
  auth: { issuer: 'https://login.example.com/', audience: ['t'] },
  rollout: {
    waves: [
      { name: 'canary', locations: ['canary'], steps: [100], bakeMinutes: 5 },
      { name: 'rest', locations: ['use1', 'lab', 'eu-west-1'], steps: [100], bakeMinutes: 5 },
    ],
    gates: { minRequests: 10 },
  },
} satisfies EnvironmentInput;

/**
 * Rollouts against the records a local fleet uses: the satellite driver writes desired
 * traffic, gates read heartbeats that the test writes as runtimes would, on an injected clock.
 */
describe('a rollout waiting for evidence', () => {
  const client = testTableClient();
  let tableName: string;
  let drop: () => Promise<void>;
  let clock: number;
  let store: Records;
  const served = new Map<string, { requests: number; errors5xx: number }>();

  const orchestrator = (gates: EnvironmentInput['rollout']['gates'] = {}) =>
    new Orchestrator({
      environment: parseEnvironment(
        { ...input, rollout: { ...input.rollout, gates: { ...input.rollout.gates, ...gates } } },
        'test'
      ),
      records: store,
      driverFor: () => new SatelliteTrafficDriver(store, () => clock),
      healthFor: () => new HeartbeatHealthSource(store, () => clock),
      now: () => clock,
    });
  const put = (item: Record<string, unknown>) =>
    client.send(new PutCommand({ TableName: tableName, Item: item }));
  const read = async (key: { pk: string; sk: string }) =>
    (await client.send(new GetCommand({ TableName: tableName, Key: key }))).Item;
  /** These locations report a heartbeat now, having served `n` more requests of the candidate. */
  const report = async (ids: readonly string[], n = 20, errors = 0) => {
    for (const id of ids) {
      const before = served.get(id) ?? { requests: 0, errors5xx: 0 };
      const now = { requests: before.requests + n, errors5xx: before.errors5xx + errors };
      served.set(id, now);
      await put({
        ...keys.heartbeat(id),
        ...heartbeatRecord({
          instanceId: 'host-1',
          startedAt: new Date(Date.UTC(2026, 10, 25, 11)).toISOString(),
          locationId: id,
          atMs: clock,
          at: new Date(clock).toISOString(),
          intervalSeconds: HEARTBEAT_SECONDS,
          stable: R1,
          weight: 0,
          releases: {},
          totals: { [R2]: { ...now, errors4xx: 0 } },
        }),
      });
    }
  };
  const everyone = input.locations.map((l) => l.id);
  const minutes = (n: number) => {
    clock += n * 60_000;
  };
  const active = async (): Promise<Rollout> => {
    const id = await store.rollouts.activeId();
    const rollout = id ? await store.rollouts.get(id) : (await store.rollouts.list(1))[0];
    if (!rollout) throw new Error('no rollout');
    return rollout;
  };
  const desired = async (id: string) => read(keys.desiredTraffic(id));
  const start = async (o: Orchestrator) => {
    await report(everyone, 0);
    await store.intents.submit({ command: 'start', release: R2 }, 'alice');
    await o.reconcile();
  };
  /** Bakes the canary wave with traffic and starts the next one. */
  const passCanary = async (o: Orchestrator) => {
    await start(o);
    minutes(5);
    await report(everyone);
    await o.reconcile();
  };

  beforeEach(async () => {
    ({ tableName, drop } = await createTestTable());
    clock = Date.UTC(2026, 10, 25, 12);
    served.clear();
    store = new Records(client, tableName, () => clock);
    for (const id of everyone) {
      await put({ ...keys.desiredTraffic(id), stable: R1, weight: 0, updatedAt: 'first deploy' });
      for (const release of [R1, R2]) {
        await put({
          ...keys.stagedRelease(id, release),
          releaseId: release,
          manifest: JSON.stringify({ releaseId: release, functions: [{ name: 'items' }] }),
        });
      }
    }
  });
  afterEach(() => drop());

  it('records what each location of the step waits for: its bake, then what its gate lacks', async () => {
    const o = orchestrator();
    await start(o);
    expect((await active()).waiting).toEqual({ canary: 'bake until 12:05:00 UTC' });
    minutes(5);
    await report(['canary'], 3);
    await o.reconcile();
    expect((await active()).waiting).toEqual({ canary: 'canary: 3 of 10 requests served' });
    minutes(1);
    await o.reconcile();
    expect((await active()).waiting).toEqual({
      canary: 'no heartbeat from canary since 12:05:00 UTC',
    });
    await report(everyone);
    await o.reconcile();
    expect(await active()).toMatchObject({
      wave: 1,
      waiting: {
        use1: 'bake until 12:11:00 UTC',
        lab: 'bake until 12:11:00 UTC',
        'eu-west-1': 'bake until 12:11:00 UTC',
      },
    });
  });

  it('pauses with the reason and an audit entry when the evidence is not in by maxWaitMinutes after the bake', async () => {
    const o = orchestrator();
    await start(o);
    // The canary's runtime dies: it never reports again.
    minutes(14);
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'running', wave: 0 });
    minutes(1);
    const { events } = await o.reconcile();
    const reason =
      'inconclusive: no heartbeat from canary since 12:00:00 UTC (waited 10 min after the bake)';
    expect(events).toContain(`rollout ${(await active()).rolloutId} paused: ${reason}`);
    expect(await active()).toMatchObject({
      status: 'paused',
      reason,
      waiting: { canary: 'no heartbeat from canary since 12:00:00 UTC' },
    });
    expect((await store.audit.latest(1))[0]).toMatchObject({
      by: 'orchestrator',
      action: 'rollout',
      outcome: `paused: ${reason}`,
    });
    // Paused, it stays where it is; the wave after it is not touched.
    minutes(30);
    await o.reconcile();
    expect(await desired('lab')).toMatchObject({ stable: R1, weight: 0 });
    expect(await store.rollouts.activeId()).toBeDefined();
  });

  it('gives a resumed step a new wait, and carries on once the evidence arrives', async () => {
    const o = orchestrator();
    await start(o);
    minutes(15);
    await o.reconcile();
    expect((await active()).status).toBe('paused');
    minutes(60);
    await store.intents.submit({ command: 'resume' }, 'bob');
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'running', wave: 0 });
    expect((await active()).reason).toBeUndefined();
    minutes(9);
    await report(everyone);
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'running', wave: 1 });
  });

  it("rolls back instead when the gates' onInconclusive is rollback", async () => {
    const o = orchestrator({ onInconclusive: 'rollback' });
    await start(o);
    minutes(15);
    await o.reconcile();
    const done = await active();
    expect(done).toMatchObject({
      status: 'rolled-back',
      reason:
        'inconclusive: no heartbeat from canary since 12:00:00 UTC (waited 10 min after the bake)',
      waiting: {},
    });
    expect(await desired('canary')).toMatchObject({ stable: R1, weight: 0 });
    expect(await desired('canary')).not.toHaveProperty('candidate');
    expect(await store.rollouts.activeId()).toBeUndefined();
  });

  it('never moves a wave onto a location that is stale when the wave starts', async () => {
    const o = orchestrator();
    await start(o);
    minutes(5);
    await report(['use1', 'canary', 'lab']);
    await o.reconcile();
    const reason = 'wave rest not started: no heartbeat from eu-west-1 since 12:00:00 UTC';
    expect(await active()).toMatchObject({
      status: 'paused',
      wave: 1,
      phase: 'applying',
      reason,
      waiting: { 'eu-west-1': 'no heartbeat from eu-west-1 since 12:00:00 UTC' },
    });
    expect((await store.audit.latest(1))[0]?.outcome).toBe(`paused: ${reason}`);
    for (const id of ['use1', 'lab', 'eu-west-1']) {
      expect(await desired(id)).toMatchObject({ stable: R1, weight: 0 });
    }
    // Resumed while the location is still silent, it pauses again rather than move.
    await store.intents.submit({ command: 'resume' }, 'bob');
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'paused', wave: 1 });
    expect(await desired('eu-west-1')).not.toHaveProperty('candidate');
    // Aborted, the wave's locations go back too (a crashed pass may have moved them).
    await store.intents.submit({ command: 'abort' }, 'bob');
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'aborted' });
    expect(await desired('canary')).toMatchObject({ stable: R1, weight: 0 });
  });

  it('waits at a drained location instead of judging its answers, and the deadline applies', async () => {
    const o = orchestrator();
    await passCanary(o);
    expect((await active()).wave).toBe(1);
    await put({ ...keys.locationDrain('lab'), drained: true, reason: 'rack move' });
    minutes(5);
    // Until the other runtimes count drained answers apart, they may even look like errors.
    await report(['use1', 'eu-west-1', 'canary']);
    await report(['lab'], 20, 20);
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'running', waiting: { lab: 'lab is drained' } });
    minutes(10);
    await report(['use1', 'eu-west-1', 'canary', 'lab']);
    await o.reconcile();
    expect(await active()).toMatchObject({
      status: 'paused',
      reason: 'inconclusive: lab is drained (waited 10 min after the bake)',
    });
    expect(await desired('lab')).toMatchObject({ candidate: R2, weight: 1 });
  });

  it('judges a drained location again once it is restored', async () => {
    const o = orchestrator();
    await passCanary(o);
    await put({ ...keys.locationDrain('lab'), drained: true });
    minutes(5);
    await report(everyone);
    await o.reconcile();
    expect((await active()).waiting).toEqual({ lab: 'lab is drained' });
    await put({ ...keys.locationDrain('lab'), drained: false });
    await report(everyone);
    await o.reconcile();
    expect(await active()).toMatchObject({ status: 'completed', waiting: {} });
  });

  it("waits everywhere while one of the release's functions is drained fleet-wide", async () => {
    const o = orchestrator();
    await start(o);
    await put({ ...keys.functionDrain('items'), drained: true });
    minutes(5);
    await report(everyone);
    await o.reconcile();
    expect(await active()).toMatchObject({
      wave: 0,
      waiting: { canary: 'function items is drained fleet-wide' },
    });
  });
});
