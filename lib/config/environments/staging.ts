import type { EnvironmentInput } from '../../../core/environment/schema';

/**
 * `staging`: three US regions on a strongly consistent (MRSC) table, plus a Local Zone, so
 * that a release meets both consistency modes before prod.
 */
export const staging: EnvironmentInput = {
  name: 'staging',
  account: '222222222222',
  homeRegion: 'us-east-1',
  allowedRegions: ['us-east-1', 'us-east-2', 'us-west-2'],
  locations: [
    { id: 'us-east-1', kind: 'region', region: 'us-east-1' },
    { id: 'us-east-2', kind: 'region', region: 'us-east-2' },
    { id: 'us-west-2', kind: 'region', region: 'us-west-2' },
    {
      id: 'los-angeles',
      kind: 'local-zone',
      parentRegion: 'us-west-2',
      zone: 'us-west-2-lax-1a',
      instanceTypes: ['c5.large', 't3.medium'],
      certificateArn:
        'arn:aws:acm:us-west-2:222222222222:certificate/00000000-0000-0000-0000-000000000002',
    },
  ],
  // Replace with your identity provider before deploying; the local fleet runs its own issuer.
  auth: { issuer: 'https://login.example.com/orbit-staging', audience: ['orbit-staging'] },
  data: { regions: ['us-east-1', 'us-east-2', 'us-west-2'], consistency: 'strong' },
  rollout: {
    waves: [
      { name: 'canary', locations: ['us-east-2'], steps: [10, 50, 100], bakeMinutes: 5 },
      { name: 'rest', locations: ['us-east-1', 'us-west-2', 'los-angeles'], bakeMinutes: 5 },
    ],
  },
};
