import type { EnvironmentInput } from '../../../core/environment/schema';

/**
 * `dev`: the smallest fleet that still shows every idea — two regions with a replica each, a
 * Local Zone and an on-prem site. It is also what `npm start` runs on one machine.
 */
export const dev: EnvironmentInput = {
  name: 'dev',
  account: '111111111111',
  homeRegion: 'us-east-1',
  allowedRegions: ['us-east-1', 'eu-west-1'],
  locations: [
    { id: 'us-east-1', kind: 'region', region: 'us-east-1' },
    { id: 'eu-west-1', kind: 'region', region: 'eu-west-1' },
    {
      id: 'boston',
      kind: 'local-zone',
      parentRegion: 'us-east-1',
      zone: 'us-east-1-bos-1a',
      instanceTypes: ['t3.medium'],
      capacity: 1,
      certificateArn:
        'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000001',
    },
    { id: 'lab', kind: 'on-prem', parentRegion: 'us-east-1', site: 'developer lab rack' },
  ],
  // Replace with your identity provider before deploying; the local fleet runs its own issuer.
  auth: { issuer: 'https://login.example.com/orbit-dev', audience: ['orbit-dev'] },
  data: { regions: ['us-east-1', 'eu-west-1'] },
  rollout: {
    waves: [
      { name: 'canary', locations: ['lab'], steps: [50, 100], bakeMinutes: 1 },
      { name: 'rest', locations: ['us-east-1', 'eu-west-1', 'boston'], bakeMinutes: 1 },
    ],
    gates: { minRequests: 5, compare: { minStableRequests: 5 } },
  },
  api: { rateLimit: 50, burstLimit: 100 },
};
