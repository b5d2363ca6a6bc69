import type { Environment, EnvironmentInput } from '../../core/environment/schema';
import type { ReleaseFunction } from '../../core/manifest';
import { ConfigError, loadEnvironment, parseEnvironment } from '../../lib/config/load';
import { checkRelease } from '../../lib/config/release-rules';
import { fakeRelease } from '../support/release';

const input = (rollout: Record<string, unknown>): EnvironmentInput =>
  ({
    name: 'test',
    account: '123456789012',
    homeRegion: 'us-east-1',
    allowedRegions: ['us-east-1'],
    locations: ['sa', 'sb', 'sc', 'sd']
      .map((id) => ({
        id,
        kind: 'on-prem',
        parentRegion: 'us-east-1',
      }))
      .concat([{ id: 'use1', kind: 'region', region: 'us-east-1' } as never]),
    data: { regions: ['us-east-1'] },
    auth: { issuer: 'https://login.example.com/', audience: ['t'] },
    rollout: {
      waves: [
        { name: 'sites', locations: ['sa', 'sb', 'sc', 'sd'] },
        { name: 'region', locations: ['use1'] },
      ],
      ...rollout,
    },
  }) as EnvironmentInput;

const issues = (rollout: Record<string, unknown>) => {
  try {
    parseEnvironment(input(rollout), 'test');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};
const sites = (wave: Record<string, unknown>) => ({
  waves: [
    { name: 'sites', locations: ['sa', 'sb', 'sc', 'sd'], ...wave },
    { name: 'region', locations: ['use1'] },
  ],
});

describe('rollout settings that cannot work fail at synth, naming the field', () => {
  it.each([
    [
      sites({ batches: { size: 4 } }),
      'rollout.waves[0].batches',
      "the first batch (4) holds all 4 locations of wave 'sites', so it batches nothing; make it smaller, or drop batches.",
    ],
    [
      sites({ minJudged: 5, maxBreachedPercent: 25 }),
      'rollout.waves[0].minJudged',
      "wave 'sites' has 4 locations, so 5 can never be judged and no breach could roll it back; set it to at most 4.",
    ],
    [
      { gates: { dryRun: ['alarm', 'error-rate', 'p99', 'compare-errors', 'compare-latency'] } },
      'rollout.gates.dryRun',
      "lists every gate rule ('alarm', 'error-rate', 'p99', 'compare-errors', 'compare-latency'), so nothing would ever stop a bad release; leave at least one out.",
    ],
    [
      { gates: { compare: { confidencePercent: 100 } } },
      'rollout.gates.compare.confidencePercent',
      'must be below 100: no finite sample reaches certainty',
    ],
    [
      sites({ batches: { initial: 1, factor: 1 } }),
      'rollout.waves[0].batches.factor',
      'must be more than 1, e.g. 2 (each batch twice the one before)',
    ],
    [
      sites({ batches: { count: 3 } }),
      'rollout.waves[0].batches',
      'must be { size: N } or { initial: N, factor: F }',
    ],
    [
      { gates: { dryRun: ['latency'] } },
      'rollout.gates.dryRun[0]',
      "must be one of 'alarm', 'error-rate', 'p99', 'compare-errors', 'compare-latency'",
    ],
    [{ smoke: [{ path: 'health' }] }, 'rollout.smoke[0].path', 'must be a path such as /health'],
    [
      { notifications: { topicArn: 'orbit-alerts' } },
      'rollout.notifications.topicArn',
      'must be an SNS topic ARN, e.g. arn:aws:sns:us-east-1:123456789012:orbit-alerts',
    ],
  ])('fails on %j', (rollout, path, message) => {
    expect(issues(rollout)).toEqual([{ path, message }]);
  });

  it('accepts batches, a tolerance, per-wave gates, smoke checks and notifications that fit', () => {
    expect(
      issues({
        ...sites({
          batches: { initial: 1, factor: 2 },
          maxBreachedPercent: 25,
          minJudged: 4,
          gates: { minRequests: 500, dryRun: ['compare-latency'] },
        }),
        smoke: [{ path: '/health', expectJson: { status: 'ok' } }],
        notifications: {
          topicArn: 'arn:aws:sns:us-east-1:123456789012:orbit-alerts',
          webhooks: [{ url: 'https://hooks.example.com/orbit', events: ['breached'] }],
        },
      })
    ).toEqual([]);
  });
});

describe('smoke checks against the release', () => {
  // health: GET /health; echo: two jwt routes; fallback: none.
  const release = fakeRelease('smoke');
  const withSmoke = (smoke: Environment['rollout']['smoke']): Environment => {
    const env = loadEnvironment({ env: 'dev' });
    return { ...env, rollout: { ...env.rollout, smoke } };
  };
  const check = (method: 'GET' | 'HEAD' | 'POST', path: string) => ({
    method,
    path,
    expectStatus: 200,
    timeoutMs: 5_000,
  });
  const noFallback = {
    manifest: {
      ...release.manifest,
      functions: release.manifest.functions.map(
        (f) => ({ ...f, fallback: false }) as ReleaseFunction
      ),
    },
  };

  it('passes checks that hit a route (HEAD on a GET route too)', () => {
    expect(
      checkRelease(withSmoke([check('GET', '/health'), check('HEAD', '/health')]), noFallback)
    ).toEqual([]);
  });

  it('fails a check no route serves, naming the check and the fix', () => {
    expect(checkRelease(withSmoke([check('GET', '/helth')]), noFallback)).toEqual([
      {
        path: 'rollout.smoke[0].path',
        message: `GET /helth is served by no route of release ${release.manifest.releaseId}; check a path a function declares (its routes in functions/api/*/function.ts).`,
      },
    ]);
  });
});
