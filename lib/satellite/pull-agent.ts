import { hostname } from 'node:os';
import type { Release } from '../../core/manifest';
import type { Records } from '../../core/records';
import type { DesiredTraffic } from '../../core/records/desired-traffic';
import {
  DISCONNECTION_REPORTED_MS,
  type Disconnection,
  type Heartbeat,
  type InstanceHeartbeat,
} from '../../core/records/heartbeats';
import type { ArtifactSource } from './artifacts';
import type { LoadedRelease } from './function-host';
import { HeartbeatBuffer } from './heartbeat-buffer';
import { StagedReleases } from './staged-releases';
import type { ReleaseStats } from './stats';
import type { TrafficState } from './traffic';

/** Options of a {@link PullAgent}. */
export interface PullAgentOptions {
  /** The platform records, in the location's data region. */
  readonly records: Records;
  readonly locationId: string;
  readonly artifacts: ArtifactSource;
  /** Loads a fetched release into the process. */
  readonly load: (release: Release) => LoadedRelease;
  /** Lets go of a release no longer needed. @default - nothing */
  readonly unload?: (release: LoadedRelease) => void;
  readonly stats: ReleaseStats;
  /** @default 10000 */
  readonly intervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told when a pull fails; the runtime keeps serving what it has. @default - ignored */
  readonly onError?: (err: unknown) => void;
  /** Told after each heartbeat is written. @default - nothing */
  readonly onHeartbeat?: (heartbeat: Heartbeat) => void;
  /** This host among the location's, in its heartbeat entry. @default - the host name */
  readonly instanceId?: string;
  /**
   * Staged releases kept loaded for requests that name them, besides the served ones.
   * @default 2
   */
  readonly stagedCapacity?: number;
  /** How long loading a staged release for a request may take, in ms. @default 15000 */
  readonly stagedLoadTimeoutMs?: number;
  /**
   * Where heartbeats wait while the table cannot be reached. @default - in memory, bounded
   */
  readonly heartbeatBuffer?: HeartbeatBuffer;
  /**
   * Keeps the desired traffic last pulled, so that a runtime started while the table cannot be
   * reached serves that split (from releases it can still fetch) instead of nothing.
   * @default - not kept: such a start fails
   */
  readonly lastDesired?: DesiredTrafficCache;
  /** Told when the link to the table goes down or comes back. @default - nothing */
  readonly onLinkChange?: (link: LinkStatus) => void;
  /**
   * Hands the split to the processes that serve it (a host's workers), after every pull that
   * read one and after each preload; resolves once they serve it or gave up, so that the
   * heartbeat taken next claims what they serve. Never rejects.
   * @default - nothing: this process serves the split itself
   */
  readonly serve?: (split: HeldReleases) => Promise<void>;
  /**
   * What each process serving reported for this heartbeat: one heartbeat entry each. A
   * process that did not answer has no entry this time (and goes stale if it never does).
   * @default - this process's own report, from `stats`
   */
  readonly reports?: () => Promise<readonly ProcessReport[]>;
}

/** The split a pull agent holds, and every release it keeps loaded (served or preloaded). */
export interface HeldReleases {
  readonly state: TrafficState;
  readonly held: readonly LoadedRelease[];
}

/** One serving process's part of a heartbeat: what it serves and what it answered. */
export type ProcessReport = Pick<
  InstanceHeartbeat,
  | 'instanceId'
  | 'startedAt'
  | 'stable'
  | 'candidate'
  | 'weight'
  | 'releases'
  | 'totals'
  | 'lastError'
>;

/** Where a {@link PullAgent} keeps the desired traffic it last pulled (a state file). */
export interface DesiredTrafficCache {
  read(): DesiredTraffic | undefined;
  write(desired: DesiredTraffic): void;
}

/** Whether a satellite reaches its table, and since when (ISO 8601). */
export interface LinkStatus {
  readonly connected: boolean;
  /** When it last changed (the runtime's start while it never did). */
  readonly since: string;
}

/**
 * The satellite's link to the control plane. Every interval it reads the location's desired
 * traffic from the table, fetches and loads any release it does not hold yet, switches the
 * traffic state in one assignment (requests in flight keep the functions they started with),
 * and writes a heartbeat with what it serves and how that went.
 *
 * When the table cannot be read, the link is down: the satellite keeps serving the split and
 * releases it holds, keeps each heartbeat it cannot write in its buffer (bounded, see
 * {@link HeartbeatBuffer}), and on the first pull that reaches the table again writes them in
 * order before the current one, so every request served meanwhile is in the totals.
 */
export class PullAgent {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly loaded = new Map<string, LoadedRelease>();
  private state: TrafficState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** A pull was asked for while one ran. */
  private again = false;
  /** Whether the last tick changed what is served. */
  private switched = false;
  /** The newest staged release, loaded ahead of the rollout that will ask for it. */
  private preloaded: string | undefined;
  private unpreloadable: string | undefined;
  private preloading: Promise<void> | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly instanceId: string;
  private readonly buffer: HeartbeatBuffer;
  private linkStatus: LinkStatus;
  /** The last disconnection, reported in heartbeats for a while after it ended. */
  private disconnection: { sinceMs: number; untilMs?: number } | undefined;
  /** Releases staged here that serve no traffic, loaded when a request names one. */
  readonly staged: StagedReleases;

  constructor(private readonly options: PullAgentOptions) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.instanceId = options.instanceId ?? hostname();
    this.now = options.now ?? Date.now;
    this.buffer = options.heartbeatBuffer ?? new HeartbeatBuffer();
    this.linkStatus = { connected: true, since: new Date(this.now()).toISOString() };
    this.staged = new StagedReleases({
      locationId: options.locationId,
      isStaged: (releaseId) => this.isStaged(releaseId),
      fetch: (releaseId) => options.artifacts.fetch(releaseId),
      load: options.load,
      unload: options.unload,
      held: (releaseId) => this.loaded.get(releaseId),
      capacity: options.stagedCapacity,
      loadTimeoutMs: options.stagedLoadTimeoutMs,
      onError: (message, err) =>
        options.onError?.(new Error(`${message}: ${(err as Error)?.message}`, { cause: err })),
    });
  }

  /** The traffic state now; throws until the first successful pull. */
  current(): TrafficState {
    if (!this.state)
      throw new Error(`location ${this.options.locationId} has no release to serve yet`);
    return this.state;
  }

  /** Whether the table answered the last pull, and since when that holds. */
  link(): LinkStatus {
    return this.linkStatus;
  }

  /**
   * The pull a runtime starts with: resolves once the state is switched (the runtime can
   * serve it), rejects when there is nothing to serve. Its heartbeat is written after that,
   * so that a host's first answer does not wait for a write to the table (a round trip over
   * the WAN from a satellite); the pulls {@link start} schedules, and {@link stop}, wait for it.
   */
  firstPull(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pull: Promise<void> = this.tick(resolve)
        .then(() => {
          if (this.state) return resolve();
          reject(
            new Error(
              `location ${this.options.locationId} has nothing to serve: no desired state, and no release staged for it`
            )
          );
        }, reject)
        .finally(() => {
          if (this.running !== pull) return;
          this.running = undefined;
          if (this.again && this.timer !== undefined) this.loop();
        });
      this.running = pull;
    });
  }

  /**
   * One pull: desired state in, releases loaded, state switched, heartbeat out. `switched`
   * is told once the state is switched, before the heartbeat.
   */
  async tick(switched?: () => void): Promise<void> {
    let lastError: string | undefined;
    // A pull that fails on a link already known to be down is said once, when it went down
    // (and in every heartbeat's lastError), not again every interval of a long disconnection.
    let known = false;
    this.switched = false;
    try {
      let desired: DesiredTraffic | undefined;
      try {
        desired = await this.desired();
        this.linkChanged(true);
        this.remember(desired);
      } catch (err) {
        known = !this.linkStatus.connected;
        this.linkChanged(false);
        // A runtime (re)started while cut off serves the split it last pulled, if it kept one.
        desired = this.state ? undefined : this.options.lastDesired?.read();
        if (!desired) throw err;
        lastError = `${err instanceof Error ? err.message : String(err)}; serving the split last pulled (${desired.updatedAt})`;
      }
      if (desired) {
        const next = await this.stateFor(desired);
        this.switched = !sameSplit(this.state, next);
        this.state = next;
        await this.handOver();
      }
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      if (!known) this.options.onError?.(err);
    }
    if (this.state) {
      switched?.();
      await this.heartbeat(lastError).catch((err) => this.options.onError?.(err));
    }
    if (!this.state && lastError) throw new Error(lastError);
    if (this.state && !this.preloading && this.linkStatus.connected) {
      this.preloading = this.preload()
        .catch((err) => this.options.onError?.(err))
        .finally(() => {
          this.preloading = undefined;
        });
    }
  }

  /**
   * Fetches and loads the newest staged release before any rollout asks for it, beside the
   * pulls (a slow download never delays a heartbeat): a switch then costs an assignment, not
   * a download and a module load, and the candidate's first evidence reaches the gates
   * sooner. A release that fails to preload is not tried again until it is desired.
   */
  private async preload(): Promise<void> {
    const newest = await this.options.records.registrations.latestStaged(this.options.locationId);
    if (!newest || newest === this.preloaded || newest === this.unpreloadable) return;
    this.preloaded = newest;
    if (this.loaded.has(newest)) return;
    try {
      await this.release(newest);
      await this.handOver();
    } catch (err) {
      this.unpreloadable = newest;
      throw new Error(`cannot preload staged release ${newest}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * When the next pull comes: an interval after the last, or half of one after a switch, as
   * that pull's heartbeat is the first evidence of the new split, which a rollout's gates
   * wait for.
   */
  get nextPullInMs(): number {
    return this.switched ? this.intervalMs / 2 : this.intervalMs;
  }

  /** Pulls every interval until {@link stop} (see {@link nextPullInMs}). */
  start(): void {
    this.timer = setTimeout(() => this.loop(), this.intervalMs);
  }

  /**
   * Pulls now, or right after the pull in progress (a runtime does on SIGHUP): an operator,
   * or the local fleet after it moved traffic, need not wait for the interval.
   */
  pullNow(): void {
    if (this.stopped || this.timer === undefined) return;
    if (this.running) this.again = true;
    else this.loop();
  }

  private loop(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.again = false;
    // After the first pull's heartbeat, should it still be writing when the interval ends.
    const pull: Promise<void> = (this.running ?? Promise.resolve())
      .then(() => (this.stopped ? undefined : this.tick()))
      .catch(() => undefined)
      .finally(() => {
        if (this.running === pull) this.running = undefined;
        const delay = this.again ? 0 : this.nextPullInMs;
        this.again = false;
        if (!this.stopped) this.timer = setTimeout(() => this.loop(), delay);
      });
    this.running = pull;
  }

  /** Stops pulling; waits for a pull and a preload in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.preloading;
  }

  private async desired(): Promise<DesiredTraffic | undefined> {
    const { records, locationId } = this.options;
    const desired = await records.desired.get(locationId, { consistent: true });
    return desired ?? this.adoptFirstStagedRelease();
  }

  /**
   * A location that never served takes the release its last deploy staged as stable, once,
   * with a conditional write (like a region's `live` alias created at its first version);
   * from then on only the orchestrator changes what it serves. The release comes from the
   * registration record: one small read per pull, where querying every staged record would
   * grow with every deploy.
   */
  private async adoptFirstStagedRelease(): Promise<DesiredTraffic | undefined> {
    const { records, locationId } = this.options;
    const newest = await records.registrations.latestStaged(locationId);
    if (!newest) return undefined;
    const updatedAt = new Date(this.now()).toISOString();
    if (await records.desired.adopt(locationId, newest, updatedAt)) {
      return { stable: newest, weight: 0, updatedAt };
    }
    return this.desired();
  }

  /** Whether a deploy staged the release here (its staged-release record exists). */
  private isStaged(releaseId: string): Promise<boolean> {
    return this.options.records.stagedReleases.isStaged(this.options.locationId, releaseId);
  }

  private async stateFor(desired: DesiredTraffic): Promise<TrafficState> {
    const stable = await this.release(desired.stable);
    const candidate = desired.candidate ? await this.release(desired.candidate) : undefined;
    const weight = candidate ? Math.min(1, Math.max(0, Number(desired.weight) || 0)) : 0;
    // Releases neither desired nor preloaded are unloaded; requests holding them finish
    // with them, and their modules are garbage once unreferenced.
    for (const [id, release] of this.loaded) {
      if (id !== desired.stable && id !== desired.candidate && id !== this.preloaded) {
        this.loaded.delete(id);
        this.options.unload?.(release);
      }
    }
    return { stable, candidate, weight, staged: this.staged };
  }

  /** Tells the processes serving (if not this one) what to serve and hold. */
  private async handOver(): Promise<void> {
    if (this.state && this.options.serve) {
      await this.options.serve({ state: this.state, held: [...this.loaded.values()] });
    }
  }

  private async release(releaseId: string): Promise<LoadedRelease> {
    let loaded = this.loaded.get(releaseId) ?? this.staged.take(releaseId);
    if (!loaded) loaded = this.options.load(await this.options.artifacts.fetch(releaseId));
    this.loaded.set(releaseId, loaded);
    return loaded;
  }

  private lastSaved: string | undefined;

  /** Keeps what was pulled, when it changed. */
  private remember(desired: DesiredTraffic | undefined): void {
    if (!desired || !this.options.lastDesired) return;
    const key = `${desired.stable} ${desired.candidate ?? ''} ${desired.weight} ${desired.updatedAt}`;
    if (key === this.lastSaved) return;
    this.options.lastDesired.write(desired);
    this.lastSaved = key;
  }

  private linkChanged(connected: boolean): void {
    if (this.linkStatus.connected === connected) return;
    const nowMs = this.now();
    this.linkStatus = { connected, since: new Date(nowMs).toISOString() };
    // What is served while cut off is no evidence about the release (nor are 503s of a table
    // out of reach its errors): counted apart, delivered all the same.
    this.options.stats.offline = !connected;
    if (!connected) this.disconnection = { sinceMs: nowMs };
    else if (this.disconnection) this.disconnection.untilMs = nowMs;
    this.options.onLinkChange?.(this.linkStatus);
  }

  /** The disconnection a heartbeat taken now reports, if any. */
  private disconnectionNow(atMs: number): Disconnection | undefined {
    const d = this.disconnection;
    if (!d) return undefined;
    if (d.untilMs === undefined) return { since: new Date(d.sinceMs).toISOString() };
    if (atMs - d.untilMs > DISCONNECTION_REPORTED_MS) return undefined;
    return { since: new Date(d.sinceMs).toISOString(), until: new Date(d.untilMs).toISOString() };
  }

  /**
   * Writes this pull's heartbeat (an entry per process serving), after the ones waiting in
   * the buffer; while the link is down, or when a write fails, what is not written joins
   * them instead. The windows it carries are taken either way: their requests are in the
   * buffer, not lost.
   */
  private async heartbeat(lastError: string | undefined): Promise<void> {
    const entries = await this.takeHeartbeat(lastError);
    if (!this.linkStatus.connected) {
      for (const entry of entries) this.buffer.add(entry);
      return;
    }
    const write = (hb: InstanceHeartbeat) => this.options.records.heartbeats.write(hb);
    let written = 0;
    try {
      await this.buffer.flush(write);
      for (const entry of entries) {
        await write(entry);
        written++;
      }
    } catch (err) {
      for (const entry of entries.slice(written)) this.buffer.add(entry);
      throw err;
    }
    if (entries[0]) this.options.onHeartbeat?.(entries[0]);
  }

  /** This process's own report, for a process that serves what it pulls. */
  private ownReport(): ProcessReport {
    const { stable, candidate, weight } = this.current();
    return {
      instanceId: this.instanceId,
      startedAt: this.startedAt,
      stable: stable.releaseId,
      ...(candidate ? { candidate: candidate.releaseId } : {}),
      weight,
      releases: this.options.stats.takeWindow(),
      totals: this.options.stats.totals(),
    };
  }

  private async takeHeartbeat(lastError: string | undefined): Promise<InstanceHeartbeat[]> {
    const reports = this.options.reports ? await this.options.reports() : [this.ownReport()];
    const atMs = this.now();
    const disconnection = this.disconnectionNow(atMs);
    const common = {
      locationId: this.options.locationId,
      at: new Date(atMs).toISOString(),
      atMs,
      intervalSeconds: this.intervalMs / 1000,
      ...(disconnection ? { disconnection } : {}),
    };
    return reports.map((report) => {
      // A process's own failure (a release it could not load) and the pull's, both said.
      const error = [lastError, report.lastError].filter(Boolean).join('; ');
      const { lastError: _own, ...served } = report;
      return { ...common, ...served, ...(error ? { lastError: error } : {}) };
    });
  }
}

const sameSplit = (a: TrafficState | undefined, b: TrafficState): boolean =>
  a !== undefined &&
  a.stable.releaseId === b.stable.releaseId &&
  a.candidate?.releaseId === b.candidate?.releaseId &&
  a.weight === b.weight;
