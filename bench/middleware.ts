import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { RELEASE_TARGET } from '../lib/release/build';
import { runAlone } from './alone';
import { type BenchOptions, median, percentile, type Row, round, spread } from './lib';

/** One stack's invocations: wall time and CPU time of each, µs. */
interface Timings {
  readonly wall: number[];
  readonly cpu: number[];
}

/**
 * Times `n` invocations, each by the wall clock and by the CPU time the process spent in it
 * (getrusage, 1 µs; GC threads included): what another process takes of the core counts in
 * the first only.
 */
async function timings(fn: () => Promise<unknown>, n: number): Promise<Timings> {
  const wall = new Array<number>(n);
  const cpu = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(c);
    wall[i] = (performance.now() - t) * 1000;
    cpu[i] = used.user + used.system;
  }
  return { wall, cpu };
}

/**
 * bench/fixtures/middleware-stacks.ts bundled as the release bundles a function (minified
 * CommonJS for the release's target), and loaded.
 */
async function bundledStacks(): Promise<typeof import('./fixtures/middleware-stacks')> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orbit-bench-middleware-'));
  try {
    const outfile = path.join(dir, 'stacks.js');
    await build({
      entryPoints: [path.join(__dirname, 'fixtures', 'middleware-stacks.ts')],
      outfile,
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'cjs',
      target: RELEASE_TARGET,
      mainFields: ['module', 'main'],
      supported: { 'dynamic-import': false },
      logLevel: 'silent',
    });
    return require(outfile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Per-invocation time of the full Orbit stack (logger, EMF metrics, routing, drain cache,
 * auth check, validation, headers, error mapping) against the reference stack a Powertools
 * user writes by hand (bench/fixtures/middleware-stacks.ts), same logic, and against the
 * logic bare; both bundled as a release bundles a function.
 * Rounds alternate the stacks; the ratios are medians of each round's paired ratio of what each
 * stack adds to the bare logic. The targets are on CPU time per invocation: on a machine other
 * work shares, the wall clock's p99 is mostly when another process took the core (it is
 * reported too). EMF is
 * on, as in production; its output goes nowhere during the run.
 */
export async function middlewareOverhead(
  options: BenchOptions,
  storeEndpoint: string
): Promise<Row[]> {
  const { event, context, stacks } = await bundledStacks();
  const { orbit: handler, reference, bare } = stacks(storeEndpoint);
  const n = options.quick ? 3_000 : 20_000;
  const rounds = options.quick ? 5 : 15;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  type Round = { orbit: number; reference: number; bare: number };
  type Figure = 'cpu p50' | 'cpu p99' | 'wall p99';
  const figures: Record<Figure, Round[]> = { 'cpu p50': [], 'cpu p99': [], 'wall p99': [] };
  try {
    await timings(() => handler(event(), context), 2_000);
    await timings(() => reference(event(), context), 2_000);
    await timings(() => bare(event()), 2_000);
    for (let r = 0; r < rounds; r++) {
      // The order alternates, so that neither stack always runs on a warmer heap.
      const first = r % 2 === 0;
      const base = await timings(() => bare(event()), n);
      const ref1 = first ? await timings(() => reference(event(), context), n) : undefined;
      const mw = await timings(() => handler(event(), context), n);
      const ref = ref1 ?? (await timings(() => reference(event(), context), n));
      const at = (clock: keyof Timings, q: number): Round => ({
        orbit: percentile(mw[clock], q),
        reference: percentile(ref[clock], q),
        bare: percentile(base[clock], q),
      });
      figures['cpu p50'].push(at('cpu', 0.5));
      figures['cpu p99'].push(at('cpu', 0.99));
      figures['wall p99'].push(at('wall', 0.99));
    }
  } finally {
    process.stdout.write = write;
  }
  // What each stack adds to the bare logic (which the measuring itself is part of), compared:
  // the logic is the same in both, and so is the cost of the clocks.
  const row = (figure: Figure, target: boolean): Row => {
    const rs = figures[figure];
    const added = rs.map((x) => ({ orbit: x.orbit - x.bare, reference: x.reference - x.bare }));
    const ratios = added.map((x) => x.orbit / x.reference);
    const r = round(median(ratios), 3);
    const [clock, q] = figure.split(' ') as ['cpu' | 'wall', string];
    return {
      figure: `middleware stack, ${q} ${clock === 'cpu' ? 'CPU time' : 'wall time'} per invocation, vs middy + Powertools by hand`,
      value: round(median(added.map((x) => x.orbit))),
      unit: 'µs',
      baseline: round(median(added.map((x) => x.reference))),
      ratio: r,
      spread: `${spread(ratios, 3)}×`,
      ...(target ? { target: '≤ 1.3×', met: r <= 1.3 } : {}),
      note: `added to the bare logic (${round(median(rs.map((x) => x.bare)))} µs, the clocks included) at ${q}${clock === 'wall' ? '; includes the time other processes took the core' : ''}`,
    };
  };
  const rows = [row('cpu p50', true), row('cpu p99', true), row('wall p99', false)];
  options.log(
    `middleware: p50 ${rows[0]?.value} µs vs ${rows[0]?.baseline} µs by hand, p99 ${rows[1]?.value} µs vs ${rows[1]?.baseline} µs (CPU, added to the bare logic)`
  );
  return rows;
}

// `npx tsx bench/middleware.ts [--quick]`: this figure alone, with its own store.
if (require.main === module) {
  runAlone(async ({ options, storeEndpoint }) =>
    middlewareOverhead(options, await storeEndpoint())
  );
}
