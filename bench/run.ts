/**
 * `npm run bench` (`-- --quick` for a short run): every figure Orbit is judged by, each with
 * its baseline measured in this same run on this machine, printed as one table and written
 * to bench/results.json. Benchmarks never fail on a number; they report it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import * as path from 'node:path';
import { buildRelease } from '../lib/release/build';
import { judgeCost, waveConvergence } from './analysis';
import { artifactDownloads } from './artifacts';
import { bundleSizes, initTimes } from './bundles';
import { cliLatency } from './cli';
import { fleetStart, rolloutConvergence } from './fleet';
import { type BenchOptions, type Row, render } from './lib';
import { middlewareOverhead } from './middleware';
import { reconcileScaling } from './reconcile';
import { runtimeThroughput } from './runtime';
import { createLocalTable, startBenchStore } from './store';
import { synthScaling } from './synth';
import { workersScaling } from './workers';

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const quick = process.argv.includes('--quick');
  const options: BenchOptions = { quick, log: (line) => process.stderr.write(`  ${line}\n`) };
  const started = Date.now();
  process.stderr.write(`orbit bench${quick ? ' (quick)' : ''}: building the release…\n`);
  const release = await buildRelease();
  const store = await startBenchStore();
  await createLocalTable(store.endpoint, 'orbit-bench');
  const rows: Row[] = [];
  try {
    rows.push(...bundleSizes(release));
    rows.push(...(await initTimes(release, options)));
    rows.push(...(await middlewareOverhead(options, store.endpoint)));
    rows.push(...(await runtimeThroughput(release, store.endpoint, options)));
    rows.push(...(await workersScaling(release, store.endpoint, options)));
    rows.push(...(await fleetStart(release, options)));
    rows.push(...(await rolloutConvergence(release, options)));
    rows.push(...(await reconcileScaling(store.endpoint, options)));
    rows.push(...judgeCost(options));
    rows.push(...(await waveConvergence(store.endpoint, options)));
    rows.push(...synthScaling(release, options));
    rows.push(await artifactDownloads(release, options));
    rows.push(...(await cliLatency(release, options)));
  } finally {
    await store.stop();
  }
  const machine = {
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    platform: `${process.platform} ${process.arch}`,
  };
  console.log(render(rows));
  for (const r of rows.filter((x) => x.note)) console.log(`  ${r.figure}: ${r.note}`);
  console.log(
    `\n${machine.cpus}, ${machine.memoryGb} GB, Node ${machine.node}; ${Math.round((Date.now() - started) / 1000)} s`
  );
  const out = path.join(__dirname, 'results.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), quick, machine, release: release.manifest.releaseId, rows }, null, 2)}\n`
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`orbit bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
