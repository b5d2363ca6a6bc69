import {
  type InstanceHeartbeat,
  instanceKey,
  mergeWindowStats,
  type WindowStats,
} from '../../core/records/heartbeats';
import { type StateFile, stateFile } from './state-files';

/** Heartbeats kept while the table cannot be reached; beyond it, the oldest windows merge. */
export const DEFAULT_HEARTBEAT_BUFFER_CAPACITY = 360;

/** Options of a {@link HeartbeatBuffer}. */
export interface HeartbeatBufferOptions {
  /**
   * The file the buffer is kept in (owner-only), so that a runtime restarted while the link
   * is down still delivers what the process before it served. @default - memory only
   */
  readonly file?: string;
  /** Heartbeats kept at most. @default DEFAULT_HEARTBEAT_BUFFER_CAPACITY */
  readonly capacity?: number;
}

/**
 * The heartbeats a satellite could not write, oldest first, delivered in order once the table
 * answers again. Bounded: past its capacity the two oldest heartbeats of one process merge
 * (counts added, the later totals, the higher percentiles), so a disconnection of any length
 * costs the same memory and disk, and every request served meanwhile is still counted. A
 * process's totals only grow, so the last heartbeat delivered carries them exactly.
 */
export class HeartbeatBuffer {
  private readonly capacity: number;
  private entries: InstanceHeartbeat[];
  private readonly file: StateFile<InstanceHeartbeat[]> | undefined;

  constructor(options: HeartbeatBufferOptions = {}) {
    this.capacity = Math.max(2, options.capacity ?? DEFAULT_HEARTBEAT_BUFFER_CAPACITY);
    this.file = options.file ? stateFile(options.file) : undefined;
    // An unreadable buffer is lost, not fatal: the totals of the process that wrote it are
    // in the store up to its last delivered heartbeat.
    const kept = this.file?.read();
    this.entries = Array.isArray(kept) ? kept : [];
  }

  /** Heartbeats waiting to be delivered. */
  get size(): number {
    return this.entries.length;
  }

  /** The heartbeats waiting, oldest first. */
  pending(): readonly InstanceHeartbeat[] {
    return this.entries;
  }

  /** Keeps a heartbeat that could not be written. */
  add(heartbeat: InstanceHeartbeat): void {
    this.entries.push(heartbeat);
    while (this.entries.length > this.capacity && this.mergeOldest()) {}
    this.save();
  }

  /**
   * Writes the waiting heartbeats in order, each removed once written; stops at the first
   * failure (the rest wait for the next pull) and rethrows it.
   */
  async flush(write: (heartbeat: InstanceHeartbeat) => Promise<void>): Promise<number> {
    let written = 0;
    try {
      while (this.entries.length > 0) {
        await write(this.entries[0] as InstanceHeartbeat);
        this.entries.shift();
        written++;
      }
    } finally {
      if (written > 0) this.save();
    }
    return written;
  }

  /** Merges the oldest heartbeat into the next one of its process; false when none has one. */
  private mergeOldest(): boolean {
    for (let i = 0; i < this.entries.length; i++) {
      const older = this.entries[i] as InstanceHeartbeat;
      const j = this.entries.findIndex((e, k) => k > i && instanceKey(e) === instanceKey(older));
      if (j < 0) continue;
      const newer = this.entries[j] as InstanceHeartbeat;
      this.entries[j] = { ...newer, releases: mergeWindows(older.releases, newer.releases) };
      this.entries.splice(i, 1);
      return true;
    }
    return false;
  }

  private save(): void {
    this.file?.write(this.entries);
  }
}

/** Two windows of one process as one, release by release. */
function mergeWindows(
  a: Readonly<Record<string, WindowStats>>,
  b: Readonly<Record<string, WindowStats>>
): Record<string, WindowStats> {
  const merged: Record<string, WindowStats> = { ...a };
  for (const [release, w] of Object.entries(b)) {
    const m = merged[release];
    merged[release] = m ? mergeWindowStats(m, w) : w;
  }
  return merged;
}
