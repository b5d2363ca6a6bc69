import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

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

/** Spawn to first 200 on `route`, ms. */
export async function coldStart(spec: HostSpec, route: string): Promise<number> {
  const started = performance.now();
  const host = await startHost(spec);
  try {
    for (;;) {
      const res = await fetch(`${host.url}${route}`).catch(() => undefined);
      await res?.text();
      if (res?.status === 200) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await stopHost(host);
  }
}
