import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import autocannon from 'autocannon';
import type { Release } from '../core/manifest';
import { Records } from '../core/records';
import { createTableClient } from '../core/records/table';
import { startDevIssuer } from '../lib/local/dev-issuer';
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
const LOCATION = 'bench-workers';

/** One load's outcome, as the load generator's process reports it. */
interface Load {
  readonly rps: number;
  readonly p99: number;
  readonly errors: number;
  /** The host's CPU time (primary and workers) per answered request, µs. */
  readonly hostCpuUs: number;
  /** The load generator's own CPU time per answered request, µs. */
  readonly loadCpuUs: number;
}

/** The process and its children (a primary's workers), from /proc. */
function processTree(pid: number): number[] {
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [pid, ...children];
}

/** CPU time of these processes, in µs; NaN where it cannot be read. */
const treeCpuTimeUs = (pids: readonly number[]): number =>
  pids.reduce((sum, pid) => sum + cpuTimeUs(pid), 0);

/**
 * The core the load generator is pinned to (the last one), or undefined where it cannot be:
 * no `taskset`, or a single core.
 */
function loadCore(): number | undefined {
  if (availableParallelism() < 2) return undefined;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return availableParallelism() - 1;
  } catch {
    return undefined;
  }
}

/**
 * One load from a process of its own (this file with `--load`), pinned to `core` when given,
 * so that the load generator's work is counted apart from the host's and, where the machine
 * has a core to spare, does not take the workers' cores.
 */
async function load(
  host: Host,
  route: string,
  connections: number,
  seconds: number,
  core: number | undefined
): Promise<Load> {
  const pids = processTree(host.child.pid as number);
  const before = treeCpuTimeUs(pids);
  const args = [
    ...process.execArgv,
    __filename,
    '--load',
    `${host.url}${route}`,
    String(connections),
    String(seconds),
  ];
  const child =
    core === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn('taskset', ['-c', String(core), process.execPath, ...args], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  const hostCpu = treeCpuTimeUs(pids) - before;
  const r = JSON.parse(out) as {
    rps: number;
    p99: number;
    errors: number;
    total: number;
    cpuUs: number;
  };
  return {
    rps: r.rps,
    p99: r.p99,
    errors: r.errors,
    hostCpuUs: r.total > 0 ? hostCpu / r.total : Number.NaN,
    loadCpuUs: r.total > 0 ? r.cpuUs / r.total : Number.NaN,
  };
}

/**
 * The runtime on every core: `GET /health` (the release's own bundle) at 50 connections
 * against 2 workers (`ORBIT_WORKERS=2`) and 1, interleaved in one run, with the load
 * generator in a process of its own pinned to the last core (taskset) where there is one to
 * pin; the ratio is the median of the rounds' paired ratios. Also the host's and the load
 * generator's CPU per request, from which the ceiling on this machine follows (every core
 * busy: the host's and the load generator's work per request share them), and the cold start
 * (spawn to first 200) of the default, one worker per core, against the fastify adapter
 * hosting the same bundle.
 */
export async function workersScaling(
  release: Release,
  storeEndpoint: string,
  options: BenchOptions
): Promise<Row[]> {
  const table = createTableClient({ region: 'us-east-1', endpoint: storeEndpoint });
  await new Records(table, TABLE).desired.put(
    LOCATION,
    { stable: release.manifest.releaseId, weight: 0 },
    Date.now()
  );
  const issuer = await startDevIssuer(0, 'orbit-bench');
  const specs = benchHosts({ storeEndpoint, issuer: issuer.issuer });
  const orbit = (workers: number): HostSpec =>
    specs.orbit(`${workers} worker${workers > 1 ? 's' : ''}`, release, LOCATION, workers);
  const fastify = specs.adapter('fastify+store', 'fastify.js', release, 'health', true);
  const cores = availableParallelism();
  const rows: Row[] = [];
  let hosts: Host[] = [];
  try {
    // Cold starts first, on a quiet machine.
    const byDefault = orbit(cores);
    rows.push(
      ...(await coldStartRows(`${byDefault.name} (one per core)`, byDefault, fastify, options))
    );

    const core = loadCore();
    hosts = await Promise.all([orbit(2), orbit(1)].map(startHost));
    const rounds = options.quick ? 3 : 5;
    const seconds = options.quick ? 1 : 3;
    const runs = new Map<string, Load[]>(hosts.map((h) => [h.name, []]));
    for (const h of hosts) await load(h, 'health', 50, options.quick ? 0.5 : 1, core);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < hosts.length; i++) {
        const h = hosts[(i + r) % hosts.length] as Host;
        runs.get(h.name)?.push(await load(h, 'health', 50, seconds, core));
      }
    }
    const two = runs.get('2 workers') ?? [];
    const one = runs.get('1 worker') ?? [];
    const pairs = (of: (l: Load) => number) => two.map((l, i) => of(l) / of(one[i] as Load));
    const rpsRatios = pairs((l) => l.rps);
    const scaling = round(median(rpsRatios), 3);
    const hostCpu2 = median(two.map((l) => l.hostCpuUs));
    const loadCpu = median([...two, ...one].map((l) => l.loadCpuUs));
    // Every core busy: what the host and the load generator spend per request shares them.
    const ceiling = (cores * 1e6) / (hostCpu2 + loadCpu);
    const pinned =
      core === undefined ? 'load generator unpinned' : `load generator pinned to core ${core}`;
    options.log(
      `runtime workers /health c50: 2 workers ${round(median(two.map((l) => l.rps)), 0)} req/s, 1 worker ${round(median(one.map((l) => l.rps)), 0)} req/s (${pinned})`
    );
    rows.push(
      {
        figure: `runtime GET /health req/s, 50 connections, 2 workers vs 1 (${pinned}, ${cores} cores)`,
        value: round(median(two.map((l) => l.rps)), 0),
        unit: 'req/s',
        baseline: round(median(one.map((l) => l.rps)), 0),
        ratio: scaling,
        spread: `${spread(rpsRatios)}×`,
        note:
          `host CPU ${round(hostCpu2, 0)} µs/req with 2 workers (${round(median(one.map((l) => l.hostCpuUs)), 0)} with 1), ` +
          `load generator ${round(loadCpu, 0)} µs/req: ${cores} cores busy allow at most ${round(ceiling, 0)} req/s ` +
          `(${round(ceiling / median(one.map((l) => l.rps)), 2)}× one worker) on this machine; ` +
          `errors ${[...two, ...one].reduce((n, l) => n + l.errors, 0)}`,
      },
      {
        figure:
          'runtime GET /health CPU per request (primary + workers), 50 connections, 2 workers vs 1',
        value: round(hostCpu2, 1),
        unit: 'µs',
        baseline: round(median(one.map((l) => l.hostCpuUs)), 1),
        ratio: round(median(pairs((l) => l.hostCpuUs)), 3),
        spread: `${spread(pairs((l) => l.hostCpuUs))}×`,
      },
      {
        figure: 'runtime GET /health p99, 50 connections, 2 workers vs 1',
        value: round(median(two.map((l) => l.p99)), 2),
        unit: 'ms',
        baseline: round(median(one.map((l) => l.p99)), 2),
        ratio: round(median(pairs((l) => l.p99)), 3),
        spread: `${spread(pairs((l) => l.p99))}×`,
      }
    );
    return rows;
  } finally {
    await Promise.all(hosts.map(stopHost));
    await issuer.stop();
    table.destroy();
  }
}

/** The load generator's process: one autocannon run, its figures and own CPU as JSON. */
async function loadProcess(url: string, connections: number, seconds: number): Promise<void> {
  const cpu = process.cpuUsage();
  const result = await autocannon({ url, connections, duration: seconds });
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    JSON.stringify({
      rps: result.requests.average,
      p99: result.latency.p99,
      errors: result.errors + result.non2xx,
      total: result.requests.total,
      cpuUs: used.user + used.system,
    })
  );
}

// `npx tsx bench/workers.ts [--quick]`: these figures alone, with their own release and store.
if (require.main === module) {
  const at = process.argv.indexOf('--load');
  if (at >= 0) {
    // The load generator's own process (see loadProcess).
    const [url, connections, seconds] = process.argv.slice(at + 1);
    loadProcess(url as string, Number(connections), Number(seconds)).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      }
    );
  } else {
    runAlone(async ({ options, release, storeEndpoint }) =>
      workersScaling(await release(), await storeEndpoint(), options)
    );
  }
}
