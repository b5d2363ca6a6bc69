import { Records } from '../../core/records';
import type { Rollout } from '../../core/records/rollouts';
import { rolloutStatus } from '../../lib/cli/commands';
import type { Target } from '../../lib/cli/target';
import { loadEnvironment } from '../../lib/config/load';
import { testTableClient } from '../support/handlers';
import { createTestTable } from '../support/table';

describe('orbit rollout status', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(() => table.drop());

  it('says what the current step waits for, per location, and why a rollout paused', async () => {
    const store = new Records(client, table.tableName);
    const environment = loadEnvironment({ env: 'dev' });
    const at = '2026-12-01T19:05:00.000Z';
    const rollout: Rollout = {
      rolloutId: 'ro-1',
      release: 'r-2222222222222222',
      previous: { lab: 'r-1111111111111111' },
      status: 'paused',
      reason: 'no heartbeat from lab since 19:05:12 UTC (waited 10 min after the bake)',
      wave: 0,
      step: 0,
      phase: 'baking',
      bakeUntilMs: 0,
      baseline: {},
      touched: ['lab'],
      waiting: { lab: 'no heartbeat from lab since 19:05:12 UTC' },
      version: 1,
      createdBy: 'alice',
      createdAt: at,
      updatedAt: at,
      history: [{ at, event: 'started by alice' }],
    };
    await store.rollouts.save(rollout);
    await store.rollouts.claimActive('ro-1');
    const target = {
      environment,
      records: store,
      urls: {},
      actor: 'test',
      local: true,
      description: 'test',
      wake: async () => undefined,
      governance: async () => 0,
    } satisfies Target;
    const { text } = await rolloutStatus(target);
    expect(text).toContain('paused (no heartbeat from lab since 19:05:12 UTC');
    expect(text).toContain('waits for lab: no heartbeat from lab since 19:05:12 UTC');
  });

  const target = (store: Records): Target => ({
    environment: loadEnvironment({ env: 'dev' }),
    records: store,
    urls: {},
    actor: 'test',
    local: true,
    description: 'test',
    wake: async () => undefined,
    governance: async () => 0,
  });

  it('shows the evidence of each location: both releases, the verdict, its rule and confidence', async () => {
    const store = new Records(client, table.tableName);
    const at = '2026-12-01T19:05:00.000Z';
    const figures = (requests: number, errors5xx: number, p99Ms: number) => ({
      requests,
      errors5xx,
      errorRatePercent: Math.round((10_000 * errors5xx) / requests) / 100,
      p99Ms,
    });
    const rollout: Rollout = {
      rolloutId: 'ro-0000000e',
      release: 'r-2222222222222222',
      previous: { lab: 'r-1111111111111111', boston: 'r-1111111111111111' },
      status: 'rolled-back',
      reason: "gate breached at lab: error rate 0.8% against stable's 0.1% in the same window",
      wave: 0,
      step: 0,
      phase: 'baking',
      bakeUntilMs: 0,
      baseline: {},
      touched: ['lab'],
      evidence: {
        lab: {
          verdict: 'breach',
          rule: 'compare-errors',
          confidencePercent: 99.9,
          why: "error rate 0.8% against stable's 0.1% in the same window",
          candidate: figures(2000, 16, 120),
          stable: figures(2000, 1, 110),
          dryRun: ['compare-latency would breach: p99 120 ms against stable'],
        },
      },
      version: 1,
      createdBy: 'alice',
      createdAt: at,
      updatedAt: at,
      history: [{ at, event: 'rolled-back: gate breached at lab' }],
    };
    await store.rollouts.save(rollout);
    const { text } = await rolloutStatus(target(store), 'ro-0000000e');
    const row = text.split('\n').find((l) => l.startsWith('lab'));
    expect(row?.split(/\s{2,}/)).toEqual([
      'lab',
      '2000',
      '0.8%',
      '120 ms',
      '2000',
      '0.05%',
      '110 ms',
      'breach (compare-errors, 99.9% sure)',
    ]);
    expect(text).toContain('dry run at lab: compare-latency would breach');
    expect(text).toContain('rolled-back: gate breached at lab');
  });

  it('fails naming a rollout that does not exist', async () => {
    await expect(
      rolloutStatus(target(new Records(client, table.tableName)), 'ro-ffffffff')
    ).rejects.toThrow('no rollout ro-ffffffff in dev');
  });
});
