import type { EnvironmentInput } from '../../../core/environment/schema';
import { Records } from '../../../core/records';
import type { Rollout } from '../../../core/records/rollouts';
import { Orchestrator } from '../../../functions/orchestrator/orchestrator';
import { batchesOf, planRollout } from '../../../functions/orchestrator/plan';
import type {
  HealthSample,
  TrafficDriver,
  TrafficTarget,
} from '../../../functions/orchestrator/ports';
import { parseEnvironment } from '../../../lib/config/load';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';
const ids = Array.from({ length: 200 }, (_, i) => `site-${String(i).padStart(3, '0')}`);

/** 200 on-prem sites in one wave that joins them in an exponential ramp. */
const environmentWith = (wave: Partial<EnvironmentInput['rollout']['waves'][number]>) =>
  parseEnvironment(
    {
      name: 'fleet',
      account: '123456789012',
      homeRegion: 'us-east-1',
      allowedRegions: ['us-east-1'],
      locations: [
        { id: 'use1', kind: 'region', region: 'us-east-1' },
        ...ids.map((id) => ({ id, kind: 'on-prem' as const, parentRegion: 'us-east-1' })),
      ],
      data: { regions: ['us-east-1'] },
      auth: { issuer: 'https://login.example.com/', audience: ['t'] },
      rollout: {
        waves: [
          { name: 'sites', locations: ids, steps: [50, 100], bakeMinutes: 0, ...wave },
          { name: 'region', locations: ['use1'], bakeMinutes: 0 },
        ],
        gates: { minRequests: 10, compare: { minStableRequests: 10 } },
      },
    },
    'fleet'
  );

/** Every site serves 20 requests a pass to each release it serves; `failing` ones fail all of the candidate's. */
class SimulatedFleet {
  readonly failing = new Set<string>();
  readonly served = new Map<string, TrafficTarget>();
  /** The locations each apply moved, in order. */
  readonly moves: { id: string; target: TrafficTarget }[] = [];
  private readonly counts = new Map<string, { c: number; e: number; s: number }>();
  readonly driver: TrafficDriver = {
    apply: async (id, target) => {
      this.served.set(id, target);
      this.moves.push({ id, target });
    },
  };
  readonly health = {
    sample: async (id: string): Promise<HealthSample> => {
      const n = this.counts.get(id) ?? { c: 0, e: 0, s: 0 };
      return {
        requests: n.c,
        errors5xx: n.e,
        p99Ms: 20,
        fresh: true,
        alarmsOk: true,
        stable: { requests: n.s, errors5xx: 0, p99Ms: 20 },
      };
    },
  };
  serve(): void {
    for (const [id, t] of this.served) {
      const n = this.counts.get(id) ?? { c: 0, e: 0, s: 0 };
      const candidate = t.candidate ? Math.round(20 * t.weight) : 0;
      this.counts.set(id, {
        c: n.c + candidate,
        e: n.e + (this.failing.has(id) ? candidate : 0),
        s: n.s + 20 - candidate,
      });
    }
  }
  /** The order in which sites first got candidate traffic. */
  firstMoved(): string[] {
    const seen = new Set<string>();
    for (const m of this.moves) if (m.target.candidate && m.target.weight > 0) seen.add(m.id);
    return [...seen];
  }
}

describe('a wave of 200 sites moved in batches', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  let fleet: SimulatedFleet;
  let clock = Date.UTC(2026, 11, 1, 12);

  beforeEach(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName, () => clock);
    fleet = new SimulatedFleet();
    const all = ['use1', ...ids];
    for (let i = 0; i < all.length; i += 25) {
      await Promise.all(
        all
          .slice(i, i + 25)
          .flatMap((id) => [
            records.desired.put(id, { stable: R1, weight: 0 }, clock),
            records.stagedReleases.stage({ locationId: id, releaseId: R2, manifest: '{}' }),
          ])
      );
    }
    for (const id of all) fleet.served.set(id, { stable: R1, weight: 0 });
  });
  afterEach(() => table.drop());

  const run = async (environment: ReturnType<typeof environmentWith>) => {
    const orchestrator = new Orchestrator({
      environment,
      records,
      driverFor: () => fleet.driver,
      healthFor: () => fleet.health,
      now: () => clock,
    });
    await records.intents.submit({ command: 'start', release: R2 }, 'test');
    for (let i = 0; i < 200 && (i === 0 || (await records.rollouts.activeId())); i++) {
      fleet.serve();
      clock += 60_000;
      await orchestrator.reconcile();
    }
    return (await records.rollouts.list(1))[0] as Rollout;
  };

  it('ramps the batches 2, 4, 8, … as planned, each through every step, then completes', async () => {
    const environment = environmentWith({ batches: { initial: 2, factor: 2 } });
    const wave = environment.rollout.waves[0];
    if (!wave) throw new Error('a wave');
    expect(batchesOf(wave).map((b) => b.length)).toEqual([2, 4, 8, 16, 32, 64, 74]);
    expect(planRollout(environment, R2).waves[0]?.batches).toEqual(batchesOf(wave));
    const rollout = await run(environment);
    expect(rollout.status).toBe('completed');
    expect(fleet.firstMoved().slice(0, 200)).toEqual(ids);
    // Each batch got 50% before 100%: the first move of every site is to half the traffic.
    for (const id of ids) {
      expect(fleet.moves.find((m) => m.id === id && m.target.candidate)?.target.weight).toBe(0.5);
    }
    expect([...fleet.served.values()].every((t) => t.stable === R2 && !t.candidate)).toBe(true);
  });

  it('returns each breached site to stable at once and completes within the tolerance', async () => {
    for (const id of ['site-003', 'site-050', 'site-120']) fleet.failing.add(id);
    const rollout = await run(
      environmentWith({ batches: { size: 25 }, maxBreachedPercent: 5, minJudged: 20 })
    );
    expect(rollout.status).toBe('completed');
    expect(rollout.breached).toEqual(['site-003', 'site-050', 'site-120']);
    for (const id of rollout.breached ?? []) {
      expect(fleet.served.get(id)).toEqual({ stable: R1, weight: 0 });
    }
    expect(fleet.served.get('site-004')).toEqual({ stable: R2, weight: 0 });
    expect(rollout.history.map((h) => h.event)).toContain(
      "returned to stable within the wave's tolerance: site-003: error rate 100.0% over 10 requests (limit 1%)"
    );
    expect(rollout.history.at(-1)?.event).toBe(
      'completed: the release is stable everywhere but at site-003, site-050, site-120 (returned to stable)'
    );
  });

  it('rolls everything back once more than maxBreachedPercent of at least minJudged sites breached', async () => {
    for (const id of ids.slice(10, 14)) fleet.failing.add(id);
    const rollout = await run(
      environmentWith({ batches: { size: 25 }, maxBreachedPercent: 10, minJudged: 20 })
    );
    expect(rollout.status).toBe('rolled-back');
    expect(rollout.reason).toMatch(/\(\d+ of \d+ judged in wave sites, more than 10%\)$/);
    expect([...fleet.served.values()].every((t) => t.stable === R1 && !t.candidate)).toBe(true);
  });

  it('rolls everything back at the first breach without a tolerance (the default)', async () => {
    fleet.failing.add('site-001');
    const rollout = await run(environmentWith({ batches: { initial: 2, factor: 2 } }));
    expect(rollout.status).toBe('rolled-back');
    expect(rollout.reason).toMatch(/^gate breached at site-001: error rate 100\.0%/);
    expect(rollout.touched).toEqual(['site-000', 'site-001']);
  });
});
