import { hostname } from 'node:os';
import type { Release } from '../../core/manifest';
import type { RuntimeConfig } from './config';
import type { PullAgent } from './pull-agent';
import type { RunningRuntime } from './runtime';
import { ReleaseStats } from './stats';
import { type PoolStopOutcome, WorkerPool } from './workers';

/** How long a host's workers may take to serve after its first pull. */
const WORKERS_READY_TIMEOUT_MS = 60_000;

/** A host's primary running: its pull agent, and the workers serving on its port. */
export interface RunningPrimary extends Omit<RunningRuntime, 'stop'> {
  /** The host's one pull agent: SIGHUP makes it pull at once. */
  readonly agent: PullAgent;
  /**
   * Stops pulling, then every worker (each answers its requests in flight within `graceMs`);
   * resolves with their outcomes added up.
   */
  stop(graceMs: number): Promise<PoolStopOutcome>;
}

/**
 * Starts a host's primary with `config.workers` serving processes (node:cluster) on one port:
 * forks them at once (they boot while it pulls), runs the host's one pull agent (table reads,
 * artifact fetch and verification into the cache, link state, heartbeat buffer) and hands each
 * split to every worker before the heartbeat that claims it, which holds one entry per worker
 * (`<instanceId>/<n>`, its own `startedAt`) claiming only the split that worker serves.
 * Resolves once the first pull has switched and the first worker listens (the others are forked
 * then, so that they do not slow the host's first answer); fails, like a single
 * process, when there is nothing to serve or a worker cannot serve it.
 */
export async function startPrimary(config: RuntimeConfig): Promise<RunningPrimary> {
  let agent: PullAgent | undefined;
  const pool: WorkerPool = new WorkerPool({
    count: config.workers,
    instanceId: config.instanceId ?? hostname(),
    // A worker's request for a release staged here: checked, fetched and verified once for the
    // host, through the pull agent's staged releases (which the primary holds as references).
    staged: async (releaseId): Promise<Release> => {
      if (!agent) throw new Error('the host has not pulled yet');
      const ref = await agent.staged.get(releaseId);
      return pool.release(ref.releaseId);
    },
    // Shorter than an interval, so that a missing worker never delays the next pull.
    reportTimeoutMs: Math.min(2_000, Math.max(250, config.pullIntervalSeconds * 500)),
  });
  pool.start();
  // The pull agent's table, S3 and KMS clients load while the workers boot.
  const { createPullAgent } = await import('./runtime');
  agent = createPullAgent(config, {
    load: (release) => pool.track(release),
    unload: (release) => pool.forget(release.releaseId),
    // The primary serves nothing: what it counts stays empty; the workers report their own.
    stats: new ReleaseStats(),
    serve: (split) => pool.serve(split),
    reports: () => pool.collect(),
    onLinkChange: (link) => pool.setLink(link),
  });
  let port: number;
  try {
    // The first pull (its heartbeat follows) and the workers' start, side by side: a pull that
    // finds nothing to serve fails the start at once.
    [, port] = await Promise.all([agent.firstPull(), pool.ready(WORKERS_READY_TIMEOUT_MS)]);
  } catch (err) {
    await pool.stop(0).catch(() => undefined);
    throw err;
  }
  agent.start();
  const running = agent;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    agent: running,
    stop: async (graceMs) => {
      const [outcome] = await Promise.all([
        pool.stop(graceMs),
        // A pull that hangs (the store unreachable) must not hold the stop past the workers'.
        Promise.race([running.stop(), new Promise((r) => setTimeout(r, graceMs).unref())]),
      ]);
      return outcome;
    },
  };
}
