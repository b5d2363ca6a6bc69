import { HttpError } from '../../core/errors';
import type { Release } from '../../core/manifest';
import { type CodeCache, codeCacheOf } from './code-cache';
import type { RuntimeConfig } from './config';
import {
  type LoadedRelease,
  loadRelease,
  prepareConcurrentInvocations,
  unloadRelease,
} from './function-host';
import { functionEnvOf, type Listening, listen, type StopOutcome, setLinkEnv } from './listen';
import { type Authenticate, createRuntimeServer } from './server';
import { StagedReleases } from './staged-releases';
import { ReleaseStats } from './stats';
import type { TrafficState } from './traffic';
import {
  type DroppedWrites,
  type FromWorker,
  isMessage,
  type SplitMessage,
  type ToWorker,
  type WorkerReport,
} from './worker-messages';

/** How long a worker waits for the primary to answer a request for a staged release. */
const STAGED_ANSWER_TIMEOUT_MS = 60_000;

/** What a worker process is given besides its configuration. */
export interface WorkerDependencies {
  readonly authenticate?: Authenticate;
  /** How long a stop on SIGTERM/SIGINT answers the requests in flight, in ms. */
  readonly graceMs: number;
  /** The log writes this process dropped so far, for the line its primary prints at the end. */
  readonly dropped: () => DroppedWrites;
  /** @default - console.error */
  readonly onError?: (message: string, err: unknown) => void;
}

/**
 * Sends to the primary; `done` runs once the message is out, or failed to go (the channel
 * closed: the primary is gone, and cluster ends this process then anyway).
 */
const send = (message: FromWorker, done?: () => void): void => {
  if (process.send) process.send(message, undefined, {}, () => done?.());
  else done?.();
};

/**
 * The releases one worker holds and the split it serves: what its primary last handed it and
 * it could load. A split that fails to load leaves the one before it serving, and says why in
 * the worker's next report.
 */
class ServedReleases {
  private readonly loaded = new Map<string, LoadedRelease>();
  private state: TrafficState | undefined;
  lastError: string | undefined;

  constructor(
    private readonly env: Readonly<Record<string, string>>,
    private readonly codeCache: CodeCache,
    readonly staged: StagedReleases
  ) {}

  /** The traffic state now; throws before the first split was loaded. */
  current(): TrafficState {
    if (!this.state) throw new Error('this worker has no release to serve yet');
    return this.state;
  }

  /** Loads what the split needs (once per release), switches in one assignment, lets go of the rest. */
  apply(split: SplitMessage): void {
    const wanted = new Map<string, Release>();
    for (const r of [split.stable, ...(split.candidate ? [split.candidate] : []), ...split.held]) {
      wanted.set(r.manifest.releaseId, r);
    }
    try {
      for (const [id, release] of wanted) {
        if (!this.loaded.has(id)) {
          this.loaded.set(
            id,
            this.staged.take(id) ?? loadRelease(release, this.env, this.codeCache)
          );
        }
      }
    } catch (err) {
      this.lastError = `cannot load the split handed to this worker: ${(err as Error).message}`;
      throw err;
    }
    const at = (id: string) => this.loaded.get(id) as LoadedRelease;
    const candidate = split.candidate ? at(split.candidate.manifest.releaseId) : undefined;
    this.state = {
      stable: at(split.stable.manifest.releaseId),
      candidate,
      weight: candidate ? split.weight : 0,
      staged: this.staged,
    };
    this.lastError = undefined;
    // Requests in flight keep the releases they started with; their modules go once unreferenced.
    for (const [id, release] of this.loaded) {
      if (!wanted.has(id)) {
        this.loaded.delete(id);
        unloadRelease(release);
      }
    }
  }

  held(releaseId: string): LoadedRelease | undefined {
    return this.loaded.get(releaseId);
  }
}

/**
 * Runs one serving process of a host's cluster: it loads and serves the split its primary
 * hands it (listening on the host's port once it has one, so that no connection reaches it
 * before it can answer), acknowledges each split once it serves it, reports its figures when
 * asked (its heartbeat entry), loads a staged release a request names through the primary
 * (which checks, fetches and verifies it once for the host), and stops gracefully when told
 * to or on SIGTERM/SIGINT, reporting what it answered and cut. It never pulls: one pull per
 * host.
 */
export async function runWorker(config: RuntimeConfig, deps: WorkerDependencies): Promise<void> {
  await prepareConcurrentInvocations();
  const onError =
    deps.onError ?? ((m: string, e: unknown) => console.error(`orbit runtime: ${m}`, e));
  const stats = new ReleaseStats();
  const codeCache = codeCacheOf(config);
  let nextId = 1;
  const waiting = new Map<number, { resolve: (r: Release) => void; reject: (e: Error) => void }>();
  const staged: StagedReleases = new StagedReleases({
    locationId: config.location.locationId,
    // The primary checks the staged-release record with the fetch (an HttpError when not).
    isStaged: async () => true,
    fetch: (releaseId) =>
      new Promise<Release>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(
            new Error(`the host's primary did not answer within ${STAGED_ANSWER_TIMEOUT_MS} ms`)
          );
        }, STAGED_ANSWER_TIMEOUT_MS);
        waiting.set(id, {
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        send({ type: 'staged', id, releaseId });
      }),
    load: (release) => loadRelease(release, functionEnvOf(config), codeCache),
    unload: unloadRelease,
    held: (releaseId): LoadedRelease | undefined => served.held(releaseId),
    onError: (message, err) => onError(message, err),
  });
  const served: ServedReleases = new ServedReleases(functionEnvOf(config), codeCache, staged);
  const server = createRuntimeServer({
    traffic: () => served.current(),
    authenticate: deps.authenticate,
    stats,
    locationId: config.location.locationId,
    onError,
    keepAliveTimeoutMs: config.keepAliveTimeoutSeconds * 1000,
    affinityCookie: config.affinityCookie,
  });

  let listening: Promise<Listening> | undefined;
  let stopping: Promise<StopOutcome> | undefined;
  const stop = (graceMs: number) => {
    stopping ??= (async () => {
      const l = await listening?.catch(() => undefined);
      return l ? l.stop(graceMs) : { drained: 0, cut: 0, abandoned: 0 };
    })();
    stopping.then(
      (outcome) =>
        send({ type: 'stopped', ...outcome, dropped: deps.dropped() }, () => process.exit(0)),
      () => process.exit(1)
    );
  };
  const fail = (why: string) => send({ type: 'failed', message: why }, () => process.exit(1));

  const onSplit = (split: SplitMessage) => {
    try {
      served.apply(split);
    } catch (err) {
      send({ type: 'serving', seq: split.seq, error: served.lastError });
      // A worker that cannot serve its first split has nothing to serve: its primary decides.
      if (!listening) fail(served.lastError ?? String(err));
      return;
    }
    send({ type: 'serving', seq: split.seq });
    if (listening || stopping) return;
    listening = listen(server, config);
    listening.then(
      (l) => send({ type: 'listening', port: l.port }),
      (err: Error) => fail(`cannot listen on ${config.host}:${config.port}: ${err.message}`)
    );
  };

  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    const m = message as ToWorker;
    switch (m.type) {
      case 'split':
        onSplit(m);
        return;
      case 'link':
        // What is served while cut off is no evidence about the release (see stats.ts).
        stats.offline = !m.connected;
        setLinkEnv(m);
        return;
      case 'report': {
        const report = reportOf(served, stats);
        if (report) send({ type: 'report', id: m.id, report });
        return;
      }
      case 'staged': {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.release) w?.resolve(m.release);
        else {
          const p = m.error;
          w?.reject(
            p
              ? new HttpError(p.status, p.problem, p.detail, {
                  headers: p.headers,
                  extensions: p.extensions,
                })
              : new Error('the primary sent no release')
          );
        }
        return;
      }
      case 'stop':
        stop(m.graceMs);
        return;
    }
  });
  // Whoever stops the host may signal every process of it (systemd the whole unit, Ctrl-C
  // the process group): the same stop as the primary's message, whichever comes first.
  process.on('SIGTERM', () => stop(deps.graceMs));
  process.on('SIGINT', () => stop(deps.graceMs));
  send({ type: 'hello', startedAt: new Date().toISOString() });
}

/** The worker's heartbeat part: what it serves, and its window, taken (a fresh one starts). */
function reportOf(served: ServedReleases, stats: ReleaseStats): WorkerReport | undefined {
  let state: TrafficState;
  try {
    state = served.current();
  } catch {
    return undefined;
  }
  return {
    stable: state.stable.releaseId,
    ...(state.candidate ? { candidate: state.candidate.releaseId } : {}),
    weight: state.weight,
    releases: stats.takeWindow(),
    totals: stats.totals(),
    ...(served.lastError ? { lastError: served.lastError } : {}),
  };
}
