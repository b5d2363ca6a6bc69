import type { Environment, EnvironmentInput } from '../core/environment/schema';
import { parseEnvironment } from '../lib/config/load';

const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-central-1',
  'ap-northeast-1',
  'ap-southeast-2',
];

/**
 * An environment of `n` locations for benchmarks: up to `regions` region locations, the
 * rest on-prem sites of the home region, all in one wave.
 */
export function benchEnvironment(
  n: number,
  regions = Math.min(n, REGIONS.length),
  bakeMinutes = 0
): Environment {
  const regionIds = REGIONS.slice(0, Math.min(regions, n));
  const locations: EnvironmentInput['locations'] = [
    ...regionIds.map((r) => ({ id: r, kind: 'region' as const, region: r })),
    ...Array.from({ length: n - regionIds.length }, (_, i) => ({
      id: `site-${i + 1}`,
      kind: 'on-prem' as const,
      parentRegion: 'us-east-1',
    })),
  ];
  return parseEnvironment(
    {
      name: 'bench',
      account: '111111111111',
      homeRegion: 'us-east-1',
      allowedRegions: REGIONS,
      locations,
      data: { regions: ['us-east-1'] },
      auth: { issuer: 'https://login.example.com/bench', audience: ['orbit-bench'] },
      rollout: {
        waves: [
          {
            name: 'canary',
            locations: [locations[0]?.id as string],
            steps: [50, 100],
            bakeMinutes,
          },
          ...(locations.length > 1
            ? [{ name: 'rest', locations: locations.slice(1).map((l) => l.id), bakeMinutes }]
            : []),
        ],
        gates: { minRequests: 5, compare: { minStableRequests: 5 } },
      },
    },
    `bench-${n}`
  );
}
