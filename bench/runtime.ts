import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import type { Release } from '../core/manifest';
import { Records } from '../core/records';
import { createTableClient } from '../core/records/table';
import { ItemStore } from '../functions/api/items/store';
import { startDevIssuer } from '../lib/local/dev-issuer';
import { type BenchOptions, type Row, ratio, round } from './lib';

const BARE_SERVER = `
const http = require('node:http');
const body = process.env.BODY;
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(0, '127.0.0.1', function () { console.log(JSON.stringify({ event: 'ready', url: 'http://127.0.0.1:' + this.address().port + '/' })); });
`;

function ready(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith('{"event":"ready"')) resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function load(url: string, headers: Record<string, string>, seconds: number) {
  const result = await autocannon({ url, connections: 50, duration: seconds, headers });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

/**
 * The satellite runtime on loopback at 50 connections (autocannon), `GET /health` and
 * `GET /items/{id}` (with a token), against a bare `node:http` server answering the same JSON.
 */
export async function runtimeThroughput(
  release: Release,
  storeEndpoint: string,
  options: BenchOptions
): Promise<Row[]> {
  const tableName = 'orbit-bench';
  const table = createTableClient({ region: 'us-east-1', endpoint: storeEndpoint });
  await new Records(table, tableName).desired.put(
    'bench-sat',
    { stable: release.manifest.releaseId, weight: 0 },
    Date.now()
  );
  // The sample app's item, written as the items function writes it.
  await new ItemStore({ table, tableName, locationId: 'bench' }).put('bench-item', {
    hello: 'bench',
  });
  const issuer = await startDevIssuer(0, 'orbit-bench');
  const token = await issuer.issue('bench');
  // ORBIT_BENCH_PROFILE=DIR writes the runtime's CPU profile there (open it in Chrome DevTools).
  const profile = process.env.ORBIT_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ORBIT_BENCH_PROFILE}`]
    : [];
  const runtimeFile = path.join(release.dir, release.manifest.runtime.file);
  const runtime = spawn(process.execPath, [...profile, runtimeFile], {
    env: {
      ...process.env,
      ORBIT_ENVIRONMENT: 'bench',
      ORBIT_LOCATION_ID: 'bench-sat',
      ORBIT_LOCATION_KIND: 'on-prem',
      ORBIT_REGION: 'us-east-1',
      ORBIT_TABLE_NAME: tableName,
      ORBIT_DATA_REGION: 'us-east-1',
      ORBIT_DYNAMODB_ENDPOINT: storeEndpoint,
      ORBIT_RUNTIME_PORT: '0',
      ORBIT_RUNTIME_HOST: '127.0.0.1',
      ORBIT_ARTIFACTS: path.dirname(release.dir),
      ORBIT_AUTH_ISSUER: issuer.issuer,
      ORBIT_AUTH_AUDIENCE: 'orbit-bench',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const children: ChildProcess[] = [runtime];
  try {
    const url = await ready(runtime);
    const seconds = options.quick ? 2 : 10;
    const warmUp = options.quick ? 0.5 : 1;
    const rows: Row[] = [];
    for (const [name, route, headers] of [
      ['GET /health', 'health', {}],
      ['GET /items/{id}', 'items/bench-item', { authorization: `Bearer ${token}` }],
    ] as const) {
      const sample = await fetch(`${url}${route}`, { headers });
      const body = await sample.text();
      const bare = spawn(process.execPath, ['-e', BARE_SERVER], {
        env: { ...process.env, BODY: body },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(bare);
      const bareUrl = await ready(bare);
      await load(`${url}${route}`, headers, warmUp);
      await load(bareUrl, {}, warmUp);
      const base = await load(bareUrl, {}, seconds);
      const ours = await load(`${url}${route}`, headers, seconds);
      bare.kill();
      options.log(
        `runtime ${name}: ${round(ours.rps, 0)} req/s vs ${round(base.rps, 0)} bare (errors ${ours.errors})`
      );
      rows.push({
        figure: `runtime ${name}, requests/s at 50 connections`,
        value: round(ours.rps, 0),
        unit: 'req/s',
        baseline: round(base.rps, 0),
        ratio: ratio(ours.rps, base.rps),
        target: '≥ 0.7× baseline',
        met: ours.rps / base.rps >= 0.7,
        note: `${ours.errors} errors`,
      });
      rows.push({
        figure: `runtime ${name}, p99 latency`,
        value: ours.p99,
        unit: 'ms',
        baseline: base.p99,
        ratio: ratio(ours.p99, base.p99),
      });
    }
    return rows;
  } finally {
    for (const c of children) c.kill();
    await issuer.stop();
    table.destroy();
  }
}
