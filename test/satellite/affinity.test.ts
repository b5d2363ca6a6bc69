import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AFFINITY_HEADER,
  affinityKeyOf,
  affinityPoint,
  MAX_AFFINITY_KEY_BYTES,
} from '../../lib/satellite/affinity';
import type { LoadedFunction, LoadedRelease } from '../../lib/satellite/function-host';
import { createRuntimeServer } from '../../lib/satellite/server';
import { ReleaseStats } from '../../lib/satellite/stats';
import { pickRelease, type TrafficState } from '../../lib/satellite/traffic';

const STABLE = 'r-aaaaaaaaaaaaaaaa';
const CANDIDATE = 'r-bbbbbbbbbbbbbbbb';
const NEXT_CANDIDATE = 'r-cccccccccccccccc';

/** A release whose only function, the fallback, answers with the release's id. */
const release = (releaseId: string): LoadedRelease => {
  const fallback: LoadedFunction = {
    name: 'fallback',
    qualifiedName: `test-fallback-${releaseId}`,
    handler: async () => ({ statusCode: 200, body: releaseId }),
    timeoutMs: 5000,
    memoryMb: 128,
  };
  return {
    releaseId,
    dir: '/nowhere',
    routes: { match: () => ({ kind: 'not-found' }) },
    functions: new Map(),
    fallback,
  } as unknown as LoadedRelease;
};
const stable = release(STABLE);
const candidate = release(CANDIDATE);
const nextCandidate = release(NEXT_CANDIDATE);

const keys = Array.from({ length: 10_000 }, (_, i) => `client-${i}`);

/** The first of `keys` that the candidate gets at `weight` (or, with `on: stable`, does not). */
const keyOn = (on: 'candidate' | 'stable', weight: number, candidateId = CANDIDATE): string => {
  const key = keys.find((k) => affinityPoint(candidateId, k) < weight === (on === 'candidate'));
  if (!key) throw new Error(`no key on ${on} at ${weight}`);
  return key;
};

// Cloudflare Workers, "Version affinity" (developers.cloudflare.com/workers/versions-and-
// deployments/gradual-deployments/version-affinity/): requests carrying the same
// Cloudflare-Workers-Version-Key are served by the same version for a deployment; as the
// percentage grows, keys already on the new version stay on it and the others move over
// progressively, never back unless rolled back. x-orbit-affinity is the same contract.
describe('version affinity', () => {
  it('serves the same key by the same release on every request at a fixed weight', () => {
    const state: TrafficState = { stable, candidate, weight: 0.5 };
    const served = new Map<string, Set<string>>();
    for (let request = 0; request < 50; request++) {
      for (const key of keys.slice(0, 200)) {
        const picked = pickRelease(state, undefined, Math.random, key) as LoadedRelease;
        served.set(key, (served.get(key) ?? new Set()).add(picked.releaseId));
      }
    }
    expect([...served.values()].every((ids) => ids.size === 1)).toBe(true);
    // Both releases serve some of the keys: stickiness is not everyone on one release.
    const ids = new Set([...served.values()].flatMap((set) => [...set]));
    expect(ids).toEqual(new Set([STABLE, CANDIDATE]));
  });

  it('moves keys only from stable to the candidate as the weight grows, each share within 2 points', () => {
    const onCandidate = new Set<string>();
    let movedBack = 0;
    for (const weight of [0.05, 0.25, 0.5, 1]) {
      const state: TrafficState = { stable, candidate, weight };
      let share = 0;
      for (const key of keys) {
        const onIt = pickRelease(state, undefined, Math.random, key) === candidate;
        if (onIt) share += 1;
        if (onCandidate.has(key) && !onIt) movedBack += 1;
        if (onIt) onCandidate.add(key);
      }
      expect(Math.abs(share / keys.length - weight)).toBeLessThanOrEqual(0.02);
    }
    expect(movedBack).toBe(0);
    expect(onCandidate.size).toBe(keys.length);
  });

  it('draws a new sample of keys for a new candidate', () => {
    const weight = 0.25;
    const onOld = keys.filter((k) => affinityPoint(CANDIDATE, k) < weight);
    const alsoOnNew = onOld.filter(
      (k) =>
        pickRelease({ stable, candidate: nextCandidate, weight }, undefined, Math.random, k) ===
        nextCandidate
    );
    // Independent draws: about a quarter of the old candidate's keys land on the new one.
    expect(alsoOnNew.length / onOld.length).toBeGreaterThan(0.2);
    expect(alsoOnNew.length / onOld.length).toBeLessThan(0.3);
  });

  it.each([
    ['stable', stable],
    ['candidate', candidate],
    [STABLE, stable],
  ])('lets x-orbit-target-release %s win over the affinity key', (override, expected) => {
    const weight = 0.5;
    const key = keyOn(expected === stable ? 'candidate' : 'stable', weight);
    expect(pickRelease({ stable, candidate, weight }, override, Math.random, key)).toBe(expected);
  });

  it('keeps every key on stable at weight 0 and on the candidate at weight 1', () => {
    for (const key of keys.slice(0, 1000)) {
      expect(pickRelease({ stable, candidate, weight: 0 }, undefined, Math.random, key)).toBe(
        stable
      );
      expect(pickRelease({ stable, candidate, weight: 1 }, undefined, Math.random, key)).toBe(
        candidate
      );
    }
  });

  it('places keys in [0, 1)', () => {
    for (const key of keys) {
      const point = affinityPoint(CANDIDATE, key);
      expect(point).toBeGreaterThanOrEqual(0);
      expect(point).toBeLessThan(1);
    }
  });
});

describe('the affinity key of a request', () => {
  const cookie = 'orbit_session';

  it('reads the x-orbit-affinity header', () => {
    expect(affinityKeyOf({ [AFFINITY_HEADER]: 'user-42' })).toBe('user-42');
  });

  it.each([
    ['the only cookie', 'orbit_session=user-42'],
    ['among others', 'theme=dark; orbit_session=user-42; lang=en'],
    ['quoted', 'orbit_session="user-42"'],
  ])('reads the configured cookie, %s', (_, header) => {
    expect(affinityKeyOf({ cookie: header }, cookie)).toBe('user-42');
  });

  it('ignores cookies when none is configured', () => {
    expect(affinityKeyOf({ cookie: 'orbit_session=user-42' })).toBeUndefined();
  });

  it('ignores a cookie whose name only contains the configured one', () => {
    expect(
      affinityKeyOf({ cookie: 'xorbit_session=a; orbit_session_2=b' }, cookie)
    ).toBeUndefined();
  });

  it('prefers the header to the cookie', () => {
    expect(
      affinityKeyOf(
        { [AFFINITY_HEADER]: 'from-header', cookie: 'orbit_session=from-cookie' },
        cookie
      )
    ).toBe('from-header');
  });

  it.each([
    ['empty', ''],
    ['longer than the limit', 'k'.repeat(MAX_AFFINITY_KEY_BYTES + 1)],
  ])('ignores a key that is %s', (_, key) => {
    expect(affinityKeyOf({ [AFFINITY_HEADER]: key })).toBeUndefined();
    expect(affinityKeyOf({ cookie: `orbit_session=${key}` }, cookie)).toBeUndefined();
  });

  it('takes a key of exactly the limit', () => {
    const key = 'k'.repeat(MAX_AFFINITY_KEY_BYTES);
    expect(affinityKeyOf({ [AFFINITY_HEADER]: key })).toBe(key);
  });

  it('falls back to the cookie when the header is unusable', () => {
    expect(
      affinityKeyOf(
        { [AFFINITY_HEADER]: 'k'.repeat(MAX_AFFINITY_KEY_BYTES + 1), cookie: 'orbit_session=c' },
        cookie
      )
    ).toBe('c');
  });
});

/** Affinity through a real runtime server: what a client sees in `x-orbit-release`. */
describe('affinity on the runtime server', () => {
  const weight = 0.5;
  let server: Server;
  let url: string;
  /** The per-request split's draws, alternating: candidate, stable, candidate, … */
  let draws: number;

  const start = async (affinityCookie?: string) => {
    draws = 0;
    server = createRuntimeServer({
      traffic: () => ({ stable, candidate, weight }),
      stats: new ReleaseStats(),
      locationId: 'sat1',
      random: () => (draws++ % 2 === 0 ? 0 : 0.99),
      affinityCookie,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  };
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const servedBy = async (headers: Record<string, string>, requests = 1): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < requests; i++) {
      const res = await fetch(new URL('/anything', url), { headers });
      expect(await res.text()).toBe(res.headers.get('x-orbit-release'));
      ids.push(res.headers.get('x-orbit-release') ?? '');
    }
    return ids;
  };

  it('answers every request of a key from one release and names it in x-orbit-release', async () => {
    await start();
    for (const on of ['candidate', 'stable'] as const) {
      const ids = await servedBy({ [AFFINITY_HEADER]: keyOn(on, weight) }, 10);
      expect(new Set(ids)).toEqual(new Set([on === 'candidate' ? CANDIDATE : STABLE]));
    }
  });

  it('honours the configured cookie', async () => {
    await start('orbit_session');
    const ids = await servedBy({ cookie: `orbit_session=${keyOn('stable', weight)}` }, 4);
    expect(new Set(ids)).toEqual(new Set([STABLE]));
  });

  it('ignores the cookie when none is configured: the per-request split', async () => {
    await start();
    const ids = await servedBy({ cookie: `orbit_session=${keyOn('stable', weight)}` }, 4);
    expect(ids).toEqual([CANDIDATE, STABLE, CANDIDATE, STABLE]);
  });

  it('prefers the header to the cookie', async () => {
    await start('orbit_session');
    const ids = await servedBy(
      {
        [AFFINITY_HEADER]: keyOn('stable', weight),
        cookie: `orbit_session=${keyOn('candidate', weight)}`,
      },
      3
    );
    expect(new Set(ids)).toEqual(new Set([STABLE]));
  });

  it('lets x-orbit-target-release win over the key', async () => {
    await start();
    const ids = await servedBy(
      { [AFFINITY_HEADER]: keyOn('stable', weight), 'x-orbit-target-release': 'candidate' },
      3
    );
    expect(new Set(ids)).toEqual(new Set([CANDIDATE]));
  });

  it.each([
    ['no key', {}],
    ['an empty key', { [AFFINITY_HEADER]: '' }],
    ['a key over the limit', { [AFFINITY_HEADER]: 'k'.repeat(MAX_AFFINITY_KEY_BYTES + 1) }],
  ])('splits per request for %s, never failing', async (_, headers) => {
    await start();
    expect(await servedBy(headers, 4)).toEqual([CANDIDATE, STABLE, CANDIDATE, STABLE]);
  });
});
