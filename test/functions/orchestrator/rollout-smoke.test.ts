import { Records } from '../../../core/records';
import type { Rollout } from '../../../core/records/rollouts';
import { Orchestrator } from '../../../functions/orchestrator/orchestrator';
import type {
  HealthSample,
  SmokeResult,
  TrafficDriver,
  TrafficTarget,
} from '../../../functions/orchestrator/ports';
import { parseEnvironment } from '../../../lib/config/load';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

const environment = parseEnvironment(
  {
    name: 'smoke',
    account: '123456789012',
    homeRegion: 'us-east-1',
    allowedRegions: ['us-east-1'],
    locations: [
      { id: 'use1', kind: 'region', region: 'us-east-1' },
      { id: 'lab', kind: 'on-prem', parentRegion: 'us-east-1' },
    ],
    data: { regions: ['us-east-1'] },
    auth: { issuer: 'https://login.example.com/', audience: ['t'] },
    rollout: {
      waves: [
        { name: 'canary', locations: ['lab'], bakeMinutes: 0 },
        { name: 'region', locations: ['use1'], bakeMinutes: 0 },
      ],
      gates: { minRequests: 1 },
      smoke: [{ path: '/health', expectJson: { status: 'ok' } }],
    },
  },
  'smoke'
);

describe('smoke checks before a location gets candidate traffic', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  let moves: { id: string; target: TrafficTarget }[];
  let checked: string[];
  let served = 0;
  const health = {
    // Every sample sees more requests served: each step gets its evidence.
    sample: async (): Promise<HealthSample> => {
      served += 10;
      return {
        requests: served,
        errors5xx: 0,
        p99Ms: 10,
        fresh: true,
        alarmsOk: true,
      };
    },
  };
  const driver: TrafficDriver = {
    apply: async (id, target) => {
      moves.push({ id, target });
    },
  };

  beforeEach(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
    moves = [];
    checked = [];
    for (const id of ['use1', 'lab']) {
      await records.desired.put(id, { stable: R1, weight: 0 }, Date.now());
      await records.stagedReleases.stage({ locationId: id, releaseId: R2, manifest: '{}' });
    }
  });
  afterEach(() => table.drop());

  const rolloutWith = async (answer: (id: string) => SmokeResult) => {
    const orchestrator = new Orchestrator({
      environment,
      records,
      driverFor: () => driver,
      healthFor: () => health,
      smoke: {
        run: async (id, release) => {
          checked.push(`${id}@${release}`);
          return [answer(id)];
        },
      },
    });
    await records.intents.submit({ command: 'start', release: R2 }, 'test');
    for (let i = 0; i < 10 && (i === 0 || (await records.rollouts.activeId())); i++) {
      await orchestrator.reconcile();
    }
    return (await records.rollouts.list(1))[0] as Rollout;
  };

  it('stops the rollout before any traffic when a check fails, and says which and why', async () => {
    const rollout = await rolloutWith(() => ({
      check: 'GET /health',
      ok: false,
      detail: 'status: expected "ok", got "degraded"',
    }));
    expect(rollout.status).toBe('rolled-back');
    expect(rollout.reason).toBe(
      'smoke checks failed before any traffic: lab: GET /health: status: expected "ok", got "degraded"'
    );
    expect(rollout.touched).toEqual([]);
    expect(moves.filter((m) => m.target.candidate)).toEqual([]);
    expect(checked).toEqual([`lab@${R2}`]);
  });

  it('runs the checks once per location, before its first traffic, and keeps the results in the history', async () => {
    const rollout = await rolloutWith(() => ({
      check: 'GET /health',
      ok: true,
      detail: '200 in 5 ms',
    }));
    expect(rollout.status).toBe('completed');
    expect(checked).toEqual([`lab@${R2}`, `use1@${R2}`]);
    expect(rollout.history.map((h) => h.event)).toContain(
      'wave canary: moving to 100% (smoke checks passed: lab: GET /health: 200 in 5 ms)'
    );
  });

  it('waits, paused, at a drained location rather than failing its checks', async () => {
    await records.drains.set({
      location: 'lab',
      drained: true,
      reason: 'maintenance',
      by: 'ops',
      at: new Date().toISOString(),
    });
    const rollout = await rolloutWith(() => ({
      check: 'GET /health',
      ok: false,
      detail: 'drained',
    }));
    expect(rollout.status).toBe('paused');
    expect(rollout.reason).toBe(
      'wave canary not started: smoke checks cannot run while lab is drained'
    );
    expect(checked).toEqual([]);
    expect(moves).toEqual([]);
  });
});
