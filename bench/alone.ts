import type { Release } from '../core/manifest';
import { buildRelease } from '../lib/release/build';
import { type BenchOptions, type Row, render } from './lib';
import { createLocalTable, startBenchStore } from './store';

/** The bench table a figure run alone gets (as `npm run bench` creates it). */
const TABLE = 'orbit-bench';

/** What a bench file's figures may ask for when run alone, made only when asked. */
export interface AloneContext {
  readonly options: BenchOptions;
  /** A release built from `functions/`. */
  release(): Promise<Release>;
  /** A bench store with the bench table; its endpoint. */
  storeEndpoint(): Promise<string>;
}

/**
 * Runs one bench file's figures by themselves (`npx tsx bench/<file>.ts [--quick]`), as
 * `npm run bench` would with that file alone: prints the table and each row's note, stops
 * what it started, and exits 0, or 1 saying why.
 */
export function runAlone(measure: (context: AloneContext) => Promise<readonly Row[]>): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stops: (() => Promise<void>)[] = [];
  let release: Promise<Release> | undefined;
  let endpoint: Promise<string> | undefined;
  const context: AloneContext = {
    options: {
      quick: process.argv.includes('--quick'),
      log: (line) => process.stderr.write(`  ${line}\n`),
    },
    release: () => {
      release ??= buildRelease();
      return release;
    },
    storeEndpoint: () => {
      endpoint ??= (async () => {
        const store = await startBenchStore();
        stops.push(store.stop);
        await createLocalTable(store.endpoint, TABLE);
        return store.endpoint;
      })();
      return endpoint;
    },
  };
  (async () => {
    try {
      const rows = await measure(context);
      console.log(render(rows));
      for (const r of rows.filter((x) => x.note)) console.log(`  ${r.figure}: ${r.note}`);
    } finally {
      for (const stop of stops) await stop();
    }
    process.exit(0);
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
