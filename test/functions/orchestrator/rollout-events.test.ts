import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EnvironmentInput } from '../../../core/environment/schema';
import { Records } from '../../../core/records';
import { keys } from '../../../core/records/keys';
import { rolloutEventId } from '../../../functions/orchestrator/event-contract';
import { Orchestrator } from '../../../functions/orchestrator/orchestrator';
import type {
  HealthSample,
  RolloutEvent,
  SmokeRunner,
  TrafficDriver,
} from '../../../functions/orchestrator/ports';
import { parseEnvironment } from '../../../lib/config/load';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

const input = {
  name: 'test',
  account: '123456789012',
  homeRegion: 'us-east-1',
  allowedRegions: ['us-east-1', 'us-west-2'],
  locations: [
    { id: 'canary', kind: 'on-prem', parentRegion: 'us-east-1' },
    { id: 'use1', kind: 'region', region: 'us-east-1' },
    { id: 'usw2', kind: 'region', region: 'us-west-2' },
  ],
  data: { regions: ['us-east-1'] },
  auth: { issuer: 'https://login.example.com/', audience: ['t'] },
  rollout: {
    waves: [
      { name: 'canary', locations: ['canary'], steps: [10, 100], bakeMinutes: 5 },
      { name: 'rest', locations: ['use1', 'usw2'], steps: [100], bakeMinutes: 5 },
    ],
    gates: { minRequests: 10, maxErrorRatePercent: 5 },
  },
} satisfies EnvironmentInput;
const environment = parseEnvironment(input, 'test');

/**
 * Every transition of the step machine is told to `events` (the port the EventBridge, webhook
 * and local-log publishers implement), once, with the rollout record's version: between them
 * the tests see each kind `rollout.notifications` can ask for (ROLLOUT_EVENTS).
 */
describe('rollout events', () => {
  const client = testTableClient();
  let drop: () => Promise<void>;
  let clock: number;
  let store: Records;
  let published: RolloutEvent[];
  const requests = new Map<string, number>();
  const errors = new Map<string, number>();
  let failing: boolean;

  const driver: TrafficDriver = { apply: async () => undefined };
  const health = {
    sample: async (location: string): Promise<HealthSample> => ({
      requests: requests.get(location) ?? 0,
      errors5xx: errors.get(location) ?? 0,
      p99Ms: 20,
      fresh: true,
      alarmsOk: true,
    }),
  };
  const serve = (n = 20) => {
    for (const l of environment.locations) {
      requests.set(l.id, (requests.get(l.id) ?? 0) + n);
      if (failing) errors.set(l.id, (errors.get(l.id) ?? 0) + n);
    }
  };
  const orchestrator = (
    options: {
      env?: typeof environment;
      smoke?: SmokeRunner;
      onEventError?: (e: unknown) => void;
    } = {}
  ) =>
    new Orchestrator({
      environment: options.env ?? environment,
      records: store,
      driverFor: () => driver,
      healthFor: () => health,
      now: () => clock,
      events: { publish: async (e) => void published.push(e) },
      ...(options.smoke ? { smoke: options.smoke } : {}),
      ...(options.onEventError ? { onEventError: options.onEventError } : {}),
    });
  const minutes = (n: number) => {
    clock += n * 60_000;
  };
  const kinds = () => published.map((e) => e.kind);
  const start = () => store.intents.submit({ command: 'start', release: R2 }, 'alice');
  /** Reconciles every minute, with traffic, until the rollout ends (or 60 passes). */
  const runToEnd = async (o: Orchestrator) => {
    for (let i = 0; i < 60 && (await store.rollouts.activeId()); i++) {
      serve();
      minutes(1);
      await o.reconcile();
    }
  };

  beforeEach(async () => {
    const table = await createTestTable();
    drop = table.drop;
    clock = Date.UTC(2026, 10, 25, 12);
    store = new Records(client, table.tableName, () => clock);
    published = [];
    requests.clear();
    errors.clear();
    failing = false;
    for (const l of environment.locations) {
      await client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.desiredTraffic(l.id), stable: R1, weight: 0 },
        })
      );
      for (const release of [R1, R2]) {
        await client.send(
          new PutCommand({
            TableName: table.tableName,
            Item: {
              ...keys.stagedRelease(l.id, release),
              releaseId: release,
              ...(l.kind === 'region'
                ? { functions: { items: { functionName: 'orbit-test-items', version: '1' } } }
                : {
                    manifest: JSON.stringify({
                      releaseId: release,
                      functions: [{ name: 'items' }],
                    }),
                  }),
            },
          })
        );
      }
    }
  });
  afterEach(() => drop());

  it('publishes started, each step and completed for a release that passes its gates', async () => {
    const o = orchestrator();
    await start();
    await o.reconcile();
    await runToEnd(o);
    expect(kinds()).toEqual(['started', 'step', 'step', 'step', 'completed']);
    const rolloutId = published[0]?.rolloutId as string;
    for (const e of published) {
      expect(e).toMatchObject({ environment: 'test', rolloutId, release: R2 });
      expect(new Date(e.at).toISOString()).toBe(e.at);
    }
    expect(published[0]).toMatchObject({ version: 1, detail: 'started by alice' });
    expect(published.filter((e) => e.kind === 'step').map((e) => e.locations)).toEqual([
      ['canary'],
      ['canary'],
      ['use1', 'usw2'],
    ]);
    // One id per transition: the record's version only grows.
    const versions = published.map((e) => e.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(published.map(rolloutEventId)).size).toBe(published.length);
  });

  it('publishes breached, then rolled-back naming every location returned, when a gate breaks', async () => {
    const o = orchestrator();
    await start();
    await o.reconcile();
    for (let i = 0; i < 2; i++) {
      serve();
      minutes(5);
      await o.reconcile();
    }
    failing = true;
    serve();
    await o.reconcile();
    expect(kinds().slice(-2)).toEqual(['breached', 'rolled-back']);
    const [breached, rolledBack] = published.slice(-2) as [RolloutEvent, RolloutEvent];
    expect(breached.detail).toMatch(/^gate breached at canary: /);
    expect(breached.locations).toEqual(expect.arrayContaining(['canary']));
    expect(rolledBack.locations).toEqual(['canary', 'use1', 'usw2']);
    expect(rolledBack.version).toBeGreaterThan(breached.version);
  });

  it('publishes paused and resumed on command, and aborted when aborted', async () => {
    const o = orchestrator();
    await start();
    await o.reconcile();
    await store.intents.submit({ command: 'pause' }, 'bob');
    await o.reconcile();
    await store.intents.submit({ command: 'resume' }, 'bob');
    await o.reconcile();
    await store.intents.submit({ command: 'abort' }, 'bob');
    await o.reconcile();
    expect(kinds()).toEqual(['started', 'step', 'paused', 'resumed', 'aborted']);
    expect(published.slice(2).map((e) => e.detail)).toEqual([
      'paused by operator',
      'resumed by operator',
      'aborted by operator',
    ]);
  });

  it('publishes inconclusive, then paused, when evidence is still missing after maxWaitMinutes', async () => {
    const o = orchestrator();
    await start();
    await o.reconcile();
    // No traffic: the 5-minute bake, then the default 10 minutes of waiting for evidence.
    minutes(16);
    await o.reconcile();
    expect(kinds()).toEqual(['started', 'step', 'inconclusive', 'paused']);
    expect(published[2]).toMatchObject({ locations: ['canary'] });
    expect(published[2]?.detail).toMatch(/waited 10 min after the bake/);
  });

  it('publishes smoke-failed, then rolled-back, when a smoke check fails before any traffic', async () => {
    const env = parseEnvironment(
      { ...input, rollout: { ...input.rollout, smoke: [{ path: '/health' }] } },
      'test'
    );
    const smoke: SmokeRunner = {
      run: async () => [{ check: 'GET /health', ok: false, detail: 'expected 200, got 503' }],
    };
    await start();
    await orchestrator({ env, smoke }).reconcile();
    expect(kinds()).toEqual(['started', 'smoke-failed', 'rolled-back']);
    expect(published[1]).toMatchObject({ locations: ['canary'] });
    expect(published[1]?.detail).toContain('canary: GET /health: expected 200, got 503');
  });

  it('goes on with the rollout when publishing fails, and reports each failure', async () => {
    const reported: unknown[] = [];
    const o = new Orchestrator({
      environment,
      records: store,
      driverFor: () => driver,
      healthFor: () => health,
      now: () => clock,
      events: { publish: () => Promise.reject(new Error('bus unavailable')) },
      onEventError: (err) => reported.push(err),
    });
    await start();
    await o.reconcile();
    await runToEnd(o);
    expect((await store.rollouts.list(1))[0]?.status).toBe('completed');
    expect(reported).toHaveLength(5);
    expect(String(reported[0])).toContain('bus unavailable');
  });

  it("sends a pass's events side by side, and ends the pass only once each was sent", async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const delivered: string[] = [];
    const releases: (() => void)[] = [];
    const o = new Orchestrator({
      environment,
      records: store,
      driverFor: () => driver,
      healthFor: () => health,
      now: () => clock,
      events: {
        publish: (e) =>
          new Promise<void>((resolve) => {
            inFlight += 1;
            mostInFlight = Math.max(mostInFlight, inFlight);
            releases.push(() => {
              inFlight -= 1;
              delivered.push(e.kind);
              resolve();
            });
          }),
      },
    });
    await start();
    // The start and the first step publish `started` and `step` in one pass; a webhook that
    // answers slowly holds neither the other event nor the pass's decisions.
    const pass = o.reconcile();
    let ended = false;
    void pass.then(() => {
      ended = true;
    });
    // Sent one after the other, the second would never start while the first hangs.
    for (let i = 0; i < 500 && releases.length < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(mostInFlight).toBe(2);
    expect(ended).toBe(false);
    for (const release of releases.splice(0)) release();
    await pass;
    expect(delivered.sort()).toEqual(['started', 'step']);
  });
});
