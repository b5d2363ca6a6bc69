import { performance } from 'node:perf_hooks';
import { Records } from '../core/records';
import type { Rollout } from '../core/records/rollouts';
import { createTableClient } from '../core/records/table';
import { HeartbeatHealthSource } from '../functions/orchestrator/adapters/heartbeat-health';
import { SatelliteTrafficDriver } from '../functions/orchestrator/adapters/satellite-traffic';
import { Orchestrator } from '../functions/orchestrator/orchestrator';
import { benchEnvironment } from './environments';
import { type BenchOptions, median, type Row, ratio, round, spread } from './lib';
import { createLocalTable } from './store';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';

/** Runs `write` for every id, 25 at a time (the local store is the bottleneck, not the order). */
async function forEach(ids: readonly string[], write: (id: string) => Promise<unknown>) {
  for (let i = 0; i < ids.length; i += 25) await Promise.all(ids.slice(i, i + 25).map(write));
}

/**
 * One orchestrator pass over a rollout that touches every location and is baking (gates read,
 * nothing to move): wall time and DynamoDB requests per pass, for 10, 100 and 500 locations,
 * against the local store.
 */
export async function reconcileScaling(
  storeEndpoint: string,
  options: BenchOptions
): Promise<Row[]> {
  const rows: Row[] = [];
  let baseMs = 0;
  let baseRequests = 0;
  for (const n of [10, 100, 500]) {
    const environment = benchEnvironment(n, 1);
    const tableName = await createLocalTable(storeEndpoint, `orbit-bench-reconcile-${n}`);
    const table = createTableClient({ region: 'us-east-1', endpoint: storeEndpoint });
    let requests = 0;
    table.middlewareStack.add(
      (next) => async (args) => {
        requests += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countRequests' }
    );
    const now = Date.now();
    const ids = environment.locations.map((l) => l.id);
    const store = new Records(table, tableName);
    await forEach(ids, (id) =>
      store.desired.put(id, { stable: R1, candidate: R2, weight: 1 }, now)
    );
    await forEach(ids, (id) =>
      store.heartbeats.write({
        instanceId: 'bench-host',
        startedAt: new Date(now).toISOString(),
        locationId: id,
        at: new Date(now).toISOString(),
        atMs: now,
        intervalSeconds: 3600,
        stable: R1,
        candidate: R2,
        weight: 1,
        totals: { [R2]: { requests: 10, errors4xx: 0, errors5xx: 0 } },
        releases: { [R2]: { requests: 10, errors4xx: 0, errors5xx: 0, p50Ms: 5, p99Ms: 10 } },
      })
    );
    const rollout: Rollout = {
      rolloutId: `ro-bench${n}`,
      release: R2,
      previous: Object.fromEntries(ids.map((id) => [id, R1])),
      status: 'running',
      wave: 1,
      step: 0,
      phase: 'baking',
      bakeUntilMs: now + 3_600_000,
      baseline: Object.fromEntries(ids.map((id) => [id, { requests: 0, errors5xx: 0 }])),
      touched: ids,
      version: 1,
      createdBy: 'bench',
      createdAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
      history: [],
    };
    await store.rollouts.save(rollout);
    await store.rollouts.claimActive(rollout.rolloutId);
    // One driver and one health source for the fleet, as the local fleet and the Lambda wire them.
    const driver = new SatelliteTrafficDriver(store);
    const health = new HeartbeatHealthSource(store);
    const orchestrator = new Orchestrator({
      environment,
      records: store,
      driverFor: () => driver,
      healthFor: () => health,
    });
    await orchestrator.reconcile();
    const times: number[] = [];
    const counts: number[] = [];
    for (let r = 0; r < (options.quick ? 3 : 7); r++) {
      requests = 0;
      const started = performance.now();
      await orchestrator.reconcile();
      times.push(performance.now() - started);
      counts.push(requests);
    }
    table.destroy();
    const ms = median(times);
    const count = median(counts);
    if (n === 10) {
      baseMs = ms;
      baseRequests = count;
    }
    options.log(`reconcile: ${n} locations, ${round(ms)} ms, ${count} requests`);
    rows.push({
      figure: `reconcile pass, ${n} locations: wall time`,
      value: round(ms),
      unit: 'ms',
      baseline: round(baseMs),
      ratio: ratio(ms, baseMs),
      spread: spread(times),
      target: n === 500 ? '≤ 1000 ms' : undefined,
      met: n === 500 ? ms <= 1000 : undefined,
    });
    rows.push({
      figure: `reconcile pass, ${n} locations: DynamoDB requests`,
      value: count,
      unit: 'requests',
      baseline: baseRequests,
      ratio: ratio(count, baseRequests),
      target: 'sub-linear in locations',
      met: n === 10 ? undefined : count / baseRequests < n / 10,
    });
  }
  return rows;
}
