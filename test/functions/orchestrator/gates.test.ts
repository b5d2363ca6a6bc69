import type { EnvironmentInput } from '../../../core/environment/schema';
import { type GateLimits, gatesOf, judge } from '../../../functions/orchestrator/gates';
import type { HealthSample } from '../../../functions/orchestrator/ports';
import { parseEnvironment } from '../../../lib/config/load';

const gates: GateLimits = {
  minRequests: 20,
  maxErrorRatePercent: 1,
  maxP99LatencyMs: 2000,
  compare: {
    confidencePercent: 95,
    minStableRequests: 50,
    maxP99Ratio: 1.5,
    minP99DifferenceMs: 50,
    minLatencySamples: 200,
  },
  dryRun: [],
};
const NONE = { requests: 0, errors5xx: 0 };

/** A step's recorded figures: the candidate's and, beside it, the stable release's. */
const sample = (
  candidate: [requests: number, errors: number, p99?: number],
  stable?: [requests: number, errors: number, p99?: number]
): HealthSample => ({
  requests: candidate[0],
  errors5xx: candidate[1],
  p99Ms: candidate[2] ?? 100,
  fresh: true,
  alarmsOk: true,
  ...(stable
    ? { stable: { requests: stable[0], errors5xx: stable[1], p99Ms: stable[2] ?? 100 } }
    : {}),
});
const at = (weight: number) => ({ locationId: 'lab', nowMs: 0, weight });

describe('a gate judging the candidate against its limits and against stable', () => {
  it('neither passes nor fails one failure in 20 requests: 5% is above a 1% limit, but not surely', () => {
    const v = judge(sample([20, 1], [200, 0]), NONE, gates, at(0.1));
    expect(v).toMatchObject({ verdict: 'wait' });
    expect(v.verdict === 'wait' && v.why).toMatch(
      /^lab: error rate 5\.0% over 20 requests \(limit 1%\), 81\.7% sure: more requests decide$/
    );
  });

  it('waits on 0 of 3 requests, whatever they answered', () => {
    expect(judge(sample([3, 0], [30, 0]), NONE, gates, at(0.1))).toMatchObject({
      verdict: 'wait',
      why: 'lab: 3 of 20 requests served',
    });
  });

  it('breaches a high error rate it is sure of, naming the rule and the confidence', () => {
    const v = judge(sample([200, 20], [2000, 2]), NONE, gates, at(0.1));
    expect(v).toMatchObject({
      verdict: 'breach',
      rule: 'error-rate',
      why: 'error rate 10.0% over 200 requests (limit 1%)',
    });
    expect(v.verdict === 'breach' && v.confidencePercent).toBeGreaterThanOrEqual(99.9);
  });

  it('passes a candidate erring at 2% beside a stable release that itself errors at 2%, under a 5% limit', () => {
    const limits = { ...gates, maxErrorRatePercent: 5 };
    expect(judge(sample([1000, 20], [1000, 20]), NONE, limits, at(0.5))).toMatchObject({
      verdict: 'pass',
      evidence: {
        candidate: { requests: 1000, errors5xx: 20, errorRatePercent: 2 },
        stable: { requests: 1000, errors5xx: 20, errorRatePercent: 2 },
      },
    });
  });

  it('still applies the absolute limit when stable errs as much: 2% against a 1% limit breaches', () => {
    expect(judge(sample([1000, 20], [1000, 20]), NONE, gates, at(0.5))).toMatchObject({
      verdict: 'breach',
      rule: 'error-rate',
    });
  });

  it('breaches by comparison a candidate under the absolute limit that errs surely more than stable', () => {
    const v = judge(sample([2000, 16], [2000, 1]), NONE, gates, at(0.5));
    expect(v).toMatchObject({
      verdict: 'breach',
      rule: 'compare-errors',
      why: "error rate 0.8% against stable's 0.1% in the same window (2000 and 2000 requests)",
    });
    expect(v.verdict === 'breach' && v.confidencePercent).toBeGreaterThanOrEqual(99.9);
  });

  it('passes a candidate that errs a little more than stable when the difference is not sure', () => {
    expect(judge(sample([200, 1], [200, 0]), NONE, gates, at(0.5))).toMatchObject({
      verdict: 'pass',
    });
  });

  it('waits until stable has served enough to compare with, saying so', () => {
    expect(judge(sample([200, 0], [12, 0]), NONE, gates, at(0.05))).toMatchObject({
      verdict: 'wait',
      why: 'lab: stable served 12 of the 50 requests to compare with',
    });
  });

  it('judges a step that gives the candidate all traffic on the limits alone', () => {
    expect(judge(sample([200, 0], [0, 0]), NONE, gates, at(1))).toMatchObject({ verdict: 'pass' });
  });

  it.each([
    [[200, 0, 900], [200, 0, 300], 'breach'],
    [[200, 0, 140], [200, 0, 100], 'pass'],
    [[200, 0, 420], [200, 0, 300], 'pass'],
  ] as const)('compares p99 %j with stable %j: %s', (candidate, stable, verdict) => {
    const v = judge(sample([...candidate], [...stable]), NONE, gates, at(0.5));
    expect(v.verdict).toBe(verdict);
    if (v.verdict === 'breach') expect(v.rule).toBe('compare-latency');
  });

  it('does not compare the p99 of a handful of requests: it is their slowest one', () => {
    const few: HealthSample = {
      ...sample([200, 0, 900], [200, 0, 10]),
      p99Requests: 20,
    };
    expect(judge(few, NONE, gates, at(0.5))).toMatchObject({ verdict: 'pass' });
  });

  it('counts only what the step served: the baseline is subtracted for both releases', () => {
    const baseline = { requests: 1000, errors5xx: 100, stableRequests: 1000, stableErrors5xx: 0 };
    expect(judge(sample([1200, 100], [1200, 0]), baseline, gates, at(0.5))).toMatchObject({
      verdict: 'pass',
      evidence: { candidate: { requests: 200, errors5xx: 0 }, stable: { requests: 200 } },
    });
  });

  it('reports a dry-run rule that would breach, and lets the others decide', () => {
    const v = judge(
      sample([2000, 16], [2000, 1]),
      NONE,
      { ...gates, dryRun: ['compare-errors'] },
      at(0.5)
    );
    expect(v.verdict).toBe('pass');
    expect(v.dryRun).toEqual([
      "compare-errors would breach: error rate 0.8% against stable's 0.1% in the same window (2000 and 2000 requests)",
    ]);
  });

  it('breaches on a firing alarm before it counts anything', () => {
    expect(judge({ ...sample([0, 0]), alarmsOk: false }, NONE, gates, at(0.1))).toMatchObject({
      verdict: 'breach',
      rule: 'alarm',
      why: 'an alarm is firing',
    });
  });

  it('waits at a drained location without judging its answers', () => {
    expect(
      judge(sample([200, 200]), NONE, gates, { ...at(0.1), drained: 'lab is drained' })
    ).toEqual({ verdict: 'wait', why: 'lab is drained' });
  });
});

describe('the gates of a wave', () => {
  const input = (waveGates?: Record<string, unknown>) =>
    ({
      name: 'test',
      account: '123456789012',
      homeRegion: 'us-east-1',
      allowedRegions: ['us-east-1'],
      locations: [{ id: 'use1', kind: 'region', region: 'us-east-1' }],
      data: { regions: ['us-east-1'] },
      auth: { issuer: 'https://login.example.com/', audience: ['t'] },
      rollout: {
        waves: [{ name: 'all', locations: ['use1'], ...(waveGates ? { gates: waveGates } : {}) }],
        gates: { maxErrorRatePercent: 2, compare: { confidencePercent: 99 } },
      },
    }) as EnvironmentInput;

  it("takes the environment's gates, and the wave's own fields over them", () => {
    const env = parseEnvironment(
      input({ minRequests: 500, compare: { maxP99Ratio: 1.2 }, dryRun: ['compare-latency'] }),
      'test'
    );
    expect(gatesOf(env, env.rollout.waves[0])).toMatchObject({
      maxErrorRatePercent: 2,
      minRequests: 500,
      compare: { confidencePercent: 99, maxP99Ratio: 1.2, minStableRequests: 50 },
      dryRun: ['compare-latency'],
    });
    const plain = parseEnvironment(input(), 'test');
    expect(gatesOf(plain, plain.rollout.waves[0])).toEqual(plain.rollout.gates);
  });
});
