import type { Environment, EnvironmentInput } from '../../core/environment/schema';
import { dev } from '../../lib/config/environments/dev';
import { parseEnvironment } from '../../lib/config/load';

/**
 * A small environment for tests that start several fleets: one region and one on-prem
 * location (two runtimes, not four), waves without bake.
 */
export function twoLocationInput(name: string): EnvironmentInput {
  return {
    ...dev,
    name,
    allowedRegions: ['us-east-1'],
    data: { regions: ['us-east-1'] },
    locations: dev.locations.filter((l) => l.id === 'us-east-1' || l.id === 'lab'),
    rollout: {
      waves: [
        { name: 'canary', locations: ['lab'], bakeMinutes: 0 },
        { name: 'rest', locations: ['us-east-1'], bakeMinutes: 0 },
      ],
      gates: { minRequests: 5 },
    },
  };
}

/** {@link twoLocationInput}, parsed. */
export const twoLocations = (name: string): Environment =>
  parseEnvironment(twoLocationInput(name), `'${name}'`);

/** Waits for `check` to hold, up to `timeoutMs`; fails saying what it waited for. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Whether a process with this id still exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
