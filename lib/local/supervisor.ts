import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One location's runtime as the local fleet supervises it. */
export interface RuntimeStatus {
  readonly location: string;
  /** The process serving now (the last one started while it waits to restart). */
  readonly pid: number;
  /** How many times it was restarted after it died. */
  readonly restarts: number;
  /** False from its exit until its restart is ready. */
  readonly up: boolean;
}

/** Options of {@link superviseRuntime}. */
export interface SuperviseRuntimeOptions {
  readonly locationId: string;
  /** Starts a runtime process listening on `port` (0: the system picks one). */
  readonly spawn: (port: number) => ChildProcess;
  /** The port of the first start; restarts reuse the port it got. */
  readonly port: number;
  /** How long a start may take to be ready. */
  readonly readyTimeoutMs: number;
  /** The first restart's delay; each restart in a row doubles it. */
  readonly restartDelayMs: number;
  /** The longest delay between restarts. @default 30000 */
  readonly maxRestartDelayMs?: number;
  /** How long SIGTERM may take before SIGKILL, when the fleet stops. @default 5000 */
  readonly killAfterMs?: number;
  /** The runtime's log lines, and which stream each came on. @default - dropped */
  readonly onLog?: (locationId: string, line: string, stream: 'stdout' | 'stderr') => void;
  /** Each heartbeat the runtime announces. @default - ignored */
  readonly onHeartbeat?: (locationId: string) => void;
  /** One line per exit, saying when the restart comes. @default - dropped */
  readonly onRestart?: (line: string) => void;
}

/** A runtime kept running: restarted whenever it dies, until {@link stop}. */
export interface SupervisedRuntime {
  /** Base URL; the same across restarts. */
  readonly url: string;
  status(): RuntimeStatus;
  /** Sends a signal to the process serving now (none while it waits to restart). */
  signal(signal: NodeJS.Signals): void;
  /** Stops restarting, then stops the runtime (SIGTERM, SIGKILL after `killAfterMs`). */
  stop(): Promise<void>;
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/**
 * Starts a runtime and keeps it running, as systemd's `Restart=always` does on satellite
 * hosts: a runtime that dies is started again on the same port after a delay that doubles
 * with each restart in a row (1 s, 2 s, 4 s, … up to `maxRestartDelayMs`; a runtime that
 * stayed up that long starts over from the shortest), and each exit is one line to
 * `onRestart`. The first start must succeed: it rejects, saying why, when the runtime exits
 * or is not ready in time (a fleet that cannot start should say so, not retry forever).
 */
export async function superviseRuntime(
  options: SuperviseRuntimeOptions
): Promise<SupervisedRuntime> {
  const id = options.locationId;
  const maxDelayMs = options.maxRestartDelayMs ?? 30_000;
  let child = options.spawn(options.port);
  let url: string;
  try {
    ({ url } = await waitReady(child, options));
  } catch (err) {
    if (isRunning(child)) child.kill('SIGKILL');
    throw err;
  }
  const port = Number(new URL(url).port);
  let restarts = 0;
  let inARow = 0;
  let up = true;
  let upSince = Date.now();
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;

  const watch = (runtime: ChildProcess) =>
    runtime.once('exit', (code, signal) => {
      if (stopping || runtime !== child) return;
      up = false;
      restarts++;
      inARow = Date.now() - upSince >= maxDelayMs ? 1 : inARow + 1;
      const delayMs = Math.min(maxDelayMs, options.restartDelayMs * 2 ** (inARow - 1));
      const why = signal ? `signal ${signal}` : `code ${code}`;
      options.onRestart?.(
        `runtime ${id} exited (${why}); restarting in ${delayMs / 1000} s (restart ${restarts})`
      );
      restartTimer = setTimeout(restart, delayMs);
    });
  const restart = () => {
    if (stopping) return;
    child = options.spawn(port);
    const started = child;
    watch(started);
    waitReady(started, options).then(
      () => {
        up = true;
        upSince = Date.now();
      },
      // An exit is the watcher's to report; a start that hangs is killed, and so restarted.
      () => {
        if (isRunning(started)) started.kill('SIGKILL');
      }
    );
  };
  watch(child);

  return {
    url,
    status: () => ({ location: id, pid: child.pid ?? 0, restarts, up }),
    signal: (signal) => {
      if (up && isRunning(child)) child.kill(signal);
    },
    stop: async () => {
      stopping = true;
      clearTimeout(restartTimer);
      await stopProcess(child, options.killAfterMs ?? 5_000);
    },
  };
}

function stopProcess(child: ChildProcess, killAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!isRunning(child)) {
      resolve();
      return;
    }
    const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Resolves with the runtime's ready line; rejects when it exits first or is not ready in time. */
function waitReady(
  child: ChildProcess,
  options: Pick<SuperviseRuntimeOptions, 'locationId' | 'readyTimeoutMs' | 'onLog' | 'onHeartbeat'>
): Promise<{ url: string }> {
  const { locationId, readyTimeoutMs } = options;
  return new Promise((resolve, reject) => {
    const last: string[] = [];
    let ready = false;
    const timer = setTimeout(
      () =>
        reject(
          new Error(`location ${locationId}: the runtime was not ready within ${readyTimeoutMs} ms`)
        ),
      readyTimeoutMs
    );
    const onLine = (line: string, stream: 'stdout' | 'stderr') => {
      if (line.startsWith('{"event":"heartbeat"')) {
        options.onHeartbeat?.(locationId);
        return;
      }
      if (!ready && line.startsWith('{"event":"ready"')) {
        ready = true;
        clearTimeout(timer);
        resolve(JSON.parse(line) as { url: string });
        return;
      }
      last.push(line);
      if (last.length > 5) last.shift();
      options.onLog?.(locationId, line, stream);
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
      onLine(line, 'stdout')
    );
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      onLine(line, 'stderr')
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (ready) return;
      const why = last.filter((l) => l.startsWith('orbit runtime:')).pop() ?? last.pop() ?? '';
      reject(
        new Error(
          `location ${locationId}: the runtime exited (${signal ? `signal ${signal}` : `code ${code}`})${why ? `: ${why.replace(/^orbit runtime: /, '')}` : ''}`
        )
      );
    });
  });
}
