import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { LocationKind } from '../../core/environment/schema';

/** Where one location of a local fleet answers. */
export interface LocalLocationAddress {
  readonly id: string;
  readonly kind: LocationKind;
  readonly region: string;
  readonly url: string;
}

/** What `npx orbit` reads to find a running local fleet: one file per fleet. */
export interface LocalFleetState {
  /** The environment's name. */
  readonly environment: string;
  /**
   * The environment the fleet runs, as parsed: the CLI needs no `--config` file to reach a
   * fleet started from one (and a file edited since does not change what it runs).
   */
  readonly definition?: unknown;
  /** The `--config` file the fleet was started from, if any. */
  readonly configPath?: string;
  /** The fleet's first port (its store's), which names the file. */
  readonly port?: number;
  readonly storeEndpoint: string;
  readonly tableName: string;
  readonly homeRegion: string;
  readonly locations: readonly LocalLocationAddress[];
  /** The fleet's own process. */
  readonly pid: number;
  /** Where `POST wake` runs an orchestrator pass now and `GET state` tells the runtimes'. */
  readonly controlUrl: string;
}

/** A state file found in a state directory. */
export interface FoundLocalFleet {
  readonly file: string;
  readonly state: LocalFleetState;
}

/**
 * The state file of the fleet of `environment` whose first port is `port`: two fleets of one
 * checkout (another `--port`, another environment) never share one.
 */
export const localStateFile = (stateDir: string, environment: string, port: number): string =>
  path.join(stateDir, `local-${environment}-${port}.json`);

/** Writes a fleet's state file whole (never half-written for a CLI that reads it meanwhile). */
export function writeLocalState(file: string, state: LocalFleetState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(partial, file);
}

/** Removes a fleet's state file, unless another fleet has written it since. */
export function removeLocalState(file: string, pid: number): void {
  const found = readState(file);
  if (found === undefined || found.pid === pid) rmSync(file, { force: true });
}

/**
 * Every fleet state file in `stateDir` (`local-<env>-<port>.json`, and `local.json` of
 * earlier versions), running or not; files that do not parse are skipped.
 */
export function readLocalStates(stateDir: string): FoundLocalFleet[] {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return [];
  }
  return names
    .filter((name) => /^local(-.+)?\.json$/.test(name))
    .sort()
    .flatMap((name) => {
      const file = path.join(stateDir, name);
      const state = readState(file);
      return state ? [{ file, state }] : [];
    });
}

function readState(file: string): LocalFleetState | undefined {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as LocalFleetState;
    return typeof state.pid === 'number' && typeof state.controlUrl === 'string'
      ? state
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the fleet of a state file still runs: its process exists and its control endpoint
 * takes connections. A fleet killed without its stop (kill -9, a crash) leaves its file
 * behind; such a file must read as "no fleet", never as a connection error later.
 */
export async function isFleetRunning(state: LocalFleetState): Promise<boolean> {
  if (!processExists(state.pid)) return false;
  try {
    const res = await fetch(new URL('state', state.controlUrl));
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}
