import { hostname } from 'node:os';
import * as path from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../core/records';
import type { DesiredTraffic } from '../../core/records/desired-traffic';
import { createTableClient } from '../../core/records/table';
import { LocalArtifactSource, S3ArtifactSource } from './artifacts';
import { codeCacheOf } from './code-cache';
import type { RuntimeConfig } from './config';
import { loadRelease, prepareConcurrentInvocations, unloadRelease } from './function-host';
import { HeartbeatBuffer } from './heartbeat-buffer';
import { functionEnvOf, listen, type StopOutcome, setLinkEnv } from './listen';
import { type LinkStatus, PullAgent, type PullAgentOptions } from './pull-agent';
import { keptReleaseKey, ReleaseVerifier, releaseKeyFrom } from './release-signature';
import { type Authenticate, createRuntimeServer } from './server';
import { stateFile } from './state-files';
import { ReleaseStats } from './stats';

/** The file in the state directory where undelivered heartbeats wait. */
export const HEARTBEATS_FILE = 'heartbeats.json';
/** The file in the state directory holding the release key's public half, once fetched. */
export const RELEASE_KEY_FILE = 'release-key.json';
/** The file in the state directory holding the split last pulled. */
export const DESIRED_FILE = 'desired-traffic.json';

export type { StopOutcome };

/** A running satellite runtime. */
export interface RunningRuntime {
  /** Base URL, e.g. `http://127.0.0.1:4101/`. */
  readonly url: string;
  readonly port: number;
  readonly agent: PullAgent;
  /**
   * Stops pulling and accepting connections, answers the requests in flight (each on a
   * connection that then closes) and resolves once none is left, or when `graceMs` ends:
   * then the connections still open are closed, cutting what they carry.
   * @param graceMs @default DEFAULT_SHUTDOWN_GRACE_SECONDS * 1000
   */
  stop(graceMs?: number): Promise<StopOutcome>;
}

/** What {@link startRuntime} may be given instead of building it from the config. */
export interface RuntimeDependencies {
  readonly table?: DynamoDBDocumentClient;
  readonly authenticate?: Authenticate;
  readonly onError?: (message: string, err: unknown) => void;
}

/** What {@link createPullAgent} may be given instead of the defaults a serving process uses. */
export interface PullAgentParts {
  readonly table?: DynamoDBDocumentClient;
  readonly onError?: (message: string, err: unknown) => void;
  /** Loads a fetched release. @default - into this process, with the location's variables */
  readonly load?: PullAgentOptions['load'];
  /** @default unloadRelease */
  readonly unload?: PullAgentOptions['unload'];
  /** @default - a fresh ReleaseStats */
  readonly stats?: ReleaseStats;
  readonly serve?: PullAgentOptions['serve'];
  readonly reports?: PullAgentOptions['reports'];
  /** Told after the process's own link variable is set (see {@link setLinkEnv}). */
  readonly onLinkChange?: (link: LinkStatus) => void;
}

/**
 * The pull agent of a runtime's configuration: its table, artifact source (verified against
 * the release key, if set), heartbeat buffer and the split last pulled, both in the state
 * directory. A single process serves what it pulls; a host's primary passes `load`, `serve`
 * and `reports` to hand the split to its workers instead.
 */
export function createPullAgent(config: RuntimeConfig, parts: PullAgentParts = {}): PullAgent {
  const { location } = config;
  const table = parts.table ?? createTableClient({ region: location.dataRegion });
  const onError =
    parts.onError ?? ((m: string, e: unknown) => console.error(`orbit runtime: ${m}`, e));
  const functionEnv = functionEnvOf(config);
  const codeCache = codeCacheOf(config);
  const records = new Records(table, location.tableName);
  const verifier = config.releaseKey
    ? new ReleaseVerifier({
        environment: location.environment,
        key: keptReleaseKey(
          releaseKeyFrom(config.releaseKey),
          path.join(config.stateDir, RELEASE_KEY_FILE)
        ),
        signedRecordsDir: path.join(config.stateDir, 'signed-releases'),
        records,
        locationId: location.locationId,
        instanceId: config.instanceId ?? hostname(),
      })
    : undefined;
  return new PullAgent({
    records,
    locationId: location.locationId,
    artifacts:
      config.artifacts === 's3'
        ? new S3ArtifactSource({
            records,
            locationId: location.locationId,
            s3: async () => {
              const { S3Client } = await import('@aws-sdk/client-s3');
              return new S3Client({ region: location.region });
            },
            cacheDir: config.releaseCache,
            verifier,
          })
        : new LocalArtifactSource(config.artifacts, verifier),
    load: parts.load ?? ((release) => loadRelease(release, functionEnv, codeCache)),
    unload: parts.unload ?? unloadRelease,
    instanceId: config.instanceId,
    stats: parts.stats ?? new ReleaseStats(),
    intervalMs: config.pullIntervalSeconds * 1000,
    heartbeatBuffer: new HeartbeatBuffer({ file: path.join(config.stateDir, HEARTBEATS_FILE) }),
    lastDesired: stateFile<DesiredTraffic>(path.join(config.stateDir, DESIRED_FILE)),
    onLinkChange: (link) => {
      setLinkEnv(link);
      parts.onLinkChange?.(link);
      console.error(
        link.connected
          ? `orbit runtime: the table answers again (${link.since}); delivering the heartbeats kept meanwhile`
          : `orbit runtime: the table cannot be reached (${link.since}); serving what is loaded, keeping heartbeats`
      );
    },
    onError: (err) => onError('pull failed; serving what is loaded', err),
    onHeartbeat: config.announceHeartbeats
      ? (hb) =>
          process.stdout.write(
            `${JSON.stringify({ event: 'heartbeat', location: hb.locationId, atMs: hb.atMs })}\n`
          )
      : undefined,
    serve: parts.serve,
    reports: parts.reports,
  });
}

/**
 * Starts a satellite runtime: pulls the location's desired state once (and fails if there
 * is nothing to serve), then serves HTTP and keeps pulling and writing heartbeats.
 */
export async function startRuntime(
  config: RuntimeConfig,
  deps: RuntimeDependencies = {}
): Promise<RunningRuntime> {
  await prepareConcurrentInvocations();
  const { location } = config;
  const onError =
    deps.onError ?? ((m: string, e: unknown) => console.error(`orbit runtime: ${m}`, e));
  const stats = new ReleaseStats();
  const agent = createPullAgent(config, { table: deps.table, onError, stats });
  await agent.firstPull();

  const server = createRuntimeServer({
    traffic: () => agent.current(),
    authenticate: deps.authenticate,
    stats,
    locationId: location.locationId,
    onError,
    keepAliveTimeoutMs: config.keepAliveTimeoutSeconds * 1000,
    affinityCookie: config.affinityCookie,
  });
  const listening = await listen(server, config);
  agent.start();
  return {
    ...listening,
    agent,
    stop: (graceMs) => listening.stop(graceMs, agent.stop()),
  };
}
