import type { EnvironmentInput } from '../../core/environment/schema';
import { ConfigError, parseEnvironment } from '../../lib/config/load';

const withGates = (gates: Record<string, unknown>): EnvironmentInput =>
  ({
    name: 'test',
    account: '123456789012',
    homeRegion: 'us-east-1',
    allowedRegions: ['us-east-1'],
    locations: [{ id: 'use1', kind: 'region', region: 'us-east-1' }],
    data: { regions: ['us-east-1'] },
    auth: { issuer: 'https://login.example.com/', audience: ['t'] },
    rollout: { waves: [{ name: 'all', locations: ['use1'] }], gates },
  }) as EnvironmentInput;

const issues = (gates: Record<string, unknown>) => {
  try {
    parseEnvironment(withGates(gates), 'test');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

describe('rollout gates: how long a step waits for evidence', () => {
  it('waits 10 minutes after the bake, then pauses, by default', () => {
    const env = parseEnvironment(withGates({}), 'test');
    expect(env.rollout.gates).toMatchObject({ maxWaitMinutes: 10, onInconclusive: 'pause' });
  });

  it('takes another wait, and rollback when inconclusive', () => {
    const env = parseEnvironment(
      withGates({ maxWaitMinutes: 2.5, onInconclusive: 'rollback' }),
      'test'
    );
    expect(env.rollout.gates).toMatchObject({ maxWaitMinutes: 2.5, onInconclusive: 'rollback' });
  });

  it.each([
    [{ maxWaitMinutes: 0 }, 'rollout.gates.maxWaitMinutes', 'must be more than 0 minutes, e.g. 10'],
    [
      { maxWaitMinutes: 2000 },
      'rollout.gates.maxWaitMinutes',
      'must be at most 1440 minutes (a day)',
    ],
    [
      { maxWaitMinutes: '10' },
      'rollout.gates.maxWaitMinutes',
      'must be a number of minutes, e.g. 10',
    ],
    [{ onInconclusive: 'retry' }, 'rollout.gates.onInconclusive', "must be 'pause' or 'rollback'"],
  ])('fails on %j, naming the field', (gates, path, message) => {
    expect(issues(gates)).toEqual([{ path, message }]);
  });
});
