import { availableParallelism } from 'node:os';
import type { Environment, Location } from '../../core/environment/schema';
import {
  type LocationContext,
  locationContextFromEnv,
  locationContextOf,
  locationEnv,
} from '../../core/location-env';
import type { CorsSettings } from '../../functions/shared/middleware/response-headers';

/** How a satellite runtime is configured: the location context plus the runtime's own settings. */
export interface RuntimeConfig {
  /** The location, as functions see it (`releaseId` is set per loaded release). */
  readonly location: Omit<LocationContext, 'releaseId'>;
  readonly port: number;
  readonly host: string;
  /**
   * `s3` in AWS (the staged-release records name each bundle's S3 object), else a directory
   * of built releases.
   */
  readonly artifacts: string;
  /** Where releases fetched from S3 are kept. */
  readonly releaseCache: string;
  readonly auth?: {
    readonly issuer: string;
    readonly audience: readonly string[];
    readonly jwksUri?: string;
  };
  readonly pullIntervalSeconds: number;
  /**
   * How long an idle keep-alive connection stays open: longer than the idle timeout of the
   * proxy in front (see {@link keepAliveTimeoutFor}).
   */
  readonly keepAliveTimeoutSeconds: number;
  readonly cors?: CorsSettings;
  /** Print a `{"event":"heartbeat",…}` line after each heartbeat (the local fleet listens). */
  readonly announceHeartbeats: boolean;
  /** This host among the location's. @default - the host name */
  readonly instanceId?: string;
  /**
   * The cookie that carries a client's affinity key, for clients that cannot set the
   * `x-orbit-affinity` header (browsers). @default - the header only
   */
  readonly affinityCookie?: string;
  /**
   * The environment's release key: a KMS key or alias ARN, or a base64 DER public key. Set,
   * the runtime loads only releases whose signature verifies against it.
   * @default - releases are not verified
   */
  readonly releaseKey?: string;
  /**
   * Where the runtime keeps what must outlive its process: heartbeats not yet delivered and
   * the issuer's signing keys (owner-only files). @default '/var/lib/orbit/state'
   */
  readonly stateDir: string;
  /**
   * How long, in minutes since the issuer last answered, `jwt` routes keep verifying tokens
   * with the cached signing keys; past it they answer 503 `issuer-unavailable`. @default 1440
   */
  readonly offlineMaxMinutes: number;
  /**
   * How many processes serve on the runtime's port (node:cluster): one primary pulls for the
   * host and hands the desired state to each; 1 serves from a single process, no cluster.
   * @default - the host's cores (`os.availableParallelism()`)
   */
  readonly workers: number;
}

/**
 * How much longer than the idle timeout of the proxy in front (the load balancer, or an
 * on-prem site's HTTPS terminator) the runtime keeps an idle connection open. The proxy must
 * be the side that closes idle connections: if the runtime closes first, the proxy may send a
 * request on the connection before it learns of the close, and answers 502 (Application Load
 * Balancer guide, "Connection idle timeout").
 */
export const KEEP_ALIVE_MARGIN_SECONDS = 5;

/** The runtime's keep-alive timeout behind a proxy with this idle timeout. */
export const keepAliveTimeoutFor = (idleTimeoutSeconds: number): number =>
  idleTimeoutSeconds + KEEP_ALIVE_MARGIN_SECONDS;

/** The keep-alive timeout when none is configured: past an ALB's default idle timeout, 60 s. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS = keepAliveTimeoutFor(60);

/** The variables the runtime reads besides the location context ({@link ORBIT_ENV}). */
export const RUNTIME_ENV = {
  port: 'ORBIT_RUNTIME_PORT',
  host: 'ORBIT_RUNTIME_HOST',
  artifacts: 'ORBIT_ARTIFACTS',
  releaseCache: 'ORBIT_RELEASE_CACHE',
  authIssuer: 'ORBIT_AUTH_ISSUER',
  authAudience: 'ORBIT_AUTH_AUDIENCE',
  authJwksUri: 'ORBIT_AUTH_JWKS_URI',
  pullIntervalSeconds: 'ORBIT_PULL_INTERVAL_SECONDS',
  keepAliveTimeoutSeconds: 'ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS',
  announceHeartbeats: 'ORBIT_ANNOUNCE_HEARTBEATS',
  instanceId: 'ORBIT_INSTANCE_ID',
  affinityCookie: 'ORBIT_AFFINITY_COOKIE',
  releaseKey: 'ORBIT_RELEASE_KEY',
  stateDir: 'ORBIT_STATE_DIR',
  offlineMaxMinutes: 'ORBIT_OFFLINE_MAX_MINUTES',
  workers: 'ORBIT_WORKERS',
} as const;

/** Serving processes at most: far past any host's cores, a typo rather than a choice. */
export const MAX_WORKERS = 256;

/** How long `jwt` routes keep verifying with cached keys when none is configured: a day. */
export const DEFAULT_OFFLINE_MAX_MINUTES = 24 * 60;

/**
 * The variables every satellite runtime of `env` gets for `location`, wherever it runs (a
 * Local Zone or Outpost host's unit, the local fleet's processes); each place adds its own
 * (artifacts, ports, the store endpoint).
 */
export function satelliteRuntimeEnv(env: Environment, location: Location): Record<string, string> {
  return {
    ...locationEnv(locationContextOf(env, location), { cors: env.api.cors }),
    ...(env.api.affinityCookie ? { [RUNTIME_ENV.affinityCookie]: env.api.affinityCookie } : {}),
    [RUNTIME_ENV.offlineMaxMinutes]: String(env.satellite.offlineMaxMinutes),
  };
}

/** What RFC 6265 allows as a cookie name: an HTTP token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Reads the runtime's configuration; throws naming the first missing or bad variable. */
export function runtimeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const { releaseId: _ignored, ...location } = locationContextFromEnv({
    ORBIT_RELEASE_ID: '-',
    ...env,
  });
  const port = Number(env[RUNTIME_ENV.port] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`${RUNTIME_ENV.port}=${env[RUNTIME_ENV.port]} is not a port number`);
  }
  const pullIntervalSeconds = Number(env[RUNTIME_ENV.pullIntervalSeconds] ?? 10);
  if (!(pullIntervalSeconds > 0)) {
    throw new Error(`${RUNTIME_ENV.pullIntervalSeconds} must be a positive number of seconds`);
  }
  const keepAliveTimeoutSeconds = Number(
    env[RUNTIME_ENV.keepAliveTimeoutSeconds] ?? DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS
  );
  if (!(Number.isFinite(keepAliveTimeoutSeconds) && keepAliveTimeoutSeconds > 0)) {
    throw new Error(
      `${RUNTIME_ENV.keepAliveTimeoutSeconds}=${env[RUNTIME_ENV.keepAliveTimeoutSeconds]} is not a positive number of seconds: set it above the idle timeout of the proxy in front (default ${DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS})`
    );
  }
  const artifacts = env[RUNTIME_ENV.artifacts];
  if (!artifacts)
    throw new Error(`${RUNTIME_ENV.artifacts} is not set: a directory of built releases`);
  const issuer = env[RUNTIME_ENV.authIssuer];
  const audience = (env[RUNTIME_ENV.authAudience] ?? '').split(',').filter(Boolean);
  const affinityCookie = env[RUNTIME_ENV.affinityCookie] || undefined;
  if (affinityCookie !== undefined && !COOKIE_NAME.test(affinityCookie)) {
    throw new Error(
      `${RUNTIME_ENV.affinityCookie}=${affinityCookie} is not a cookie name: letters, digits and !#$%&'*+-.^_\`|~ only, or unset for the x-orbit-affinity header alone`
    );
  }
  const offlineMaxMinutes = Number(
    env[RUNTIME_ENV.offlineMaxMinutes] ?? DEFAULT_OFFLINE_MAX_MINUTES
  );
  if (!(Number.isFinite(offlineMaxMinutes) && offlineMaxMinutes > 0)) {
    throw new Error(
      `${RUNTIME_ENV.offlineMaxMinutes}=${env[RUNTIME_ENV.offlineMaxMinutes]} is not a positive number of minutes: how long jwt routes verify tokens with cached keys while the issuer cannot be reached (default ${DEFAULT_OFFLINE_MAX_MINUTES})`
    );
  }
  const workers = Number(env[RUNTIME_ENV.workers] || availableParallelism());
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= MAX_WORKERS)) {
    throw new Error(
      `${RUNTIME_ENV.workers}=${env[RUNTIME_ENV.workers]} is not a number of serving processes: a whole number from 1 (one process, no cluster) to ${MAX_WORKERS}, or unset for one per core (${availableParallelism()} here)`
    );
  }
  const cors = env.ORBIT_CORS ? (JSON.parse(env.ORBIT_CORS) as CorsSettings) : undefined;
  return {
    location,
    port,
    host: env[RUNTIME_ENV.host] ?? '0.0.0.0',
    artifacts,
    releaseCache: env[RUNTIME_ENV.releaseCache] ?? '/var/lib/orbit/releases',
    auth: issuer ? { issuer, audience, jwksUri: env[RUNTIME_ENV.authJwksUri] } : undefined,
    pullIntervalSeconds,
    keepAliveTimeoutSeconds,
    cors,
    announceHeartbeats: env[RUNTIME_ENV.announceHeartbeats] === 'true',
    instanceId: env[RUNTIME_ENV.instanceId] || undefined,
    affinityCookie,
    releaseKey: env[RUNTIME_ENV.releaseKey] || undefined,
    stateDir: env[RUNTIME_ENV.stateDir] || '/var/lib/orbit/state',
    offlineMaxMinutes,
    workers,
  };
}
