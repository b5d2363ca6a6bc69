import { performance } from 'node:perf_hooks';
import { Records } from '../core/records';
import { createTableClient } from '../core/records/table';
import { type GateLimits, judge } from '../functions/orchestrator/gates';
import { Orchestrator } from '../functions/orchestrator/orchestrator';
import type { HealthSample, TrafficDriver, TrafficTarget } from '../functions/orchestrator/ports';
import { parseEnvironment } from '../lib/config/load';
import { type BenchOptions, median, type Row, ratio, round, spread } from './lib';
import { createLocalTable } from './store';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

/**
 * What the judge costs per location (it runs for every touched location in every pass), with
 * the comparison against stable (exact tests) against the limits-only check it replaced, on
 * the same recorded samples: a mix of small and large counts.
 */
export function judgeCost(options: BenchOptions): Row[] {
  const gates: GateLimits = {
    minRequests: 50,
    maxErrorRatePercent: 1,
    maxP99LatencyMs: 2000,
    compare: {
      confidencePercent: 95,
      minStableRequests: 50,
      maxP99Ratio: 1.5,
      minP99DifferenceMs: 50,
      minLatencySamples: 200,
    },
    dryRun: [],
  };
  const samples: HealthSample[] = Array.from({ length: 2_000 }, (_, i) => {
    const requests = 50 + ((i * 7919) % 200_000);
    const errors = Math.floor(requests * (((i % 13) + 1) / 1_300));
    return {
      requests,
      errors5xx: errors,
      p99Ms: 100 + (i % 50),
      fresh: true,
      alarmsOk: true,
      stable: { requests, errors5xx: Math.floor(errors * 0.8), p99Ms: 100 },
    };
  });
  const base = { requests: 0, errors5xx: 0 };
  const limitsOnly = (s: HealthSample) => {
    const rate = (100 * s.errors5xx) / s.requests;
    return (
      s.requests >= gates.minRequests &&
      rate <= gates.maxErrorRatePercent &&
      s.p99Ms <= gates.maxP99LatencyMs
    );
  };
  const time = (f: (s: HealthSample) => unknown) => {
    const rounds: number[] = [];
    for (let r = 0; r < (options.quick ? 3 : 7); r++) {
      const started = performance.now();
      for (const s of samples) f(s);
      rounds.push(((performance.now() - started) * 1000) / samples.length);
    }
    return rounds;
  };
  time((s) => judge(s, base, gates, { locationId: 'x', nowMs: 0, weight: 0.5 })); // warm up
  const judged = time((s) => judge(s, base, gates, { locationId: 'x', nowMs: 0, weight: 0.5 }));
  const plain = time(limitsOnly);
  const us = median(judged);
  const baseUs = median(plain);
  options.log(`judge: ${round(us)} µs per location, limits only ${round(baseUs, 3)} µs`);
  return [
    {
      figure: 'gate judge per location (with the comparison against stable)',
      value: round(us),
      unit: 'µs',
      baseline: round(baseUs, 3),
      ratio: ratio(us, baseUs),
      spread: spread(judged),
      target: '≤ 100 µs (500 locations in 50 ms)',
      met: us <= 100,
      note: 'baseline: the limits-only check on the same samples',
    },
  ];
}

/** 200 sites and one region: a simulated fleet whose sites serve 20 requests per pass. */
function fleetOf(ids: readonly string[]) {
  const served = new Map<string, TrafficTarget>(ids.map((id) => [id, { stable: R1, weight: 0 }]));
  const counts = new Map<string, { c: number; s: number }>();
  const driver: TrafficDriver = {
    apply: async (id, target) => {
      served.set(id, target);
    },
  };
  const health = {
    sample: async (id: string): Promise<HealthSample> => {
      const n = counts.get(id) ?? { c: 0, s: 0 };
      return {
        requests: n.c,
        errors5xx: 0,
        p99Ms: 20,
        fresh: true,
        alarmsOk: true,
        stable: { requests: n.s, errors5xx: 0, p99Ms: 20 },
      };
    },
  };
  const serve = () => {
    for (const [id, t] of served) {
      const n = counts.get(id) ?? { c: 0, s: 0 };
      const c = t.candidate ? Math.round(20 * t.weight) : 0;
      counts.set(id, { c: n.c + c, s: n.s + 20 - c });
    }
  };
  return { driver, health, serve };
}

/**
 * A 200-site wave to convergence, passes back to back (bake 0): in an exponential ramp of
 * batches (2, 4, 8, …) against all at once, on the local store.
 */
export async function waveConvergence(
  storeEndpoint: string,
  options: BenchOptions
): Promise<Row[]> {
  const ids = Array.from({ length: 200 }, (_, i) => `site-${String(i).padStart(3, '0')}`);
  const client = createTableClient({ region: 'us-east-1', endpoint: storeEndpoint });
  const run = async (batched: boolean, round_: number) => {
    const environment = parseEnvironment(
      {
        name: 'bench',
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
            {
              name: 'sites',
              locations: ids,
              steps: [50, 100],
              bakeMinutes: 0,
              ...(batched ? { batches: { initial: 2, factor: 2 } } : {}),
            },
            { name: 'region', locations: ['use1'], bakeMinutes: 0 },
          ],
          gates: { minRequests: 10, compare: { minStableRequests: 10 } },
        },
      },
      'bench'
    );
    const tableName = await createLocalTable(
      storeEndpoint,
      `orbit-bench-wave-${batched ? 'b' : 'a'}-${round_}`
    );
    const records = new Records(client, tableName);
    const all = ['use1', ...ids];
    for (let i = 0; i < all.length; i += 25) {
      await Promise.all(
        all
          .slice(i, i + 25)
          .flatMap((id) => [
            records.desired.put(id, { stable: R1, weight: 0 }, Date.now()),
            records.stagedReleases.stage({ locationId: id, releaseId: R2, manifest: '{}' }),
          ])
      );
    }
    const fleet = fleetOf(all);
    const orchestrator = new Orchestrator({
      environment,
      records,
      driverFor: () => fleet.driver,
      healthFor: () => fleet.health,
    });
    await records.intents.submit({ command: 'start', release: R2 }, 'bench');
    const started = performance.now();
    let passes = 0;
    do {
      fleet.serve();
      await orchestrator.reconcile();
      passes += 1;
    } while ((await records.rollouts.activeId()) && passes < 500);
    const rollout = (await records.rollouts.list(1))[0];
    if (rollout?.status !== 'completed')
      throw new Error(`the bench rollout ended ${rollout?.status}`);
    return { seconds: (performance.now() - started) / 1000, passes };
  };
  const rounds = options.quick ? 1 : 3;
  const batched: number[] = [];
  const atOnce: number[] = [];
  let passes = { batched: 0, atOnce: 0 };
  for (let r = 0; r < rounds; r++) {
    const a = await run(false, r);
    const b = await run(true, r);
    atOnce.push(a.seconds);
    batched.push(b.seconds);
    passes = { batched: b.passes, atOnce: a.passes };
  }
  client.destroy();
  const s = median(batched);
  const base = median(atOnce);
  options.log(
    `wave convergence: batched ${round(s)} s (${passes.batched} passes), at once ${round(base)} s`
  );
  return [
    {
      figure: '200-site wave to convergence, batches 2×2 (7 batches × 2 steps, bake 0)',
      value: round(s),
      unit: 's',
      baseline: round(base),
      ratio: ratio(s, base),
      spread: spread(batched),
      note: `${passes.batched} passes batched, ${passes.atOnce} all at once; baseline: the same wave all at once`,
    },
  ];
}
