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
});
