import type { EnvironmentInput } from '../../../core/environment/schema';

const ACCOUNT = '333333333333';
const certificate = (region: string, id: string) =>
  `arn:aws:acm:${region}:${ACCOUNT}:certificate/${id}`;

/**
 * `prod`: seven regions on three continents, two Local Zones and an Outpost. Data lives in
 * three regions (one per continent); every other location uses its nearest one.
 */
export const prod: EnvironmentInput = {
  name: 'prod',
  account: ACCOUNT,
  homeRegion: 'us-east-1',
  allowedRegions: [
    'us-east-1',
    'us-west-2',
    'ca-central-1',
    'eu-west-1',
    'eu-central-1',
    'ap-northeast-1',
    'ap-southeast-2',
  ],
  locations: [
    { id: 'us-east-1', kind: 'region', region: 'us-east-1' },
    { id: 'us-west-2', kind: 'region', region: 'us-west-2' },
    { id: 'ca-central-1', kind: 'region', region: 'ca-central-1' },
    { id: 'eu-west-1', kind: 'region', region: 'eu-west-1' },
    { id: 'eu-central-1', kind: 'region', region: 'eu-central-1' },
    { id: 'ap-northeast-1', kind: 'region', region: 'ap-northeast-1' },
    { id: 'ap-southeast-2', kind: 'region', region: 'ap-southeast-2' },
    {
      id: 'los-angeles',
      kind: 'local-zone',
      parentRegion: 'us-west-2',
      zone: 'us-west-2-lax-1a',
      instanceTypes: ['c5.xlarge', 'c5.large'],
      capacity: 3,
      certificateArn: certificate('us-west-2', '00000000-0000-0000-0000-000000000003'),
    },
    {
      id: 'miami',
      kind: 'local-zone',
      parentRegion: 'us-east-1',
      zone: 'us-east-1-mia-1a',
      instanceTypes: ['c5.large', 't3.medium'],
      certificateArn: certificate('us-east-1', '00000000-0000-0000-0000-000000000004'),
    },
    {
      id: 'factory-ohio',
      kind: 'outpost',
      parentRegion: 'us-east-1',
      outpostArn: `arn:aws:outposts:us-east-1:${ACCOUNT}:outpost/op-0123456789abcdef0`,
      availabilityZone: 'us-east-1a',
      instanceTypes: ['m5.large'],
      certificateArn: certificate('us-east-1', '00000000-0000-0000-0000-000000000005'),
    },
  ],
  // Replace with your identity provider before deploying; the local fleet runs its own issuer.
  auth: { issuer: 'https://login.example.com/orbit-prod', audience: ['orbit-prod'] },
  data: { regions: ['us-east-1', 'eu-west-1', 'ap-northeast-1'] },
  rollout: {
    waves: [
      { name: 'canary', locations: ['ca-central-1'], steps: [5, 25, 100], bakeMinutes: 15 },
      {
        name: 'americas',
        locations: ['us-west-2', 'los-angeles', 'us-east-1', 'miami', 'factory-ohio'],
        steps: [25, 100],
        bakeMinutes: 15,
      },
      {
        name: 'europe-asia-pacific',
        locations: ['eu-west-1', 'eu-central-1', 'ap-northeast-1', 'ap-southeast-2'],
        steps: [50, 100],
        bakeMinutes: 10,
      },
    ],
    gates: { maxErrorRatePercent: 0.5, maxP99LatencyMs: 1000, minRequests: 200 },
  },
  api: { rateLimit: 5000, burstLimit: 2000 },
};
