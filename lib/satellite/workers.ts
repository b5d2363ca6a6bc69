import cluster, { type Worker } from 'node:cluster';
import { HttpError } from '../../core/errors';
import type { Release } from '../../core/manifest';
import type { WindowStats } from '../../core/records/heartbeats';
import { RouteTable } from '../../functions/shared/route-table';
import type { LoadedRelease } from './function-host';
import type { StopOutcome } from './listen';
import type { HeldReleases, LinkStatus, ProcessReport } from './pull-agent';
import {
  type DroppedWrites,
  type FromWorker,
  isMessage,
  type SplitMessage,
  type ToWorker,
  type WireProblem,
  WORKER_INDEX_ENV,
  type WorkerReport,
} from './worker-messages';

/** Options of a {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Serving processes to keep running. */
  readonly count: number;
  /** The host's name in heartbeats; worker `n`'s entry is `<instanceId>/<n>`. */
  readonly instanceId: string;
  /** The release a worker's request names, checked, fetched and verified for the host. */
  readonly staged: (releaseId: string) => Promise<Release>;
  /** How long a switch waits for every worker to serve the new split. @default 15000 */
  readonly switchTimeoutMs?: number;
  /** How long a heartbeat waits for a worker's report. @default 2000 */
  readonly reportTimeoutMs?: number;
  /** The first restart's delay; each restart in a row doubles it. @default 100 */
  readonly restartDelayMs?: number;
  /** The longest delay between restarts; a worker up this long resets it. @default 30000 */
  readonly maxRestartDelayMs?: number;
  /** One line per event worth a log (a worker died, missed a report). @default console.error */
  readonly log?: (line: string) => void;
}

/** How a pool's stop ended: the workers' outcomes added up. */
export interface PoolStopOutcome extends StopOutcome {
  /** Log writes the workers dropped, per stream. */
  readonly dropped: DroppedWrites;
  /** Workers that ended without saying what they answered (their requests may be cut). */
  readonly lost: number;
}

/** One worker slot: the process filling it now, and what it said so far. */
interface Slot {
  readonly index: number;
  worker: Worker;
  forkedAtMs: number;
  startedAt?: string;
  /** The last split it was sent and the last it acknowledged (serving or failed). */
  sentSeq: number;
  ackedSeq: number;
  /** The split it serves (the last acknowledged without error), 0 for none yet. */
  servingSeq: number;
  listening: boolean;
  /** Reports that came after their heartbeat was written, merged into the next one. */
  late: WorkerReport[];
  stopped?: StopOutcome & { dropped: DroppedWrites };
  exited: boolean;
  restartsInARow: number;
}

const toRelease = (r: Release): Release => ({ dir: r.dir, manifest: r.manifest });

/**
 * A host's serving processes (node:cluster, one port): forks `count` workers, hands each the
 * split the host's pull agent pulled, waits for every worker to serve a new split before the
 * heartbeat that claims it, collects one report per worker for each heartbeat (a worker that
 * does not answer in time has no entry that time, and is never waited on longer), replaces a
 * worker that dies (after a delay that doubles with each death in a row), and stops them all
 * gracefully. A replaced worker is a new process with a new heartbeat entry: the dead one's
 * totals stay in the record as it last reported them.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private split: SplitMessage | undefined;
  private splitKey = '';
  private seq = 0;
  private link: LinkStatus | undefined;
  private stopping = false;
  private nextId = 1;
  private readonly reports = new Map<number, (report: WorkerReport) => void>();
  private readonly waiters = new Set<() => void>();
  private readonly restarts = new Set<NodeJS.Timeout>();
  private readonly log: (line: string) => void;
  /** Set when the first start failed: every wait ends with it. */
  private failure: Error | undefined;
  /** Whether every worker served once: from then on, a worker that dies is replaced. */
  private served = false;
  /** Whether every worker listened once (said in one line). */
  private allServed = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.log = options.log ?? ((line) => console.error(line));
  }

  /**
   * Forks the first worker, which boots while the host's first pull runs, and the others once
   * it serves: a host's first answer does not wait for every process to compile its bundles
   * on cores they share (cold start), and the rest join a second later.
   */
  start(): void {
    this.slots.push(this.fork(1));
  }

  private forkTheRest(): void {
    if (this.stopping) return;
    for (let n = this.slots.length + 1; n <= this.options.count; n++) this.slots.push(this.fork(n));
  }

  /**
   * Resolves with the port once the first worker listens (the host serves; the others are
   * forked then, and a worker that fails from then on is replaced like one that died);
   * rejects when it fails or dies first, or after `timeoutMs`, saying why.
   */
  async ready(timeoutMs: number): Promise<number> {
    const ok = await this.until(() => this.slots.some((s) => s.listening), timeoutMs);
    if (this.failure) throw this.failure;
    if (!ok) {
      const late = [1];
      throw new Error(`worker(s) ${late.join(', ')} did not serve within ${timeoutMs} ms`);
    }
    this.served = true;
    return this.port as number;
  }

  private port: number | undefined;

  /**
   * Hands the split to every worker that does not serve it yet and waits (at most the switch
   * timeout) until each serves it or said it cannot; a worker still booting gets it when it
   * says hello. Never rejects.
   */
  async serve({ state, held }: HeldReleases): Promise<void> {
    const key = [
      state.stable.releaseId,
      state.candidate?.releaseId ?? '',
      state.candidate ? state.weight : 0,
      ...held.map((r) => r.releaseId).sort(),
    ].join(' ');
    if (key !== this.splitKey) {
      const of = (r: LoadedRelease): Release => {
        const found = this.fetched.get(r.releaseId);
        if (!found) throw new Error(`release ${r.releaseId} was never fetched by this host`);
        return found;
      };
      this.split = {
        type: 'split',
        seq: this.seq + 1,
        stable: of(state.stable),
        ...(state.candidate ? { candidate: of(state.candidate) } : {}),
        weight: state.candidate ? state.weight : 0,
        held: held.map(of),
      };
      this.seq++;
      this.splitKey = key;
    }
    for (const slot of this.slots) this.sendSplit(slot);
    const seq = this.seq;
    const ok = await this.until(
      () => this.slots.every((s) => s.exited || s.ackedSeq >= seq),
      this.options.switchTimeoutMs ?? 15_000
    );
    if (!ok) {
      const behind = this.slots.filter((s) => !s.exited && s.ackedSeq < seq).map((s) => s.index);
      this.log(
        `orbit runtime: worker(s) ${behind.join(', ')} did not switch within ${this.options.switchTimeoutMs ?? 15_000} ms; their heartbeat entries claim what they still serve`
      );
    }
  }

  /** Every release the host's pull agent fetched, by id, as workers must load it. */
  private readonly fetched = new Map<string, Release>();

  /**
   * What the host's pull agent loads in the primary: the release is remembered for the
   * workers, and the primary holds a reference to it that serves nothing.
   */
  track(release: Release): LoadedRelease {
    const { releaseId } = release.manifest;
    this.fetched.set(releaseId, toRelease(release));
    return { releaseId, dir: release.dir, routes: new RouteTable([]), functions: new Map() };
  }

  /** The release as the host fetched it (for a worker's request that named it). */
  release(releaseId: string): Release {
    const found = this.fetched.get(releaseId);
    if (!found) throw new Error(`release ${releaseId} was never fetched by this host`);
    return found;
  }

  /** Forgets a release the pull agent let go of (workers let go of it with the next split). */
  forget(releaseId: string): void {
    this.fetched.delete(releaseId);
  }

  /** Tells every worker the link changed (stats' `offline`, `/health`'s link variable). */
  setLink(link: LinkStatus): void {
    this.link = link;
    for (const slot of this.slots) {
      if (slot.startedAt && !slot.exited) this.send(slot, { type: 'link', ...link });
    }
  }

  /**
   * One report per worker serving, for a heartbeat: asked of all at once, each waited on for
   * at most the report timeout. A worker that misses it is logged and has no entry this time;
   * its report, if it comes later, is merged into its next one.
   */
  async collect(): Promise<ProcessReport[]> {
    const asked = this.slots.filter((s) => !s.exited && s.servingSeq > 0 && s.startedAt);
    const timeoutMs = this.options.reportTimeoutMs ?? 2_000;
    const answers = await Promise.all(
      asked.map(
        (slot) =>
          new Promise<WorkerReport | undefined>((resolve) => {
            const id = this.nextId++;
            const worker = slot.worker;
            const done = (report: WorkerReport | undefined) => {
              clearTimeout(timer);
              this.reports.delete(id);
              worker.off('exit', gone);
              resolve(report);
            };
            const gone = () => done(undefined);
            const timer = setTimeout(() => {
              this.reports.set(id, (late) => {
                this.reports.delete(id);
                slot.late.push(late);
              });
              worker.off('exit', gone);
              resolve(undefined);
            }, timeoutMs);
            this.reports.set(id, done);
            worker.once('exit', gone);
            this.send(slot, { type: 'report', id });
          })
      )
    );
    // The table's module (and its client) loads after the workers were forked, not before.
    const { mergeWindowStats } = await import('../../core/records/heartbeats');
    // A late report and the next one as one: windows merged, the newer split and totals.
    const mergeReports = (older: WorkerReport, newer: WorkerReport): WorkerReport => {
      const releases: Record<string, WindowStats> = { ...older.releases };
      for (const [id, w] of Object.entries(newer.releases)) {
        const m = releases[id];
        releases[id] = m ? mergeWindowStats(m, w) : w;
      }
      return { ...newer, releases };
    };
    const out: ProcessReport[] = [];
    asked.forEach((slot, i) => {
      let report = answers[i];
      if (!report) {
        this.log(
          `orbit runtime: worker ${slot.index} (pid ${slot.worker.process.pid}) did not report within ${timeoutMs} ms; no heartbeat entry for it this time`
        );
        return;
      }
      for (const late of slot.late) report = mergeReports(late, report);
      slot.late = [];
      out.push({
        instanceId: `${this.options.instanceId}/${slot.index}`,
        startedAt: slot.startedAt as string,
        ...report,
      });
    });
    return out;
  }

  /**
   * Stops every worker (each answers its requests in flight within `graceMs`), and no longer
   * replaces any; resolves with their outcomes once all have ended. A worker still running
   * `graceMs` + 3 s after is killed and counted as lost.
   */
  async stop(graceMs: number): Promise<PoolStopOutcome> {
    this.stopping = true;
    for (const t of this.restarts) clearTimeout(t);
    for (const slot of this.slots) {
      if (!slot.exited) this.send(slot, { type: 'stop', graceMs });
    }
    const all = await this.until(() => this.slots.every((s) => s.exited), graceMs + 3_000);
    if (!all) for (const s of this.slots) if (!s.exited) s.worker.process.kill('SIGKILL');
    const dropped: Record<string, { dropped: number; failure?: string }> = {};
    let drained = 0;
    let cut = 0;
    let abandoned = 0;
    let lost = 0;
    for (const s of this.slots) {
      if (!s.stopped) {
        lost++;
        continue;
      }
      drained += s.stopped.drained;
      cut += s.stopped.cut;
      abandoned += s.stopped.abandoned;
      for (const [stream, d] of Object.entries(s.stopped.dropped)) {
        const sum = dropped[stream] ?? { dropped: 0 };
        dropped[stream] = { dropped: sum.dropped + d.dropped, failure: sum.failure ?? d.failure };
      }
    }
    return { drained, cut, abandoned, dropped, lost };
  }

  private fork(index: number, restartsInARow = 0): Slot {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    const slot: Slot = {
      index,
      worker,
      forkedAtMs: Date.now(),
      sentSeq: 0,
      ackedSeq: 0,
      servingSeq: 0,
      listening: false,
      late: [],
      exited: false,
      restartsInARow,
    };
    worker.on('message', (message: unknown) => {
      if (isMessage(message)) this.onMessage(slot, message as FromWorker);
    });
    worker.once('exit', (code, signal) => this.onExit(slot, code, signal));
    // An error sending to a worker that just died is its exit's to report.
    worker.on('error', () => undefined);
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case 'hello':
        slot.startedAt = m.startedAt;
        if (this.link) this.send(slot, { type: 'link', ...this.link });
        this.sendSplit(slot);
        break;
      case 'serving':
        slot.ackedSeq = Math.max(slot.ackedSeq, m.seq);
        if (m.error) {
          this.log(`orbit runtime: worker ${slot.index} serves its previous split: ${m.error}`);
        } else slot.servingSeq = Math.max(slot.servingSeq, m.seq);
        break;
      case 'listening':
        slot.listening = true;
        this.port ??= m.port;
        if (this.slots.length < this.options.count) this.forkTheRest();
        else if (!this.allServed && this.slots.every((s) => s.listening)) {
          this.allServed = true;
          this.log(`orbit runtime: all ${this.options.count} workers serve`);
        }
        break;
      case 'report':
        this.reports.get(m.id)?.(m.report);
        break;
      case 'staged':
        this.answerStaged(slot, m.id, m.releaseId);
        break;
      case 'stopped': {
        const { type: _type, ...outcome } = m;
        slot.stopped = outcome;
        break;
      }
      case 'failed':
        if (!this.served)
          this.failure ??= new Error(`worker ${slot.index} cannot serve: ${m.message}`);
        else this.log(`orbit runtime: worker ${slot.index} cannot serve: ${m.message}`);
        break;
    }
    this.poke();
  }

  private onExit(slot: Slot, code: number | null, signal: string | null): void {
    slot.exited = true;
    this.poke();
    if (this.stopping) return;
    const why = signal ? `signal ${signal}` : `code ${code}`;
    if (!this.served) {
      // Before the host first served, a worker that dies is a start that failed.
      this.failure ??= new Error(`worker ${slot.index} exited (${why}) before it served`);
      this.poke();
      return;
    }
    const maxDelayMs = this.options.maxRestartDelayMs ?? 30_000;
    const inARow = Date.now() - slot.forkedAtMs >= maxDelayMs ? 1 : slot.restartsInARow + 1;
    const delayMs = Math.min(maxDelayMs, (this.options.restartDelayMs ?? 100) * 2 ** (inARow - 1));
    this.log(
      `orbit runtime: worker ${slot.index} (pid ${slot.worker.process.pid}) exited (${why}); replacing it in ${delayMs} ms`
    );
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      if (this.stopping) return;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.fork(slot.index, inARow);
      this.poke();
    }, delayMs);
    this.restarts.add(timer);
  }

  private sendSplit(slot: Slot): void {
    const split = this.split;
    if (!split || !slot.startedAt || slot.exited || slot.sentSeq >= split.seq) return;
    slot.sentSeq = split.seq;
    this.send(slot, split);
  }

  private answerStaged(slot: Slot, id: number, releaseId: string): void {
    this.options.staged(releaseId).then(
      (release) => this.send(slot, { type: 'staged', id, release: toRelease(release) }),
      (err: unknown) => this.send(slot, { type: 'staged', id, error: problemOf(err) })
    );
  }

  private send(slot: Slot, message: ToWorker): void {
    if (slot.exited || !slot.worker.isConnected()) return;
    // A worker that died meanwhile: its exit is handled, the message is moot.
    slot.worker.send(message, undefined, {}, () => undefined);
  }

  /** Re-checks every wait; called whenever a worker said or did something. */
  private poke(): void {
    for (const check of this.waiters) check();
  }

  /** True once `holds` does (checked whenever a worker says something), false after `timeoutMs`. */
  private until(holds: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!holds() && !this.failure) return;
        finish(true);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

/** An error a worker's request for a staged release ended with, as an HTTP problem. */
function problemOf(err: unknown): WireProblem {
  if (err instanceof HttpError) {
    return {
      status: err.statusCode,
      problem: err.problem,
      detail: err.message,
      headers: { ...err.headers },
      extensions: { ...err.extensions },
    };
  }
  return {
    status: 502,
    problem: 'release-load-failed',
    detail: (err as Error)?.message ?? String(err),
  };
}
