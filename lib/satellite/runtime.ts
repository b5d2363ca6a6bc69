import type { ServerResponse } from 'node:http';
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
import { PullAgent } from './pull-agent';
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
  const table = deps.table ?? createTableClient({ region: location.dataRegion });
  const onError =
    deps.onError ?? ((m: string, e: unknown) => console.error(`orbit runtime: ${m}`, e));
  const functionEnv = locationEnv(location, config.cors ? { cors: config.cors } : {});
  const stats = new ReleaseStats();
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
  const agent = new PullAgent({
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
    load: (release) => loadRelease(release, functionEnv),
    unload: unloadRelease,
    instanceId: config.instanceId,
    stats,
    intervalMs: config.pullIntervalSeconds * 1000,
    heartbeatBuffer: new HeartbeatBuffer({ file: path.join(config.stateDir, HEARTBEATS_FILE) }),
    lastDesired: (() => {
      const file = stateFile<DesiredTraffic>(path.join(config.stateDir, DESIRED_FILE));
      return { load: file.read, save: file.write };
    })(),
    // Functions read it per request (`/health` reports it); the process's own variable, as
    // nothing outside this process needs to know.
    onLinkChange: (link) => {
      if (link.connected) delete process.env[ORBIT_FUNCTION_ENV.linkDownSince];
      else process.env[ORBIT_FUNCTION_ENV.linkDownSince] = link.since;
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
  });
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // In flight, for a stop that answers them: a request that arrives on a kept-alive
  // connection while the runtime stops is still answered, and that connection then closes.
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
  agent.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    agent,
    stop: async (graceMs = DEFAULT_SHUTDOWN_GRACE_SECONDS * 1000) => {
      stopping = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let graceTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, graceMs);
      });
      // A pull that hangs (the store unreachable) must not hold the stop past the grace period.
      await Promise.race([Promise.all([closed, agent.stop()]), graceOver]);
      clearTimeout(graceTimer);
      const cut = inFlight.size;
      if (cut > 0) server.closeAllConnections();
      return { drained, cut };
    },
  };
}
