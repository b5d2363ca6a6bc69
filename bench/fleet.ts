import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Release } from '../core/manifest';
import { tableNameOf } from '../core/names';
import { Records } from '../core/records';
import { createTableClient } from '../core/records/table';
import { stageEverywhere, startLocalFleet } from '../lib/local/fleet';
import { benchEnvironment } from './environments';
import { type BenchOptions, median, type Row, ratio, round, spread } from './lib';

let nextPort = 6100;
const ports = (n: number) => {
  const base = nextPort;
  nextPort += n + 10;
  return base;
};

/** `npm start` to every location answering /health, for 3 and 12 locations (release built). */
export async function fleetStart(release: Release, options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of [3, 12]) {
    const times: number[] = [];
    for (let r = 0; r < (options.quick ? 1 : 3); r++) {
      const environment = benchEnvironment(n);
      const started = performance.now();
      const fleet = await startLocalFleet({ environment, basePort: ports(n), release });
      await Promise.all(
        fleet.locations.map((l) => fetch(`${l.url}health`).then((res) => res.arrayBuffer()))
      );
      times.push((performance.now() - started) / 1000);
      await fleet.stop();
    }
    options.log(`fleet start: ${n} locations in ${round(median(times))} s`);
    rows.push({
      figure: `local fleet start, ${n} locations`,
      value: round(median(times)),
      unit: 's',
      baseline: null,
      ratio: null,
      spread: spread(times),
      target: n === 12 ? '≤ 5 s' : undefined,
      met: n === 12 ? median(times) <= 5 : undefined,
    });
  }
  return rows;
}

/**
 * Rollout convergence on the local fleet with bake times at zero: from `rollout start` to
 * the candidate stable everywhere, against steps × reconcile interval.
 */
export async function rolloutConvergence(release: Release, options: BenchOptions): Promise<Row[]> {
  const interval = 0.5;
  const environment = benchEnvironment(4);
  const steps = environment.rollout.waves.reduce((n, w) => n + w.steps.length, 0);
  const fleet = await startLocalFleet({
    environment,
    basePort: ports(4),
    release,
    pullIntervalSeconds: 0.25,
    reconcileIntervalSeconds: interval,
  });
  let running = true;
  const traffic = fleet.locations.map(async (l) => {
    while (running) {
      await fetch(`${l.url}health`).then(
        (r) => r.arrayBuffer(),
        () => undefined
      );
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  const table = createTableClient({ region: 'us-east-1', endpoint: fleet.storeEndpoint });
  const store = new Records(table, tableNameOf(environment));
  const times: number[] = [];
  try {
    // The first rollout warms the runtimes and the loop up and is not counted.
    const rollouts = 1 + (options.quick ? 1 : 5);
    for (let r = 0; r < rollouts; r++) {
      const id = `r-${String(r + 1).padStart(16, 'c')}`;
      const dir = path.join(path.dirname(release.dir), id);
      cpSync(release.dir, dir, { recursive: true });
      const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      writeFileSync(
        path.join(dir, 'manifest.json'),
        JSON.stringify({ ...manifest, releaseId: id })
      );
      // With its manifest, so that the fleet signs it (runtimes load only signed releases).
      await stageEverywhere(environment, store, id, { ...manifest, releaseId: id });
      const started = performance.now();
      await store.intents.submit({ command: 'start', release: id }, 'bench');
      fleet.wake(); // as `npx orbit rollout start` does
      for (;;) {
        await new Promise((res) => setTimeout(res, 50));
        const active = await store.rollouts.activeId();
        const latest = (await store.rollouts.list(1))[0];
        if (!active && latest?.release === id) {
          if (latest.status !== 'completed')
            throw new Error(`rollout ended ${latest.status}: ${latest.reason}`);
          break;
        }
      }
      if (r > 0) times.push((performance.now() - started) / 1000);
    }
  } finally {
    running = false;
    await Promise.all(traffic);
    table.destroy();
    await fleet.stop();
  }
  const baseline = steps * interval;
  options.log(`convergence: ${round(median(times))} s for ${steps} steps at ${interval} s`);
  return [
    {
      figure: `rollout convergence, ${steps} steps, bake 0`,
      value: round(median(times)),
      unit: 's',
      baseline,
      ratio: ratio(median(times), baseline),
      spread: spread(times),
      target: '≤ 1.2×',
      met: median(times) / baseline <= 1.2,
    },
  ];
}
