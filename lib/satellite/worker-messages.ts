/**
 * What a host's primary and its workers say to each other over the cluster's IPC channel
 * (JSON). The primary pulls for the host and hands each worker the split to serve; a worker
 * serves it, acknowledges it, and reports its figures when a heartbeat asks.
 */
import type { Release } from '../../core/manifest';
import type { ReleaseCounts, WindowStats } from '../../core/records/heartbeats';
import type { StopOutcome } from './listen';
import type { LinkStatus } from './pull-agent';

/** The variable that tells a forked worker which slot of the host's it fills (1, 2, …). */
export const WORKER_INDEX_ENV = 'ORBIT_WORKER_INDEX';

/** The split to serve, and every release to keep loaded (served or preloaded). */
export interface SplitMessage {
  readonly type: 'split';
  /** Grows with every new split, so that an acknowledgement names the one it is for. */
  readonly seq: number;
  /** The releases as the primary fetched and verified them (directory and manifest). */
  readonly stable: Release;
  readonly candidate?: Release;
  readonly weight: number;
  readonly held: readonly Release[];
}

/** A problem an HTTP answer can carry (an HttpError across the channel). */
export interface WireProblem {
  readonly status: number;
  readonly problem: string;
  readonly detail: string;
  readonly headers?: Record<string, string>;
  readonly extensions?: Record<string, unknown>;
}

/** Messages from the primary to a worker. */
export type ToWorker =
  | SplitMessage
  | ({ readonly type: 'link' } & LinkStatus)
  | { readonly type: 'report'; readonly id: number }
  | { readonly type: 'stop'; readonly graceMs: number }
  | {
      readonly type: 'staged';
      readonly id: number;
      readonly release?: Release;
      readonly error?: WireProblem;
    };

/** What a worker served since its last report, and what it serves now. */
export interface WorkerReport {
  readonly stable: string;
  readonly candidate?: string;
  readonly weight: number;
  readonly releases: Record<string, WindowStats>;
  readonly totals: Record<string, ReleaseCounts>;
  /** Why the last split it was handed could not be loaded (it serves the one before). */
  readonly lastError?: string;
}

/** Log writes a worker dropped, per stream (see log-output.ts). */
export type DroppedWrites = Record<string, { readonly dropped: number; readonly failure?: string }>;

/** Messages from a worker to the primary. */
export type FromWorker =
  | { readonly type: 'hello'; readonly startedAt: string }
  | { readonly type: 'serving'; readonly seq: number; readonly error?: string }
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'report'; readonly id: number; readonly report: WorkerReport }
  | { readonly type: 'staged'; readonly id: number; readonly releaseId: string }
  | ({ readonly type: 'stopped'; readonly dropped: DroppedWrites } & StopOutcome)
  | { readonly type: 'failed'; readonly message: string };

/** Whether an IPC message is one of these (the channel also carries the cluster's own). */
export const isMessage = (m: unknown): m is { readonly type: string } =>
  typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
