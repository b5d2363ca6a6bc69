import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import type { Release } from '../core/manifest';
import { Records } from '../core/records';
import { createTableClient } from '../core/records/table';
import { ItemStore } from '../functions/api/items/store';
import { startDevIssuer } from '../lib/local/dev-issuer';
import { buildRelease } from '../lib/release/build';
import { runAlone } from './alone';
import {
  BENCH_TABLE,
  benchHosts,
  coldStartRows,
  cpuTimeUs,
  type Host,
  type HostSpec,
  startHost,
  stopHost,
} from './hosts';
import { type BenchOptions, median, type Row, round, spread } from './lib';

const TABLE = BENCH_TABLE;

/** One load's outcome. */
interface Load {
  readonly rps: number;
  readonly p99: number;
  readonly errors: number;
  /** The host's CPU time per answered request, µs. */
  readonly cpuUs: number;
}

async function load(
  host: Host,
  route: string,
  headers: Record<string, string>,
  connections: number,
  seconds: number
): Promise<Load> {
  const pid = host.child.pid as number;
  const cpuBefore = cpuTimeUs(pid);
  const result = await autocannon({
    url: `${host.url}${route}`,
    connections,
    duration: seconds,
    headers,
  });
  const cpu = cpuTimeUs(pid) - cpuBefore;
  const answered = result.requests.total;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuUs: answered > 0 ? cpu / answered : Number.NaN,
  };
}

/**
 * Loads every host in turn, `rounds` times, rotating the order each round so that no host
 * always runs first or last (the machine's noise drifts within a run): the loads of one
 * round are the pairs the ratios are taken from.
 */
async function interleaved(
  hosts: readonly Host[],
  route: string,
  headers: Record<string, string>,
  connections: number,
  options: BenchOptions
): Promise<Map<string, Load[]>> {
  // Odd counts, so that the median is a round that ran.
  const rounds = options.quick ? 3 : 5;
  const seconds = options.quick ? 1 : 3;
  const out = new Map<string, Load[]>(hosts.map((h) => [h.name, []]));
  for (const h of hosts) await load(h, route, headers, connections, options.quick ? 0.5 : 1);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts[(i + r) % hosts.length] as Host;
      out.get(h.name)?.push(await load(h, route, headers, connections, seconds));
    }
  }
  return out;
}

/**
 * Median and spread of the paired ratios `of(a) / of(b)` over the rounds. A round where
 * either side is 0 is left out (a p99 below autocannon's 1 ms resolution has no ratio), and
 * with none left the row has no ratio (null).
 */
function paired(a: readonly Load[], b: readonly Load[], of: (l: Load) => number) {
  const ratios = a.flatMap((l, i) => {
    const ours = of(l);
    const base = of(b[i] as Load);
    return ours > 0 && base > 0 ? [ours / base] : [];
  });
  return ratios.length === 0
    ? { ratio: null, spread: undefined }
    : { ratio: round(median(ratios), 3), spread: `${spread(ratios)}×` };
}

/** A row comparing Orbit with one baseline on one figure, judged by `atMost` or `atLeast`. */
function compare(
  figure: string,
  ours: readonly Load[],
  base: readonly Load[],
  of: (l: Load) => number,
  unit: string,
  digits: number,
  target?: { readonly atLeast?: number; readonly atMost?: number }
): Row {
  const { ratio, spread } = paired(ours, base, of);
  const met =
    target === undefined || ratio === null
      ? undefined
      : target.atLeast !== undefined
        ? ratio >= target.atLeast
        : ratio <= (target.atMost as number);
  return {
    figure,
    value: round(median(ours.map(of)), digits),
    unit,
    baseline: round(median(base.map(of)), digits),
    ratio,
    spread,
    target:
      target === undefined
        ? undefined
        : target.atLeast !== undefined
          ? `≥ ${target.atLeast}×`
          : `≤ ${target.atMost}×`,
    met,
  };
}

const rps = (l: Load) => l.rps;
const p99 = (l: Load) => l.p99;
const cpu = (l: Load) => l.cpuUs;

/**
 * The satellite runtime against the hosts a user would otherwise pick, hosting the very same
 * bundles, interleaved in one run at 50 and 10 connections (autocannon on loopback, each host
 * its own process): the release's `health` bundle behind a raw `node:http` adapter building
 * the same payload 2.0 event (with and without the invoke store), behind a fastify adapter,
 * and in Orbit's runtime; a trivial handler behind the raw adapter and in Orbit's runtime;
 * cold start against the fastify adapter; and `GET /items/{id}` with a token (store-bound,
 * no baseline). Ratios are medians of the rounds' paired ratios; spread is their min–max.
 */
export async function runtimeThroughput(
  release: Release,
  storeEndpoint: string,
  options: BenchOptions
): Promise<Row[]> {
  const table = createTableClient({ region: 'us-east-1', endpoint: storeEndpoint });
  const records = new Records(table, TABLE);
  const trivial = await buildRelease({
    functionsDir: path.join(__dirname, 'fixtures', 'functions'),
    outDir: mkdtempSync(path.join(tmpdir(), 'orbit-bench-trivial-')),
  });
  await records.desired.put(
    'bench-sat',
    { stable: release.manifest.releaseId, weight: 0 },
    Date.now()
  );
  await records.desired.put(
    'bench-trivial',
    { stable: trivial.manifest.releaseId, weight: 0 },
    Date.now()
  );
  // The sample app's item, written as the items function writes it.
  await new ItemStore({ table, tableName: TABLE, locationId: 'bench' }).put('bench-item', {
    hello: 'bench',
  });
  const issuer = await startDevIssuer(0, 'orbit-bench');
  const token = await issuer.issue('bench');

  const { orbit: orbitHost, adapter } = benchHosts({ storeEndpoint, issuer: issuer.issuer });
  // One process against one-process adapters (bench/workers.ts measures more workers).
  const orbit = (name: string, of: Release, locationId: string) =>
    orbitHost(name, of, locationId, 1);

  const healthSpecs = [
    orbit('orbit', release, 'bench-sat'),
    adapter('raw', 'raw.js', release, 'health', false),
    adapter('raw+store', 'raw.js', release, 'health', true),
    adapter('fastify+store', 'fastify.js', release, 'health', true),
  ];
  const trivialSpecs = [
    orbit('orbit', trivial, 'bench-trivial'),
    adapter('raw', 'raw.js', trivial, 'trivial', false),
  ];
  const rows: Row[] = [];
  let hosts: Host[] = [];
  try {
    // Cold starts first, on a quiet machine.
    rows.push(
      ...(await coldStartRows(
        'one process',
        healthSpecs[0] as HostSpec,
        healthSpecs[3] as HostSpec,
        options
      ))
    );

    hosts = await Promise.all(healthSpecs.map(startHost));
    for (const connections of [50, 10]) {
      const runs = await interleaved(hosts, 'health', {}, connections, options);
      const at = (name: string) => runs.get(name) ?? [];
      const ours = at('orbit');
      const c = `${connections} connections`;
      const main = connections === 50;
      options.log(
        `runtime /health c${connections}: ${hosts.map((h) => `${h.name} ${round(median(at(h.name).map(rps)), 0)} req/s`).join(', ')}`
      );
      rows.push(
        compare(
          `runtime GET /health req/s, ${c}, vs raw adapter + invoke store`,
          ours,
          at('raw+store'),
          rps,
          'req/s',
          0,
          main ? { atLeast: 0.9 } : undefined
        ),
        compare(
          `runtime GET /health req/s, ${c}, vs fastify adapter + invoke store`,
          ours,
          at('fastify+store'),
          rps,
          'req/s',
          0,
          main ? { atLeast: 1.0 } : undefined
        ),
        compare(
          `runtime GET /health req/s, ${c}, vs raw adapter without invoke store`,
          ours,
          at('raw'),
          rps,
          'req/s',
          0
        ),
        compare(
          `runtime GET /health CPU per request, ${c}, vs raw adapter + invoke store`,
          ours,
          at('raw+store'),
          cpu,
          'µs',
          1,
          main ? { atMost: 1.1 } : undefined
        ),
        compare(
          `runtime GET /health p99, ${c}, vs raw adapter + invoke store`,
          ours,
          at('raw+store'),
          p99,
          'ms',
          2
        )
      );
      const errors = ours.reduce((n, l) => n + l.errors, 0);
      if (errors > 0) options.log(`runtime /health c${connections}: ${errors} errors`);
    }

    // /items is bound by the store (dynalite, one JavaScript thread): Orbit alone, no baseline.
    const orbitHost = hosts[0] as Host;
    const items = await load(
      orbitHost,
      'items/bench-item',
      { authorization: `Bearer ${token}` },
      50,
      options.quick ? 1 : 5
    );
    rows.push({
      figure: 'runtime GET /items/{id} req/s, 50 connections (store-bound)',
      value: round(items.rps, 0),
      unit: 'req/s',
      baseline: null,
      ratio: null,
      note: `${items.errors} errors, p99 ${items.p99} ms`,
    });
    await Promise.all(hosts.map(stopHost));

    hosts = await Promise.all(trivialSpecs.map(startHost));
    for (const connections of [50, 10]) {
      const runs = await interleaved(hosts, 'trivial', {}, connections, options);
      const ours = runs.get('orbit') ?? [];
      const raw = runs.get('raw') ?? [];
      const c = `${connections} connections`;
      const main = connections === 50;
      options.log(
        `runtime trivial c${connections}: orbit ${round(median(ours.map(rps)), 0)} req/s, raw ${round(median(raw.map(rps)), 0)} req/s`
      );
      rows.push(
        compare(
          `runtime trivial handler req/s, ${c}, vs raw node:http, same event`,
          ours,
          raw,
          rps,
          'req/s',
          0,
          main ? { atLeast: 0.75 } : undefined
        ),
        compare(
          `runtime trivial handler p99, ${c}, vs raw node:http, same event`,
          ours,
          raw,
          p99,
          'ms',
          2,
          main ? { atMost: 1.5 } : undefined
        ),
        compare(
          `runtime trivial handler CPU per request, ${c}, vs raw node:http`,
          ours,
          raw,
          cpu,
          'µs',
          1
        )
      );
    }
    return rows;
  } finally {
    await Promise.all(hosts.map(stopHost));
    await issuer.stop();
    table.destroy();
  }
}

// `npx tsx bench/runtime.ts [--quick]`: this figure alone, with its own release and store.
if (require.main === module) {
  runAlone(async ({ options, release, storeEndpoint }) =>
    runtimeThroughput(await release(), await storeEndpoint(), options)
  );
}
