import { rolloutProblem } from '../../../functions/orchestrator/plan';
import { parseEnvironment } from '../../../lib/config/load';

const environment = parseEnvironment(
  {
    name: 'test',
    account: '123456789012',
    homeRegion: 'us-east-1',
    allowedRegions: ['us-east-1'],
    locations: [
      { id: 'use1', kind: 'region', region: 'us-east-1' },
      { id: 'lab', kind: 'on-prem', parentRegion: 'us-east-1' },
    ],
    data: { regions: ['us-east-1'] },
    auth: { issuer: 'https://login.example.com/', audience: ['t'] },
    rollout: { waves: [{ name: 'all', locations: ['use1', 'lab'] }] },
  },
  'test'
);
const R = 'r-2222222222222222';

describe('rolloutProblem', () => {
  it.each([
    [
      'a release staged nowhere',
      { stagedAt: [], stableAt: [] },
      `release ${R} is not staged at any location of test; deploy it first`,
    ],
    [
      'a release staged at some locations',
      { stagedAt: ['lab'], stableAt: [] },
      `release ${R} is not staged at use1; deploy it there first`,
    ],
    [
      'the release already stable everywhere',
      { stagedAt: ['use1', 'lab'], stableAt: ['use1', 'lab'] },
      `${R} is already stable at every location`,
    ],
  ])('names what is wrong with %s', (_, presence, problem) => {
    expect(rolloutProblem(environment, R, presence)).toBe(problem);
  });

  it('finds nothing wrong with a release staged everywhere and stable somewhere at most', () => {
    expect(rolloutProblem(environment, R, { stagedAt: ['use1', 'lab'], stableAt: ['lab'] })).toBe(
      undefined
    );
  });
});
