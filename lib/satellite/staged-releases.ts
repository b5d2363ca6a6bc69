import { HttpError } from '../../core/errors';
import type { Release } from '../../core/manifest';
import type { LoadedRelease } from './function-host';
import { ReleaseRefusedError } from './release-signature';

/** 404: a request names a release that is not staged at this location. */
export class ReleaseNotStagedError extends HttpError {
  constructor(releaseId: string, locationId: string) {
    super(404, 'release-not-staged', `release ${releaseId} is not staged at ${locationId}`, {
      extensions: { release: releaseId },
    });
    this.name = 'ReleaseNotStagedError';
  }
}

/** 502: a staged release could not be fetched, verified or loaded. */
export class ReleaseLoadError extends HttpError {
  constructor(releaseId: string, locationId: string, reason: string, options?: ErrorOptions) {
    super(
      502,
      'release-load-failed',
      `release ${releaseId} could not be loaded at ${locationId}: ${reason}`,
      { extensions: { release: releaseId } },
      options
    );
    this.name = 'ReleaseLoadError';
  }
}

/**
 * 502: the location refused a staged release (unsigned, a signature that does not verify, a
 * replayed manifest, a bundle that does not match): it is never loaded, so nothing of it
 * answers.
 */
export class StagedReleaseRefusedError extends HttpError {
  constructor(releaseId: string, locationId: string, reason: string, options?: ErrorOptions) {
    super(
      502,
      'release-refused',
      `release ${releaseId} was refused at ${locationId}: ${reason}`,
      { extensions: { release: releaseId } },
      options
    );
    this.name = 'StagedReleaseRefusedError';
  }
}

/** 503: loading a staged release took longer than its budget; a retry may find it loaded. */
export class ReleaseLoadTimeoutError extends HttpError {
  constructor(releaseId: string, locationId: string, timeoutMs: number) {
    const retryAfterSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    super(
      503,
      'release-load-timeout',
      `release ${releaseId} did not finish loading at ${locationId} within ${timeoutMs} ms`,
      {
        headers: { 'retry-after': String(retryAfterSeconds) },
        extensions: { release: releaseId, retryAfterSeconds },
      }
    );
    this.name = 'ReleaseLoadTimeoutError';
  }
}

/** Options of {@link StagedReleases}. */
export interface StagedReleasesOptions {
  readonly locationId: string;
  /** Whether the release is staged at the location (its staged-release record exists). */
  readonly isStaged: (releaseId: string) => Promise<boolean>;
  /** The release on local disk, verified: the pull agent's artifact source. */
  readonly fetch: (releaseId: string) => Promise<Release>;
  /** Loads a fetched release into the process. */
  readonly load: (release: Release) => LoadedRelease;
  /** Lets go of a release evicted from the cache. @default - nothing */
  readonly unload?: (release: LoadedRelease) => void;
  /** The releases the pull agent holds (serving or preloaded): used as they are. */
  readonly held: (releaseId: string) => LoadedRelease | undefined;
  /** Releases kept loaded besides the ones the pull agent holds. @default 2 */
  readonly capacity?: number;
  /** How long a load (check, fetch, verify, load) may take. @default 15000 */
  readonly loadTimeoutMs?: number;
  /** Told when a load fails, with the whole error. @default - nothing */
  readonly onError?: (message: string, err: unknown) => void;
}

/**
 * Releases staged at a location that serve no traffic, loaded on demand for the requests
 * that name them (`x-orbit-target-release: <release id>`, smoke tests of a release before it
 * gets traffic). Loads go through the pull agent's artifact source, so they are verified the
 * same way (a refused release answers 502 `release-refused`); concurrent requests for one release share one load; a load has a time budget,
 * after which its requests get a 503 (a later request starts a new load); at most `capacity`
 * such releases stay loaded, the least recently used is let go first.
 */
export class StagedReleases {
  private readonly capacity: number;
  private readonly loadTimeoutMs: number;
  /** Loaded releases, least recently used first. */
  private readonly cache = new Map<string, LoadedRelease>();
  private readonly loading = new Map<string, Promise<LoadedRelease>>();

  constructor(private readonly options: StagedReleasesOptions) {
    this.capacity = options.capacity ?? 2;
    this.loadTimeoutMs = options.loadTimeoutMs ?? 15_000;
  }

  /**
   * The release, loaded first if need be. Throws {@link ReleaseNotStagedError},
   * {@link ReleaseLoadError} or {@link ReleaseLoadTimeoutError}; never waits longer than the
   * load budget.
   */
  async get(releaseId: string): Promise<LoadedRelease> {
    const held = this.options.held(releaseId);
    if (held) return held;
    const cached = this.cache.get(releaseId);
    if (cached) {
      this.cache.delete(releaseId);
      this.cache.set(releaseId, cached);
      return cached;
    }
    let load = this.loading.get(releaseId);
    if (!load) {
      load = this.load(releaseId).finally(() => this.loading.delete(releaseId));
      this.loading.set(releaseId, load);
    }
    return load;
  }

  /**
   * Hands a cached release over to the pull agent (it became desired or preloaded), so that
   * it is not loaded twice; undefined when it is not cached.
   */
  take(releaseId: string): LoadedRelease | undefined {
    const cached = this.cache.get(releaseId);
    this.cache.delete(releaseId);
    return cached;
  }

  /** The ids of the releases loaded on demand, least recently used first. */
  get cached(): readonly string[] {
    return [...this.cache.keys()];
  }

  /**
   * One load, bounded in time. A load that outlives its budget goes on in the background: if
   * it succeeds, the release is cached for the next request; meanwhile a new request may
   * start another, so a load that hangs for good holds nothing up for long.
   */
  private async load(releaseId: string): Promise<LoadedRelease> {
    const attempt = this.attempt(releaseId);
    attempt.catch(() => undefined); // its waiters may have given up: a late failure is logged only
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new ReleaseLoadTimeoutError(
          releaseId,
          this.options.locationId,
          this.loadTimeoutMs
        );
        this.options.onError?.(`loading staged release ${releaseId} timed out`, err);
        reject(err);
      }, this.loadTimeoutMs);
    });
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async attempt(releaseId: string): Promise<LoadedRelease> {
    const { locationId } = this.options;
    try {
      if (!(await this.options.isStaged(releaseId))) {
        throw new ReleaseNotStagedError(releaseId, locationId);
      }
      const release = await this.options.fetch(releaseId);
      if (release.manifest.releaseId !== releaseId) {
        throw new Error(`its manifest names release ${release.manifest.releaseId}`);
      }
      const loaded = this.options.load(release);
      this.remember(releaseId, loaded);
      return loaded;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      this.options.onError?.(`cannot load staged release ${releaseId}`, err);
      if (err instanceof ReleaseRefusedError) {
        throw new StagedReleaseRefusedError(releaseId, locationId, err.reason, { cause: err });
      }
      const reason = err instanceof Error ? err.message : String(err);
      throw new ReleaseLoadError(releaseId, locationId, reason, { cause: err });
    }
  }

  private remember(releaseId: string, release: LoadedRelease): void {
    this.cache.set(releaseId, release);
    for (const [id, oldest] of this.cache) {
      if (this.cache.size <= this.capacity) break;
      this.cache.delete(id);
      // The pull agent may have loaded it meanwhile (same modules): then it stays loaded.
      if (!this.options.held(id)) this.options.unload?.(oldest);
    }
  }
}
