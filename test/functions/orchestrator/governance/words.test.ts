import { FIRST_DEPLOY, type TrafficSplit } from '../../../../core/records/desired-traffic';
import {
  inWords,
  reportsSince,
  sameSplit,
  settled,
} from '../../../../functions/orchestrator/governance/words';
import { NOW, R1, R2, R3 } from './context';

describe('inWords', () => {
  it.each<[string, TrafficSplit, string]>([
    ['a stable release alone', { stable: R1, weight: 0 }, `${R1} only`],
    ['nothing of a candidate at weight 0', { stable: R1, candidate: R2, weight: 0 }, `${R1} only`],
    [
      'a quarter to a candidate',
      { stable: R1, candidate: R2, weight: 0.25 },
      `${R1} with 25% to ${R2}`,
    ],
    [
      'a share to one decimal',
      { stable: R1, candidate: R2, weight: 1 / 3 },
      `${R1} with 33.3% to ${R2}`,
    ],
    [
      'all traffic to a candidate',
      { stable: R1, candidate: R2, weight: 1 },
      `${R1} with 100% to ${R2}`,
    ],
  ])('says %s', (_, split, words) => {
    expect(inWords(split)).toBe(words);
  });
});

describe('sameSplit', () => {
  it.each<[string, TrafficSplit, TrafficSplit]>([
    ['the same stable release', { stable: R1, weight: 0 }, { stable: R1, weight: 0 }],
    [
      'the same candidate and weight',
      { stable: R1, candidate: R2, weight: 0.25 },
      { stable: R1, candidate: R2, weight: 0.25 },
    ],
    [
      'a candidate at weight 0 and none',
      { stable: R1, candidate: R2, weight: 0 },
      { stable: R1, weight: 0 },
    ],
    [
      'two different candidates at weight 0',
      { stable: R1, candidate: R2, weight: 0 },
      { stable: R1, candidate: R3, weight: 0 },
    ],
  ])('takes %s as the same split', (_, a, b) => {
    expect([sameSplit(a, b), sameSplit(b, a)]).toEqual([true, true]);
  });

  it.each<[string, TrafficSplit, TrafficSplit]>([
    ['another stable release', { stable: R1, weight: 0 }, { stable: R2, weight: 0 }],
    [
      'another weight',
      { stable: R1, candidate: R2, weight: 0.25 },
      { stable: R1, candidate: R2, weight: 0.5 },
    ],
    [
      'another candidate',
      { stable: R1, candidate: R2, weight: 0.25 },
      { stable: R1, candidate: R3, weight: 0.25 },
    ],
    [
      'a candidate with weight and none',
      { stable: R1, candidate: R2, weight: 0.1 },
      { stable: R1, weight: 0 },
    ],
  ])('tells %s apart', (_, a, b) => {
    expect([sameSplit(a, b), sameSplit(b, a)]).toEqual([false, false]);
  });
});

describe('settled', () => {
  const ago = (ms: number) => new Date(NOW - ms).toISOString();

  it.each([
    ['a first deploy', FIRST_DEPLOY],
    ['a record whose time does not parse', 'not a date'],
    ['a move two intervals ago', ago(20_000)],
    ['a move an hour ago', ago(3_600_000)],
  ])('takes %s as settled', (_, updatedAt) => {
    expect(settled({ updatedAt }, 10, NOW)).toBe(true);
  });

  it.each([
    ['a move just under two intervals ago', ago(19_999)],
    ['a move just now', ago(0)],
    ['a move stamped in the future', ago(-5_000)],
  ])('takes %s as still settling', (_, updatedAt) => {
    expect(settled({ updatedAt }, 10, NOW)).toBe(false);
  });

  it("waits two of the location's own intervals", () => {
    expect([
      settled({ updatedAt: ago(59_000) }, 30, NOW),
      settled({ updatedAt: ago(60_000) }, 30, NOW),
    ]).toEqual([false, true]);
  });
});

describe('reportsSince', () => {
  const moved = { updatedAt: new Date(NOW).toISOString() };
  it.each([
    [NOW + 9_999, false],
    [NOW + 10_000, true],
    [NOW - 1, false],
  ])('counts a report at %i as showing a move made at NOW (interval 10 s): %s', (atMs, shows) => {
    expect(reportsSince({ atMs }, moved, 10)).toBe(shows);
  });

  it('counts every report as showing a first deploy', () => {
    expect(reportsSince({ atMs: 0 }, { updatedAt: FIRST_DEPLOY }, 10)).toBe(true);
  });
});
