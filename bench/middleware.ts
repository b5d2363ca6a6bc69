import { performance } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';
import { defineFunction } from '../core/declaration';
import { createTableClient } from '../core/records/table';
import type { OrbitEvent } from '../functions/shared/http';
import { orbitHandler } from '../functions/shared/orbit-handler';
import { type BenchOptions, median, percentile, type Row, ratio, round, spread } from './lib';

const event = (): OrbitEvent =>
  ({
    version: '2.0',
    routeKey: 'GET /bench/{id}',
    rawPath: '/bench/abc',
    rawQueryString: '',
    headers: { host: 'bench', 'user-agent': 'bench' },
    pathParameters: { id: 'abc' },
    requestContext: {
      accountId: '1',
      apiId: 'bench',
      domainName: 'bench',
      domainPrefix: 'bench',
      http: {
        method: 'GET',
        path: '/bench/abc',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'bench',
      },
      requestId: 'r',
      routeKey: 'GET /bench/{id}',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  }) as OrbitEvent;

const context = {
  awsRequestId: 'a',
  functionName: 'bench',
  getRemainingTimeInMillis: () => 10_000,
} as Context;

async function timings(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out[i] = (performance.now() - t) * 1000;
  }
  return out;
}

/**
 * Per-invocation overhead of the full middleware stack (logger, EMF metrics, routing, drain,
 * auth check, validation, headers, error mapping) over the same logic with no middleware.
 * EMF is on, as in production; its output goes nowhere during the run.
 */
export async function middlewareOverhead(
  options: BenchOptions,
  storeEndpoint: string
): Promise<Row[]> {
  const logic = async (id: string) => ({ id, ok: true });
  const declaration = defineFunction({
    routes: [{ method: 'GET', path: '/bench/{id}', auth: 'none' }],
  });
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  const handler = orbitHandler(
    declaration,
    {
      'GET /bench/{id}': {
        handle: async ({ params }) => ({ status: 200, body: await logic(params.id) }),
      },
    },
    {
      functionName: 'bench',
      location: {
        environment: 'bench',
        locationId: 'bench',
        locationKind: 'region',
        region: 'us-east-1',
        releaseId: 'r-0000000000000000',
        tableName: 'orbit-bench',
        dataRegion: 'us-east-1',
      },
      table: createTableClient({ region: 'us-east-1', endpoint: storeEndpoint }),
      drainCacheMs: 3_600_000,
    }
  );
  const bare = async (e: OrbitEvent) => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(await logic(e.pathParameters?.id as string)),
  });
  const n = options.quick ? 3_000 : 20_000;
  const rounds = options.quick ? 2 : 5;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const p50s: { mw: number; base: number }[] = [];
  const p99s: { mw: number; base: number }[] = [];
  try {
    await timings(() => handler(event(), context), 2_000);
    await timings(() => bare(event()), 2_000);
    for (let r = 0; r < rounds; r++) {
      const base = await timings(() => bare(event()), n);
      const mw = await timings(() => handler(event(), context), n);
      p50s.push({ mw: percentile(mw, 0.5), base: percentile(base, 0.5) });
      p99s.push({ mw: percentile(mw, 0.99), base: percentile(base, 0.99) });
    }
  } finally {
    process.stdout.write = write;
  }
  const added50 = p50s.map((p) => p.mw - p.base);
  const base50 = median(p50s.map((p) => p.base));
  const mw50 = median(p50s.map((p) => p.mw));
  const base99 = median(p99s.map((p) => p.base));
  const mw99 = median(p99s.map((p) => p.mw));
  options.log(`middleware: p50 ${round(mw50)} µs vs ${round(base50)} µs bare`);
  return [
    {
      figure: 'middleware stack, p50 per invocation',
      value: round(mw50),
      unit: 'µs',
      baseline: round(base50),
      ratio: ratio(mw50, base50),
      spread: spread(p50s.map((p) => p.mw)),
      target: '≤ 25 µs added',
      met: median(added50) <= 25,
      note: `added ${round(median(added50))} µs at p50`,
    },
    {
      figure: 'middleware stack, p99 per invocation',
      value: round(mw99),
      unit: 'µs',
      baseline: round(base99),
      ratio: ratio(mw99, base99),
      spread: spread(p99s.map((p) => p.mw)),
      note: `added ${round(mw99 - base99)} µs at p99`,
    },
  ];
}
