import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ControlStore } from '../../functions/orchestrator/control-store';
import { runGovernance } from '../../functions/orchestrator/governance';
import { Orchestrator } from '../../functions/orchestrator/orchestrator';
import {
  HeartbeatHealthSource,
  SatelliteTrafficDriver,
  type TrafficDriver,
} from '../../functions/orchestrator/ports';
import { ORBIT_ENV } from '../../functions/shared/env';
import { keys } from '../../functions/shared/keys';
import { createTableClient } from '../../functions/shared/table';
import { dataRegionOf, regionOf, tableNameOf } from '../config/fleet';
import type { Environment, LocationKind } from '../config/schema';
import { buildRelease } from '../release/build';
import type { Release, ReleaseManifest } from '../release/manifest';
import { RUNTIME_ENV } from '../satellite/config';
import { startLocalControl } from './control';
import { type DevIssuer, startDevIssuer } from './dev-issuer';
import { runLoop } from './loop';
import { type LocalStore, startLocalStore } from './store';

/** Options of {@link startLocalFleet}. */
export interface LocalFleetOptions {
  readonly environment: Environment;
  /**
   * First loopback port: the store takes it, the token issuer the next, then one per location.
   * @default 4100
   */
  readonly basePort?: number;
  /** Keep the store's data in this directory. @default - in memory */
  readonly persistDir?: string;
  /** A release built earlier. @default - built now from `functions/` */
  readonly release?: Release;
  /** Seconds between each runtime's pulls and heartbeats. @default 2 */
  readonly pullIntervalSeconds?: number;
  /** Lines the runtimes print (their logs), with the location id. @default - dropped */
  readonly onLog?: (locationId: string, line: string) => void;
  /** How long a runtime may take to be ready. @default 20000 */
  readonly readyTimeoutMs?: number;
  /**
   * Seconds between scheduled orchestrator passes (governance every five of them); commands
   * and awaited heartbeats run passes in between. @default 1
   */
  readonly reconcileIntervalSeconds?: number;
  /** What each orchestrator pass did. @default - dropped */
  readonly onReconcile?: (events: readonly string[]) => void;
  /**
   * Write `.orbit/local.json` here so that `npx orbit` finds this fleet.
   * @default - not written
   */
  readonly stateDir?: string;
}

/** One location of the running local fleet. */
export interface LocalLocation {
  readonly id: string;
  readonly kind: LocationKind;
  readonly region: string;
  readonly url: string;
  readonly pid: number;
}

/** The running local fleet. */
export interface LocalFleet {
  readonly environment: Environment;
  readonly releaseId: string;
  readonly storeEndpoint: string;
  readonly issuer: DevIssuer;
  /** A ready-to-use bearer token for the fleet's `jwt` routes. */
  readonly token: string;
  readonly locations: readonly LocalLocation[];
  /** The orchestrator the fleet's loop runs (tests call `reconcile()` directly too). */
  readonly orchestrator: Orchestrator;
  /** Runs an orchestrator pass now (after the one in progress), as `npx orbit` commands do. */
  wake(): void;
  /** Stops every runtime, the issuer and the store; frees every port. */
  stop(): Promise<void>;
}

/** What `npx orbit` reads to find the running local fleet. */
export interface LocalFleetState {
  readonly environment: string;
  readonly storeEndpoint: string;
  readonly tableName: string;
  readonly homeRegion: string;
  readonly locations: readonly LocalLocation[];
  readonly pid: number;
  /** Where `POST wake` runs an orchestrator pass now. */
  readonly controlUrl: string;
}

/** Where the local fleet's state file lives under a state directory. */
export const localStateFile = (stateDir: string) => path.join(stateDir, 'local.json');

const RUNTIME_READY_TIMEOUT_MS = 20_000;
/** Governance runs every this many reconcile intervals. */
const GOVERNANCE_EVERY_INTERVALS = 5;

/**
 * Brings a whole environment up on one machine: the embedded store with the fleet's table,
 * the location records and the release staged and made stable everywhere, a development
 * token issuer, and one satellite runtime process per location (regions too) on consecutive
 * loopback ports. Anything that fails on the way stops what was started.
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
    const audience = `orbit-${env.name}-local`;
    const issuer = await startDevIssuer(basePort === 0 ? 0 : basePort + 1, audience);
    stops.push(issuer.stop);

    const control = createTableClient({ region: env.homeRegion, endpoint: store.endpoint });
    stops.push(async () => control.destroy());
    await stageEverywhere(env, control, releaseId, release.manifest);

    const children: ChildProcess[] = [];
    const runtimes = new Map<string, ChildProcess>();
    stops.push(() => stopChildren(children));
    // Event-driven reconcile: when the orchestrator waits for a location's evidence, that
    // location's next heartbeat runs a pass at once instead of on the next scheduled one.
    let awaited = new Set<string>();
    let wake = () => {};
    const onHeartbeat = (locationId: string) => {
      if (awaited.has(locationId)) wake();
    };
    const locations = await Promise.all(
      env.locations.map(async (location, i) => {
        const port = basePort === 0 ? 0 : basePort + 2 + i;
        const child = spawnRuntime(release, {
          [ORBIT_ENV.environment]: env.name,
          [ORBIT_ENV.locationId]: location.id,
          [ORBIT_ENV.locationKind]: location.kind,
          [ORBIT_ENV.region]: regionOf(location),
          [ORBIT_ENV.tableName]: tableName,
          [ORBIT_ENV.dataRegion]: dataRegionOf(env, location),
          ORBIT_DYNAMODB_ENDPOINT: store.endpoint,
          [RUNTIME_ENV.port]: String(port),
          [RUNTIME_ENV.host]: '127.0.0.1',
          [RUNTIME_ENV.artifacts]: path.dirname(release.dir),
          [RUNTIME_ENV.authIssuer]: issuer.issuer,
          [RUNTIME_ENV.authAudience]: audience,
          [RUNTIME_ENV.pullIntervalSeconds]: String(options.pullIntervalSeconds ?? 2),
          [RUNTIME_ENV.announceHeartbeats]: 'true',
          ...(env.api.cors ? { ORBIT_CORS: JSON.stringify(env.api.cors) } : {}),
        });
        children.push(child);
        runtimes.set(location.id, child);
        const ready = await waitReady(
          child,
          location.id,
          options.readyTimeoutMs ?? RUNTIME_READY_TIMEOUT_MS,
          options.onLog,
          onHeartbeat
        );
        return {
          id: location.id,
          kind: location.kind,
          region: regionOf(location),
          url: ready.url,
          pid: child.pid ?? 0,
        };
      })
    );
    const records = new SatelliteTrafficDriver(control, tableName);
    // What AWS cannot do for a satellite, one machine can: tell the runtime to pull at once.
    const driver: TrafficDriver = {
      apply: async (locationId, target) => {
        await records.apply(locationId, target);
        runtimes.get(locationId)?.kill('SIGHUP');
      },
    };
    const health = new HeartbeatHealthSource(control, tableName);
    const orchestrator = new Orchestrator({
      environment: env,
      store: new ControlStore(control, tableName),
      driverFor: () => driver,
      healthFor: () => health,
      actor: 'local-orchestrator',
    });
    const intervalMs = (options.reconcileIntervalSeconds ?? 1) * 1000;
    let governedAt = 0;
    const loop = runLoop(intervalMs / 1000, async () => {
      const { events, waitingOn } = await orchestrator.reconcile();
      awaited = new Set(waitingOn);
      // By the clock, not by passes: woken passes must not make governance run more often.
      if (Date.now() - governedAt >= GOVERNANCE_EVERY_INTERVALS * intervalMs) {
        governedAt = Date.now();
        await runGovernance({
          environment: env,
          table: control,
          tableName,
          reporting: env.locations.map((l) => l.id),
        });
      }
      if (events.length > 0) options.onReconcile?.(events);
    });
    stops.push(loop.stop);
    wake = loop.wake;
    const controlEndpoint = await startLocalControl(loop.wake);
    stops.push(controlEndpoint.stop);
    if (options.stateDir) {
      const file = localStateFile(options.stateDir);
      mkdirSync(options.stateDir, { recursive: true });
      const state: LocalFleetState = {
        environment: env.name,
        storeEndpoint: store.endpoint,
        tableName,
        homeRegion: env.homeRegion,
        locations,
        pid: process.pid,
        controlUrl: controlEndpoint.url,
      };
      writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
      stops.push(async () => rmSync(file, { force: true }));
    }
    return {
      environment: env,
      releaseId,
      orchestrator,
      wake: loop.wake,
      storeEndpoint: store.endpoint,
      issuer,
      token: await issuer.issue('local-developer'),
      locations,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Registers every location and stages the release there (what `cdk deploy` does in AWS); a
 * location that has no desired traffic yet (a fresh store) gets the release as stable. With
 * a persisted store, or for a later release, what serves stays as the orchestrator set it.
 */
export async function stageEverywhere(
  env: Environment,
  table: DynamoDBDocumentClient,
  releaseId: string,
  manifest?: ReleaseManifest
): Promise<void> {
  const tableName = tableNameOf(env);
  const now = new Date().toISOString();
  for (const location of env.locations) {
    await table.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...keys.location(location.id),
          kind: location.kind,
          region: regionOf(location),
          dataRegion: dataRegionOf(env, location),
          latestStaged: releaseId,
        },
      })
    );
    await table.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...keys.stagedRelease(location.id, releaseId),
          releaseId,
          stagedAt: now,
          ...(manifest ? { manifest: JSON.stringify(manifest) } : {}),
        },
      })
    );
    const desired = await table.send(
      new GetCommand({ TableName: tableName, Key: keys.desiredTraffic(location.id) })
    );
    if (!desired.Item) {
      try {
        await table.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...keys.desiredTraffic(location.id),
              stable: releaseId,
              weight: 0,
              updatedAt: now,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          })
        );
      } catch (err) {
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      }
    }
  }
}

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
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function waitReady(
  child: ChildProcess,
  locationId: string,
  timeoutMs: number,
  onLog?: (locationId: string, line: string) => void,
  onHeartbeat?: (locationId: string) => void
): Promise<{ url: string }> {
  return new Promise((resolve, reject) => {
    const last: string[] = [];
    const timer = setTimeout(
      () =>
        reject(
          new Error(`location ${locationId}: the runtime was not ready within ${timeoutMs} ms`)
        ),
      timeoutMs
    );
    const onLine = (line: string) => {
      if (line.startsWith('{"event":"heartbeat"')) {
        onHeartbeat?.(locationId);
        return;
      }
      last.push(line);
      if (last.length > 5) last.shift();
      if (line.startsWith('{"event":"ready"')) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { url: string });
        return;
      }
      onLog?.(locationId, line);
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const why = last.filter((l) => l.startsWith('orbit runtime:')).pop() ?? last.pop() ?? '';
      reject(
        new Error(
          `location ${locationId}: the runtime exited (code ${code})${why ? `: ${why.replace(/^orbit runtime: /, '')}` : ''}`
        )
      );
    });
  });
}

async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            resolve();
            return;
          }
          const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        })
    )
  );
}
