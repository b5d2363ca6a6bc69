import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { dataRegionOf, regionOf } from '../../core/environment/fleet';
import type { Environment } from '../../core/environment/schema';
import { ORBIT_ENV } from '../../core/location-env';
import type { Release, ReleaseManifest } from '../../core/manifest';
import { localAudienceOf, tableNameOf } from '../../core/names';
import { Records } from '../../core/records';
import { createTableClient } from '../../core/records/table';
import { HeartbeatHealthSource } from '../../functions/orchestrator/adapters/heartbeat-health';
import { HttpSmokeRunner } from '../../functions/orchestrator/adapters/http-smoke';
import { SatelliteTrafficDriver } from '../../functions/orchestrator/adapters/satellite-traffic';
import { type ControlPlane, createControlPlane } from '../../functions/orchestrator/control-plane';
import type { Orchestrator } from '../../functions/orchestrator/orchestrator';
import { buildRelease } from '../release/build';
import { RUNTIME_ENV, satelliteRuntimeEnv } from '../satellite/config';
import { SHUTDOWN_GRACE_ENV } from '../satellite/shutdown';
import { startLocalControl } from './control';
import { DEV_ISSUER_JWKS_PATH, type DevIssuer, startDevIssuer } from './dev-issuer';
import { localRolloutEvents } from './events';
import { type LinkStatus, type LocationLink, startLocationLink } from './links';
import { LogBuffer } from './log-buffer';
import { runLoop } from './loop';
import {
  type LocalReleaseKey,
  localReleaseKeyFor,
  openLocalReleaseKey,
  useLocalReleaseKey,
} from './release-key';
import {
  type LocalFleetState,
  type LocalLocationAddress,
  localStateFile,
  removeLocalState,
  writeLocalState,
} from './state-file';
import { type LocalStore, startLocalStore } from './store';
import { startStoreProxy } from './store-proxy';
import { type RuntimeStatus, type SupervisedRuntime, superviseRuntime } from './supervisor';

/** Options of {@link startLocalFleet}. */
export interface LocalFleetOptions {
  readonly environment: Environment;
  /** The `--config` file the environment came from, recorded in the state file. @default - none */
  readonly configPath?: string;
  /**
   * First loopback port: the store takes it, the token issuer the next, then one per location.
   * @default 4100
   */
  readonly basePort?: number;
  /**
   * Keep the store's data, and the token issuer's signing key, in this directory.
   * @default - in memory, a fresh key per start
   */
  readonly persistDir?: string;
  /** A release built earlier. @default - built now from `functions/` */
  readonly release?: Release;
  /** Seconds between each runtime's pulls and heartbeats. @default 2 */
  readonly pullIntervalSeconds?: number;
  /**
   * Put a proxy between the runtimes and the store, so that {@link LocalFleet.storeOutage}
   * can cut them off it (fault rehearsals: `npm run soak`). @default false
   */
  readonly storeFaults?: boolean;
  /** Lines the runtimes print (their logs), with the location id. @default - dropped */
  readonly onLog?: (locationId: string, line: string, stream: 'stdout' | 'stderr') => void;
  /** How long a runtime may take to be ready. @default 20000 */
  readonly readyTimeoutMs?: number;
  /**
   * Seconds between scheduled orchestrator passes (governance every five of them); commands
   * and awaited heartbeats run passes in between. @default 1
   */
  readonly reconcileIntervalSeconds?: number;
  /** What each orchestrator pass did. @default - dropped */
  readonly onReconcile?: (events: readonly string[]) => void;
  /** One line per rollout event, and per webhook that missed one. @default - dropped */
  readonly onEvent?: (line: string) => void;
  /**
   * Seconds before a runtime that died is restarted; each restart in a row doubles it, up to
   * 30 s. @default 1
   */
  readonly restartDelaySeconds?: number;
  /** One line each time a runtime died and is restarting. @default - dropped */
  readonly onRestart?: (line: string) => void;
  /**
   * Write this fleet's state file here (`local-<env>-<port>.json`) so that `npx orbit`
   * finds it.
   * @default - not written
   */
  readonly stateDir?: string;
}

/** One location of the running local fleet. */
export interface LocalLocation extends LocalLocationAddress {
  /** Its runtime's process now (a restart changes it). */
  readonly pid: number;
}

/** What a location serves, as its desired-traffic record says. */
export interface ServedRelease {
  readonly location: string;
  readonly stable: string;
  readonly candidate?: string;
  /** The candidate's share, 0 to 1. */
  readonly weight: number;
}

/** The running local fleet. */
export interface LocalFleet {
  readonly environment: Environment;
  /** The release this start built (or was given) and staged everywhere. */
  readonly releaseId: string;
  /**
   * What each location serves at start: the release just staged on a fresh store; with a
   * persisted one, what the orchestrator last set.
   */
  readonly serving: readonly ServedRelease[];
  readonly storeEndpoint: string;
  readonly issuer: DevIssuer;
  /** A ready-to-use bearer token for the fleet's `jwt` routes. */
  readonly token: string;
  readonly locations: readonly LocalLocation[];
  /** The orchestrator the fleet's loop runs (tests call `reconcile()` directly too). */
  readonly orchestrator: Orchestrator;
  /** The fleet's control plane: its orchestrator and its governance runner. */
  readonly controlPlane: ControlPlane;
  /** Where the fleet's state file is. @default - none written */
  readonly stateFile?: string;
  /** Each runtime as supervised now: its process and restart count. */
  runtimes(): readonly RuntimeStatus[];
  /** Runs an orchestrator pass now (after the one in progress), as `npx orbit` commands do. */
  wake(): void;
  /**
   * Cuts the runtimes off the store for `ms` (needs `storeFaults`), as when the store stops
   * and restarts; nothing it acknowledged is lost. Resolves when the store is back.
   */
  storeOutage(ms: number): Promise<void>;
  /**
   * Cuts (`false`) or restores (`true`) one location's link to the store and the issuer, as
   * `npx orbit fault disconnect|reconnect --location ID` does; throws for an unknown location.
   */
  link(locationId: string, connected: boolean): LinkStatus;
  /** Each location's link now. */
  links(): readonly LinkStatus[];
  /** The runtimes' recent lines (what `npx orbit logs` reads). */
  readonly logs: LogBuffer;
  /** Stops every runtime, the issuer and the store; frees every port. */
  stop(): Promise<void>;
}

const RUNTIME_READY_TIMEOUT_MS = 20_000;
/** Governance runs every this many reconcile intervals. */
const GOVERNANCE_EVERY_INTERVALS = 5;
/** How long a local runtime answers requests in flight when the fleet stops. */
const RUNTIME_GRACE_SECONDS = 3;
/** Where a persisted fleet keeps its token issuer's signing key, in the persist directory. */
export const ISSUER_KEY_FILE = 'orbit-issuer-key.json';

/**
 * Brings a whole environment up on one machine: the embedded store with the fleet's table,
 * the location records and the release staged and made stable everywhere, a development
 * token issuer, and one satellite runtime process per location (regions too) on consecutive
 * loopback ports, each supervised (restarted when it dies) and stopping by itself if this
 * process dies. Anything that fails on the way stops what was started.
 */
export async function startLocalFleet(options: LocalFleetOptions): Promise<LocalFleet> {
  const env = options.environment;
  const basePort = options.basePort ?? 4100;
  const tableName = tableNameOf(env);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const release = options.release ?? (await buildRelease());
    const releaseId = release.manifest.releaseId;
    const store: LocalStore = await startLocalStore(basePort, tableName, options.persistDir);
    stops.push(store.stop);
    // Rehearsing faults: the runtimes reach the store through a proxy that can cut it off.
    const proxy = options.storeFaults
      ? await startStoreProxy(Number(new URL(store.endpoint).port))
      : undefined;
    if (proxy) stops.push(proxy.stop);
    const runtimeStore = proxy?.endpoint ?? store.endpoint;
    const audience = localAudienceOf(env);
    const issuer = await startDevIssuer(basePort === 0 ? 0 : basePort + 1, audience, {
      keyFile: options.persistDir ? path.join(options.persistDir, ISSUER_KEY_FILE) : undefined,
    });
    stops.push(issuer.stop);
    // The environment's release key, locally: what staging signs with and runtimes verify.
    const releaseKey = openLocalReleaseKey(options.stateDir ?? options.persistDir);
    const forgetReleaseKey = useLocalReleaseKey(env.name, releaseKey);
    stops.push(async () => forgetReleaseKey());

    const control = createTableClient({ region: env.homeRegion, endpoint: store.endpoint });
    stops.push(async () => control.destroy());
    const records = new Records(control, tableName);
    await stageEverywhere(env, records, releaseId, release.manifest);
    const serving = await servedReleases(env, records);

    // Each location reaches the store and the issuer through its own link, which
    // `orbit fault disconnect` cuts: one site loses its uplink, the rest serve on.
    const links = new Map<string, LocationLink>();
    stops.push(() => Promise.all([...links.values()].map((l) => l.stop())).then(() => {}));
    for (const location of env.locations) {
      links.set(
        location.id,
        await startLocationLink(location.id, Number(new URL(runtimeStore).port), {
          port: Number(new URL(issuer.issuer).port),
          jwksPath: DEV_ISSUER_JWKS_PATH,
        })
      );
    }
    const linkOf = (id: string) => links.get(id) as LocationLink;
    // What each runtime keeps across its restarts (heartbeats not yet delivered, the issuer's
    // keys): under the persist directory, or a temporary one removed when the fleet stops.
    const runtimeStates = options.persistDir
      ? path.join(options.persistDir, 'runtimes')
      : mkdtempSync(path.join(tmpdir(), 'orbit-runtimes-'));
    if (!options.persistDir) {
      stops.push(async () => rmSync(runtimeStates, { recursive: true, force: true }));
    }
    const runtimeStateDir = (id: string) => path.join(runtimeStates, id);
    const logs = new LogBuffer();
    const onLog = (id: string, line: string, stream: 'stdout' | 'stderr') => {
      logs.add(id, stream, line);
      options.onLog?.(id, line, stream);
    };
    const runtimes = new Map<string, SupervisedRuntime>();
    stops.push(() => Promise.all([...runtimes.values()].map((r) => r.stop())).then(() => {}));
    // Event-driven reconcile: when the orchestrator waits for a location's evidence, that
    // location's next heartbeat runs a pass at once instead of on the next scheduled one.
    let awaited = new Set<string>();
    let wake = () => {};
    const onHeartbeat = (locationId: string) => {
      if (awaited.has(locationId)) wake();
    };
    // Settled, all of them, before a failure is thrown: every runtime that did start is stopped.
    const started = await Promise.allSettled(
      env.locations.map(async (location, i): Promise<LocalLocation> => {
        const runtime = await superviseRuntime({
          locationId: location.id,
          port: basePort === 0 ? 0 : basePort + 2 + i,
          spawn: (port) =>
            spawnRuntime(release, {
              ...satelliteRuntimeEnv(env, location),
              ORBIT_DYNAMODB_ENDPOINT: linkOf(location.id).storeEndpoint,
              [RUNTIME_ENV.authJwksUri]: linkOf(location.id).jwksUri,
              [RUNTIME_ENV.stateDir]: runtimeStateDir(location.id),
              [RUNTIME_ENV.port]: String(port),
              [RUNTIME_ENV.host]: '127.0.0.1',
              [RUNTIME_ENV.artifacts]: path.dirname(release.dir),
              [RUNTIME_ENV.releaseKey]: releaseKey.publicKey,
              [RUNTIME_ENV.authIssuer]: issuer.issuer,
              [RUNTIME_ENV.authAudience]: audience,
              [RUNTIME_ENV.pullIntervalSeconds]: String(options.pullIntervalSeconds ?? 2),
              [RUNTIME_ENV.announceHeartbeats]: 'true',
              // One process per location: a laptop runs many locations, not many cores' worth each.
              [RUNTIME_ENV.workers]: '1',
              [SHUTDOWN_GRACE_ENV]: String(RUNTIME_GRACE_SECONDS),
            }),
          readyTimeoutMs: options.readyTimeoutMs ?? RUNTIME_READY_TIMEOUT_MS,
          restartDelayMs: (options.restartDelaySeconds ?? 1) * 1000,
          killAfterMs: (RUNTIME_GRACE_SECONDS + 2) * 1000,
          onLog,
          onHeartbeat,
          onRestart: options.onRestart,
        });
        runtimes.set(location.id, runtime);
        return {
          id: location.id,
          kind: location.kind,
          region: regionOf(location),
          url: runtime.url,
          get pid() {
            return runtime.status().pid;
          },
        };
      })
    );
    const locations = started.map((s) => {
      if (s.status === 'rejected') throw s.reason;
      return s.value;
    });
    const satellites = new SatelliteTrafficDriver(records);
    const notifications = localRolloutEvents({
      webhooks: env.rollout.notifications.webhooks,
      onLine: options.onEvent,
    });
    const plane = createControlPlane(
      env,
      records,
      {
        // What AWS cannot do for a satellite, one machine can: tell the runtime to pull at once.
        driverFor: () => ({
          apply: async (locationId, target) => {
            await satellites.apply(locationId, target);
            runtimes.get(locationId)?.signal('SIGHUP');
          },
        }),
        healthFor: () => heartbeats,
        // Every location runs the satellite runtime here, regions too: all of them report.
        reporting: env.locations.map((l) => l.id),
        // Smoke checks ask each location's runtime for the candidate by its release header.
        smoke: new HttpSmokeRunner({
          checks: env.rollout.smoke,
          urlOf: (id) => {
            const url = runtimes.get(id)?.url;
            if (!url) throw new Error(`no runtime of this fleet serves ${id}`);
            return url;
          },
        }),
        events: notifications.events,
      },
      { actor: 'local-orchestrator', onEventError: notifications.onEventError }
    );
    const heartbeats = new HeartbeatHealthSource(records);
    const { orchestrator } = plane;
    // One governance run at a time, whether the loop or `npx orbit governance run` asks.
    let governing: Promise<unknown> = Promise.resolve();
    const governance = () => {
      const run = governing.then(() => plane.governance());
      governing = run.catch(() => undefined);
      return run;
    };
    const intervalMs = (options.reconcileIntervalSeconds ?? 1) * 1000;
    let governedAt = 0;
    const loop = runLoop(intervalMs / 1000, async () => {
      const { events, waitingOn } = await orchestrator.reconcile();
      awaited = new Set(waitingOn);
      // By the clock, not by passes: woken passes must not make governance run more often.
      if (Date.now() - governedAt >= GOVERNANCE_EVERY_INTERVALS * intervalMs) {
        governedAt = Date.now();
        await governance();
      }
      if (events.length > 0) options.onReconcile?.(events);
    });
    stops.push(loop.stop);
    wake = loop.wake;
    const statuses = () => env.locations.flatMap((l) => runtimes.get(l.id)?.status() ?? []);
    const controlEndpoint = await startLocalControl({
      wake: loop.wake,
      governance: async () => (await governance()).length,
      state: () => ({
        environment: env.name,
        pid: process.pid,
        runtimes: statuses(),
        links: env.locations.map((l) => linkOf(l.id).status()),
      }),
      events: notifications.recent,
      link: (id, connected) => links.get(id)?.set(connected),
      logs,
      locations: env.locations.map((l) => l.id),
    });
    stops.push(controlEndpoint.stop);
    let stateFile: string | undefined;
    if (options.stateDir) {
      const port = Number(new URL(store.endpoint).port);
      const file = localStateFile(options.stateDir, env.name, port);
      const state: LocalFleetState = {
        environment: env.name,
        definition: env,
        ...(options.configPath ? { configPath: path.resolve(options.configPath) } : {}),
        port,
        storeEndpoint: store.endpoint,
        tableName,
        homeRegion: env.homeRegion,
        locations: locations.map(({ id, kind, region, url }) => ({ id, kind, region, url })),
        pid: process.pid,
        controlUrl: controlEndpoint.url,
      };
      writeLocalState(file, state);
      stateFile = file;
      // First to go: a CLI must not find a fleet that is stopping.
      stops.push(async () => removeLocalState(file, process.pid));
    }
    return {
      environment: env,
      releaseId,
      serving,
      orchestrator,
      controlPlane: plane,
      wake: loop.wake,
      storeEndpoint: store.endpoint,
      issuer,
      token: await issuer.issue('local-developer'),
      locations,
      stateFile,
      runtimes: statuses,
      link: (id, connected) => {
        const link = links.get(id);
        if (!link) throw new Error(`the fleet has no location ${id}`);
        return link.set(connected);
      },
      links: () => env.locations.map((l) => linkOf(l.id).status()),
      logs,
      storeOutage: async (ms) => {
        if (!proxy) throw new Error('storeOutage needs a fleet started with storeFaults');
        await proxy.outage(ms);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** What each location's desired-traffic record says it serves. */
async function servedReleases(env: Environment, records: Records): Promise<ServedRelease[]> {
  return Promise.all(
    env.locations.map(async (location) => {
      const desired = await records.desired.get(location.id, { consistent: true });
      const candidate = desired?.candidate;
      return {
        location: location.id,
        stable: String(desired?.stable ?? '-'),
        ...(candidate ? { candidate } : {}),
        weight: candidate ? Number(desired?.weight ?? 0) : 0,
      };
    })
  );
}

/**
 * Registers every location and stages the release there, with the very records `cdk deploy`
 * writes in AWS; a location that has no desired traffic yet (a fresh store) gets the release
 * as stable. With a persisted store, or for a later release, what serves stays as the
 * orchestrator set it.
 */
export async function stageEverywhere(
  env: Environment,
  records: Records,
  releaseId: string,
  manifest?: ReleaseManifest,
  releaseKey: LocalReleaseKey | undefined = localReleaseKeyFor(env.name)
): Promise<void> {
  const now = new Date().toISOString();
  // Signed as a deploy signs with KMS; without a manifest (or a key) runtimes refuse it.
  const signature = manifest && releaseKey?.sign(env.name, manifest);
  for (const location of env.locations) {
    await records.registrations.register({
      locationId: location.id,
      facts: {
        kind: location.kind,
        region: regionOf(location),
        dataRegion: dataRegionOf(env, location),
      },
      latestStaged: releaseId,
    });
    await records.stagedReleases.stage({
      locationId: location.id,
      releaseId,
      stagedAt: now,
      ...(manifest ? { manifest: JSON.stringify(manifest) } : {}),
      ...(signature ? { signature } : {}),
    });
    await records.desired.adopt(location.id, releaseId, now);
  }
}

/**
 * A runtime process for the local fleet. Its IPC channel is how it knows the fleet lives: when
 * this process dies (even by SIGKILL) the channel closes and the runtime stops by itself. In a
 * process group of its own, so that Ctrl-C reaches the fleet only, which then stops its
 * runtimes (rather than watching them exit and restarting them).
 */
function spawnRuntime(release: Release, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [path.join(release.dir, release.manifest.runtime.file)], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_REGION: env[ORBIT_ENV.dataRegion],
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
}
