import type { ReleaseCounts, WindowStats } from '../../core/records/heartbeats';

export type { ReleaseCounts, WindowStats };

/** Latency samples kept per release and window; beyond it, samples are reservoir-sampled. */
const MAX_SAMPLES = 10_000;

class Counter {
  requests = 0;
  errors4xx = 0;
  errors5xx = 0;
  drained = 0;
  offline = 0;

  count(status: number, drained: boolean, offline = false): void {
    if (offline) {
      this.offline += 1;
      return;
    }
    if (drained) {
      this.drained += 1;
      return;
    }
    this.requests += 1;
    if (status >= 500) this.errors5xx += 1;
    else if (status >= 400) this.errors4xx += 1;
  }

  counts(): ReleaseCounts {
    const { requests, errors4xx, errors5xx, drained, offline } = this;
    return {
      requests,
      errors4xx,
      errors5xx,
      ...(drained > 0 ? { drained } : {}),
      ...(offline > 0 ? { offline } : {}),
    };
  }
}

class ReleaseWindow extends Counter {
  readonly samples: number[] = [];

  record(
    status: number,
    latencyMs: number,
    drained: boolean,
    offline: boolean,
    random: () => number
  ): void {
    this.count(status, drained, offline);
    if (drained || offline) return;
    if (this.samples.length < MAX_SAMPLES) this.samples.push(latencyMs);
    else {
      // Reservoir sampling keeps percentiles honest under load without unbounded memory.
      const slot = Math.floor(random() * this.requests);
      if (slot < MAX_SAMPLES) this.samples[slot] = latencyMs;
    }
  }

  summary(): WindowStats {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0
        ? 0
        : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number);
    return { ...this.counts(), p50Ms: round(at(0.5)), p99Ms: round(at(0.99)) };
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Request counts and latency per release over the current window: what heartbeats report
 * and what rollout gates judge a satellite by.
 */
export class ReleaseStats {
  private windows = new Map<string, ReleaseWindow>();
  private readonly totalsByRelease = new Map<string, Counter>();
  /**
   * Set while the table cannot be reached: answers are then counted as `offline` only, as
   * no evidence about the release (see {@link ReleaseCounts.offline}).
   */
  offline = false;

  constructor(private readonly random: () => number = Math.random) {}

  /** Records one answer; `drained` when the kill switch refused it. */
  record(releaseId: string, status: number, latencyMs: number, drained = false): void {
    let w = this.windows.get(releaseId);
    if (!w) {
      w = new ReleaseWindow();
      this.windows.set(releaseId, w);
    }
    w.record(status, latencyMs, drained, this.offline, this.random);
    let t = this.totalsByRelease.get(releaseId);
    if (!t) {
      t = new Counter();
      this.totalsByRelease.set(releaseId, t);
    }
    t.count(status, drained, this.offline);
  }

  /**
   * Counts since this runtime started, per release: monotonic, so a reader (a rollout gate)
   * can take the difference between two heartbeats without missing a window.
   */
  totals(): Record<string, ReleaseCounts> {
    return Object.fromEntries([...this.totalsByRelease].map(([id, t]) => [id, t.counts()]));
  }

  /** The figures since the last call, per release, and a fresh window. */
  takeWindow(): Record<string, WindowStats> {
    const done = this.windows;
    this.windows = new Map();
    return Object.fromEntries([...done].map(([id, w]) => [id, w.summary()]));
  }
}
