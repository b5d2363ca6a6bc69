/** What a release served at a location over one heartbeat window. */
export interface WindowStats {
  readonly requests: number;
  readonly errors4xx: number;
  readonly errors5xx: number;
  /** Latency percentiles in ms; 0 when there were no requests. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Latency samples kept per release and window; beyond it, samples are reservoir-sampled. */
const MAX_SAMPLES = 10_000;

class ReleaseWindow {
  requests = 0;
  errors4xx = 0;
  errors5xx = 0;
  readonly samples: number[] = [];

  record(status: number, latencyMs: number, random: () => number): void {
    this.requests += 1;
    if (status >= 500) this.errors5xx += 1;
    else if (status >= 400) this.errors4xx += 1;
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
    return {
      requests: this.requests,
      errors4xx: this.errors4xx,
      errors5xx: this.errors5xx,
      p50Ms: round(at(0.5)),
      p99Ms: round(at(0.99)),
    };
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Request counts and latency per release over the current window: what heartbeats report
 * and what rollout gates judge a satellite by.
 */
export class ReleaseStats {
  private windows = new Map<string, ReleaseWindow>();
  private readonly totalsByRelease = new Map<
    string,
    { requests: number; errors4xx: number; errors5xx: number }
  >();

  constructor(private readonly random: () => number = Math.random) {}

  /** Records one answered request. */
  record(releaseId: string, status: number, latencyMs: number): void {
    let w = this.windows.get(releaseId);
    if (!w) {
      w = new ReleaseWindow();
      this.windows.set(releaseId, w);
    }
    w.record(status, latencyMs, this.random);
    const t = this.totalsByRelease.get(releaseId) ?? { requests: 0, errors4xx: 0, errors5xx: 0 };
    t.requests += 1;
    if (status >= 500) t.errors5xx += 1;
    else if (status >= 400) t.errors4xx += 1;
    this.totalsByRelease.set(releaseId, t);
  }

  /**
   * Counts since this runtime started, per release: monotonic, so a reader (a rollout gate)
   * can take the difference between two heartbeats without missing a window.
   */
  totals(): Record<string, { requests: number; errors4xx: number; errors5xx: number }> {
    return Object.fromEntries([...this.totalsByRelease].map(([id, t]) => [id, { ...t }]));
  }

  /** The figures since the last call, per release, and a fresh window. */
  takeWindow(): Record<string, WindowStats> {
    const done = this.windows;
    this.windows = new Map();
    return Object.fromEntries([...done].map(([id, w]) => [id, w.summary()]));
  }
}
