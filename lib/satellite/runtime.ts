import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ORBIT_ENV, ORBIT_FUNCTION_ENV } from '../../functions/shared/env';
import { createTableClient } from '../../functions/shared/table';
import { LocalArtifactSource, S3ArtifactSource } from './artifacts';
import type { RuntimeConfig } from './config';
import { loadRelease, prepareConcurrentInvocations, unloadRelease } from './function-host';
import { PullAgent } from './pull-agent';
import { type Authenticate, createRuntimeServer } from './server';
import { ReleaseStats } from './stats';

/** A running satellite runtime. */
export interface RunningRuntime {
  /** Base URL, e.g. `http://127.0.0.1:4101/`. */
  readonly url: string;
  readonly port: number;
  readonly agent: PullAgent;
  /** Stops pulling and serving; resolves when every connection is closed. */
  stop(): Promise<void>;
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
  const functionEnv: Record<string, string> = {
    [ORBIT_ENV.environment]: location.environment,
    [ORBIT_ENV.locationId]: location.locationId,
    [ORBIT_ENV.locationKind]: location.locationKind,
    [ORBIT_ENV.region]: location.region,
    [ORBIT_ENV.tableName]: location.tableName,
    [ORBIT_ENV.dataRegion]: location.dataRegion,
    ...(config.cors ? { [ORBIT_FUNCTION_ENV.cors]: JSON.stringify(config.cors) } : {}),
  };
  const stats = new ReleaseStats();
  const agent = new PullAgent({
    table,
    tableName: location.tableName,
    locationId: location.locationId,
    artifacts:
      config.artifacts === 's3'
        ? new S3ArtifactSource({
            table,
            tableName: location.tableName,
            locationId: location.locationId,
            s3: new S3Client({ region: location.region }),
            cacheDir: config.releaseCache,
          })
        : new LocalArtifactSource(config.artifacts),
    load: (release) => loadRelease(release, functionEnv),
    unload: unloadRelease,
    instanceId: config.instanceId,
    stats,
    intervalMs: config.pullIntervalSeconds * 1000,
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  agent.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    agent,
    stop: async () => {
      await agent.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
