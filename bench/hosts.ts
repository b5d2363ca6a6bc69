import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { Release } from '../core/manifest';
import { type BenchOptions, median, type Row, round, spread } from './lib';

/** A server under load, in its own process. */
export interface Host {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
}

/** How to start one kind of host: the command line and the variables it runs with. */
export interface HostSpec {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/** The URL a host's `{"event":"ready",…}` line names; rejects when it exits first. */
function ready(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith('{"event":"ready"')) resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

// ORBIT_BENCH_PROFILE=DIR writes every host's CPU profile there (open it in Chrome DevTools).
const profileArgs = () =>
  process.env.ORBIT_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ORBIT_BENCH_PROFILE}`]
    : [];

/** The bench table every runtime bench host reads. */
export const BENCH_TABLE = 'orbit-bench';

/**
 * The hosts the runtime benches start, at locations of the bench's store and issuer: Orbit's
 * runtime and the adapters (`bench/adapters/`) hosting one bundle of a release with the
 * variables the runtime would load it with.
 */
export function benchHosts(setting: { readonly storeEndpoint: string; readonly issuer: string }) {
  const location = (locationId: string): NodeJS.ProcessEnv => ({
    ...process.env,
    ORBIT_ENVIRONMENT: 'bench',
    ORBIT_LOCATION_ID: locationId,
    ORBIT_LOCATION_KIND: 'on-prem',
    ORBIT_REGION: 'us-east-1',
    ORBIT_TABLE_NAME: BENCH_TABLE,
    ORBIT_DATA_REGION: 'us-east-1',
    ORBIT_DYNAMODB_ENDPOINT: setting.storeEndpoint,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  return {
    /** The release's runtime at `locationId`, with `workers` serving processes. */
    orbit: (name: string, of: Release, locationId: string, workers: number): HostSpec => ({
      name,
      args: [path.join(of.dir, of.manifest.runtime.file)],
      env: {
        ...location(locationId),
        ORBIT_RUNTIME_PORT: '0',
        ORBIT_RUNTIME_HOST: '127.0.0.1',
        ORBIT_ARTIFACTS: path.dirname(of.dir),
        ORBIT_AUTH_ISSUER: setting.issuer,
        ORBIT_AUTH_AUDIENCE: 'orbit-bench',
        ORBIT_WORKERS: String(workers),
      },
    }),
    /** An adapter hosting function `fn` of the release, with or without the invoke store. */
    adapter: (
      name: string,
      file: 'raw.js' | 'fastify.js',
      of: Release,
      fn: string,
      invokeStore: boolean
    ): HostSpec => {
      const spec = of.manifest.functions.find((f) => f.name === fn);
      if (!spec) throw new Error(`release ${of.manifest.releaseId} has no function ${fn}`);
      return {
        name,
        args: [path.join(__dirname, 'adapters', file)],
        env: {
          ...location('bench-adapter'),
          ORBIT_RELEASE_ID: of.manifest.releaseId,
          ORBIT_FUNCTION: fn,
          ORBIT_BENCH_BUNDLE: path.join(of.dir, spec.file),
          ORBIT_BENCH_ROUTE_KEY: `${spec.routes[0]?.method} ${spec.routes[0]?.path}`,
          ORBIT_BENCH_INVOKE_STORE: invokeStore ? '1' : '0',
        },
      };
    },
  };
}

/** Starts a host and waits for its ready line. */
export async function startHost(spec: HostSpec): Promise<Host> {
  const child = spawn(process.execPath, [...profileArgs(), ...spec.args], {
    env: spec.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { name: spec.name, child, url: await ready(child) };
}

/** Stops a host the way its supervisor would (SIGTERM), so that a CPU profile gets written. */
export async function stopHost(host: Host): Promise<void> {
  if (host.child.exitCode !== null) return;
  const exited = new Promise((resolve) => host.child.once('exit', resolve));
  host.child.kill('SIGTERM');
  await exited;
}

/**
 * CPU time a process has used, in µs: `/proc/PID/schedstat` (ns, Linux), else the clock
 * ticks of `/proc/PID/stat`; NaN elsewhere.
 */
export function cpuTimeUs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    } catch {
      return Number.NaN;
    }
  }
}

/** How long a host may take to answer 200 after its ready line before its cold start fails. */
const FIRST_200_TIMEOUT_MS = 30_000;

/** Spawn to first 200 on `route`, ms; fails, saying what it last answered, after 30 s. */
export async function coldStart(spec: HostSpec, route: string): Promise<number> {
  const started = performance.now();
  const host = await startHost(spec);
  try {
    let last = 'nothing';
    while (performance.now() - started < FIRST_200_TIMEOUT_MS) {
      const res = await fetch(`${host.url}${route}`).catch((err: Error) => {
        last = err.message;
        return undefined;
      });
      const body = (await res?.text()) ?? '';
      if (res?.status === 200) return performance.now() - started;
      if (res) last = `${res.status} ${body.slice(0, 300)}`;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(
      `${spec.name} did not answer 200 on ${route} within ${FIRST_200_TIMEOUT_MS / 1000} s; last: ${last}`
    );
  } finally {
    await stopHost(host);
  }
}

/**
 * The cold start rows of an Orbit host against the fastify adapter, alternately so that both
 * see the same noise. Each round gives the host a new state directory: its first start
 * compiles the bundles and keeps their bytecode there (lib/satellite/code-cache.ts), as a
 * satellite does the first time it loads a release; the restart after it (a reboot, a crash,
 * systemd) compiles from that bytecode. Both are reported, the restart against the target.
 * The adapter keeps nothing.
 */
export async function coldStartRows(
  what: string,
  orbit: HostSpec,
  fastify: HostSpec,
  options: BenchOptions
): Promise<Row[]> {
  const runs = { first: [] as number[], restart: [] as number[], fastify: [] as number[] };
  for (let i = 0; i < (options.quick ? 3 : 5); i++) {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-bench-state-'));
    const host: HostSpec = { ...orbit, env: { ...orbit.env, ORBIT_STATE_DIR: stateDir } };
    try {
      runs.first.push(await coldStart(host, 'health'));
      runs.fastify.push(await coldStart(fastify, 'health'));
      runs.restart.push(await coldStart(host, 'health'));
      runs.fastify.push(await coldStart(fastify, 'health'));
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
  // Each start against the adapter's start next to it.
  const row = (figure: string, ms: readonly number[], paired: number, target: boolean): Row => {
    const ratios = ms.map((m, i) => m / (runs.fastify[2 * i + paired] as number));
    const ratio = round(median(ratios), 3);
    return {
      figure,
      value: round(median(ms), 0),
      unit: 'ms',
      baseline: round(median(runs.fastify), 0),
      ratio,
      spread: `${spread(ratios)}×`,
      ...(target ? { target: '≤ 1.5×', met: ratio <= 1.5 } : {}),
    };
  };
  return [
    {
      ...row(
        `runtime cold start, ${what}, spawn to first 200 on /health, vs fastify adapter`,
        runs.restart,
        1,
        true
      ),
      note: 'a restart: the bundles compile from the bytecode the host kept when it first loaded them',
    },
    {
      ...row(
        `runtime first start of a release on a host, ${what}, vs fastify adapter`,
        runs.first,
        0,
        false
      ),
      note: 'nothing kept yet; a satellite keeps it when it preloads a staged release, before serving it',
    },
  ];
}
