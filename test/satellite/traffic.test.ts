import { isStale } from '../../core/records/heartbeats';
import type { LoadedRelease } from '../../lib/satellite/function-host';
import { ReleaseStats } from '../../lib/satellite/stats';
import { pickRelease } from '../../lib/satellite/traffic';

const release = (releaseId: string) => ({ releaseId }) as LoadedRelease;
const stable = release('r-aaaaaaaaaaaaaaaa');
const candidate = release('r-bbbbbbbbbbbbbbbb');

describe('traffic split', () => {
  it('sends a share of requests to the candidate within 5 standard deviations of its weight', () => {
    const n = 10_000;
    const weight = 0.1;
    let hits = 0;
    for (let i = 0; i < n; i++) {
      if (pickRelease({ stable, candidate, weight }, undefined) === candidate) hits += 1;
    }
    // Binomial: sd = sqrt(w(1-w)/n) = 0.003, so the tolerance is ±0.015 (1.5 points).
    const tolerance = 5 * Math.sqrt((weight * (1 - weight)) / n);
    expect(Math.abs(hits / n - weight)).toBeLessThan(tolerance);
  });

  it.each([
    [0, 'stable'],
    [1, 'candidate'],
  ])('sends everything to one release at weight %d', (weight, which) => {
    const picked = new Set(
      Array.from({ length: 1000 }, () => pickRelease({ stable, candidate, weight }, undefined))
    );
    expect([...picked]).toEqual([which === 'stable' ? stable : candidate]);
  });

  it.each([
    ['candidate', candidate],
    ['r-bbbbbbbbbbbbbbbb', candidate],
    ['stable', stable],
    ['r-aaaaaaaaaaaaaaaa', stable],
  ])('honours the override header %s, whatever the weight', (override, expected) => {
    expect(pickRelease({ stable, candidate, weight: 0 }, override, () => 0.99)).toBe(expected);
  });

  it('names a release that serves no traffic by its id, to be loaded, never answering from stable', () => {
    expect(pickRelease({ stable, candidate, weight: 0.5 }, 'r-cccccccccccccccc', () => 0)).toBe(
      'r-cccccccccccccccc'
    );
  });

  it('throws a 404 when asked for a candidate the location does not have', () => {
    expect(() => pickRelease({ stable, weight: 0 }, 'candidate', () => 0)).toThrow(
      expect.objectContaining({ statusCode: 404, problem: 'no-candidate' })
    );
  });

  it.each(['', 'latest', 'r-CCCCCCCCCCCCCCCC', 'r-ccc'])(
    "throws a 400 for an override header '%s' that names no release",
    (override) => {
      expect(() => pickRelease({ stable, candidate, weight: 0 }, override)).toThrow(
        expect.objectContaining({ statusCode: 400, problem: 'validation' })
      );
    }
  );
});

describe('release stats', () => {
  it('counts requests, 4xx and 5xx and takes p50/p99 per release, then starts a new window', () => {
    const stats = new ReleaseStats();
    for (let i = 1; i <= 100; i++) stats.record('r-1', i <= 2 ? 500 : i <= 7 ? 404 : 200, i);
    stats.record('r-2', 200, 3);
    expect(stats.takeWindow()).toEqual({
      'r-1': { requests: 100, errors4xx: 5, errors5xx: 2, p50Ms: 50, p99Ms: 99 },
      'r-2': { requests: 1, errors4xx: 0, errors5xx: 0, p50Ms: 3, p99Ms: 3 },
    });
    expect(stats.takeWindow()).toEqual({});
  });

  it('counts drained answers apart: not as requests, errors or latency, in the window and the totals', () => {
    const stats = new ReleaseStats();
    for (let i = 1; i <= 10; i++) stats.record('r-1', 200, 5);
    for (let i = 1; i <= 30; i++) stats.record('r-1', 503, 1000, true);
    stats.record('r-1', 503, 7);
    expect(stats.takeWindow()).toEqual({
      'r-1': { requests: 11, errors4xx: 0, errors5xx: 1, drained: 30, p50Ms: 5, p99Ms: 7 },
    });
    expect(stats.totals()).toEqual({
      'r-1': { requests: 11, errors4xx: 0, errors5xx: 1, drained: 30 },
    });
  });
});

describe('heartbeat freshness', () => {
  it('is stale after three missed intervals, not before', () => {
    const heartbeat = { atMs: 1_000_000, intervalSeconds: 10 };
    expect(isStale(heartbeat, 1_000_000 + 30_000)).toBe(false);
    expect(isStale(heartbeat, 1_000_000 + 30_001)).toBe(true);
  });
});
