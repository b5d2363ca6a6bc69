import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { locationEnv, ORBIT_FUNCTION_ENV } from '../../core/location-env';
import { Records } from '../../core/records';
import type { DesiredTraffic } from '../../core/records/desired-traffic';
import { createTableClient } from '../../core/records/table';
import { LocalArtifactSource, S3ArtifactSource } from './artifacts';
import type { RuntimeConfig } from './config';
import { loadRelease, prepareConcurrentInvocations, unloadRelease } from './function-host';
import { HeartbeatBuffer } from './heartbeat-buffer';
import { type LinkStatus, PullAgent, type PullAgentOptions } from './pull-agent';
import { keptReleaseKey, ReleaseVerifier, releaseKeyFrom } from './release-signature';
import { type Authenticate, createRuntimeServer } from './server';
import { DEFAULT_SHUTDOWN_GRACE_SECONDS } from './shutdown';
import { stateFile } from './state-files';
import { ReleaseStats } from './stats';

/** The file in the state directory where undelivered heartbeats wait. */
export const HEARTBEATS_FILE = 'heartbeats.json';
/** The file in the state directory holding the release key's public half, once fetched. */
export const RELEASE_KEY_FILE = 'release-key.json';
/** The file in the state directory holding the split last pulled. */
export const DESIRED_FILE = 'desired-traffic.json';

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

/** How {@link RunningRuntime.stop} ended. */
export interface StopOutcome {
  /** Requests answered after the stop began. */
  readonly drained: number;
  /** Requests still in flight when the grace period ended (their connections closed). */
  readonly cut: number;
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

/** The location's function variables: what every release is loaded with. */
export const functionEnvOf = (config: RuntimeConfig): Record<string, string> =>
  locationEnv(config.location, config.cors ? { cors: config.cors } : {});

/**
 * Sets the link variable functions read per request (`/health` reports it): the process's
 * own variable, as nothing outside this process needs to know.
 */
export function setLinkEnv(link: LinkStatus): void {
  if (link.connected) delete process.env[ORBIT_FUNCTION_ENV.linkDownSince];
  else process.env[ORBIT_FUNCTION_ENV.linkDownSince] = link.since;
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
            s3: new S3Client({ region: location.region }),
            cacheDir: config.releaseCache,
            verifier,
          })
        : new LocalArtifactSource(config.artifacts, verifier),
    load: parts.load ?? ((release) => loadRelease(release, functionEnv)),
    unload: parts.unload ?? unloadRelease,
    instanceId: config.instanceId,
    stats: parts.stats ?? new ReleaseStats(),
    intervalMs: config.pullIntervalSeconds * 1000,
    heartbeatBuffer: new HeartbeatBuffer({ file: path.join(config.stateDir, HEARTBEATS_FILE) }),
    lastDesired: (() => {
      const file = stateFile<DesiredTraffic>(path.join(config.stateDir, DESIRED_FILE));
      return { load: file.read, save: file.write };
    })(),
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
  await agent.tick();

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

/** A server listening, and how to stop it gracefully. */
export interface Listening {
  /** Base URL, e.g. `http://127.0.0.1:4101/`. */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections, answers the requests in flight (each on a connection that
   * then closes) and resolves once none is left and `alsoWait` settled, or when `graceMs`
   * ends: then the connections still open are closed, cutting what they carry.
   * @param graceMs @default DEFAULT_SHUTDOWN_GRACE_SECONDS * 1000
   * @param alsoWait what else the stop waits for within the grace period @default - nothing
   */
  stop(graceMs?: number, alsoWait?: Promise<unknown>): Promise<StopOutcome>;
}

/**
 * Listens on the configured port and host (in a cluster worker, the port the primary shares)
 * and keeps track of the requests in flight, for a stop that answers them: a request that
 * arrives on a kept-alive connection while the server stops is still answered, and that
 * connection then closes.
 */
export async function listen(
  server: Server,
  config: Pick<RuntimeConfig, 'port' | 'host'>
): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  let drained = 0;
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    if (stopping) res.setHeader('connection', 'close');
    res.once('close', () => {
      inFlight.delete(res);
      if (!stopping) return;
      drained++;
      server.closeIdleConnections();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    stop: async (graceMs = DEFAULT_SHUTDOWN_GRACE_SECONDS * 1000, alsoWait) => {
      stopping = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let graceTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, graceMs);
      });
      // A pull that hangs (the store unreachable) must not hold the stop past the grace period.
      await Promise.race([Promise.all([closed, alsoWait]), graceOver]);
      clearTimeout(graceTimer);
      const cut = inFlight.size;
      if (cut > 0) server.closeAllConnections();
      return { drained, cut };
    },
  };
}
