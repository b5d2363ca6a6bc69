import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { dataRegionOf, regionLocations, satelliteLocations } from '../../core/environment/fleet';
import { REGION_COORDINATES } from '../../core/environment/regions';
import type { EnvironmentInput } from '../../core/environment/schema';
import {
  ConfigError,
  ENVIRONMENTS,
  loadEnvironment,
  parseEnvironment,
} from '../../lib/config/load';

/** A small valid environment to break one field at a time. */
function base(): EnvironmentInput {
  return structuredClone({
    name: 'test',
    account: '123456789012',
    homeRegion: 'us-east-1',
    allowedRegions: ['us-east-1', 'us-west-2', 'us-east-2', 'eu-west-1'],
    locations: [
      { id: 'use1', kind: 'region', region: 'us-east-1' },
      { id: 'usw2', kind: 'region', region: 'us-west-2' },
      {
        id: 'lax',
        kind: 'local-zone',
        parentRegion: 'us-west-2',
        zone: 'us-west-2-lax-1a',
        instanceTypes: ['t3.medium'],
        certificateArn: 'arn:aws:acm:us-west-2:123456789012:certificate/abc',
      },
    ],
    data: { regions: ['us-east-1', 'us-west-2'] },
    auth: { issuer: 'https://login.example.com/test', audience: ['orbit-test'] },
    rollout: { waves: [{ name: 'all', locations: ['use1', 'usw2', 'lax'] }] },
  } satisfies EnvironmentInput);
}

function problems(input: unknown): { path: string; message: string }[] {
  try {
    parseEnvironment(input, "'test'");
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  return [];
}

type Mutable = { -readonly [K in keyof EnvironmentInput]: any } & Record<string, any>;

describe('shipped environments', () => {
  it.each(Object.keys(ENVIRONMENTS))('%s is valid', (name) => {
    expect(() => loadEnvironment({ env: name })).not.toThrow();
  });

  it('prod spans at least 6 regions on 3 continents, 2 Local Zones and an Outpost', () => {
    const prod = loadEnvironment({ env: 'prod' });
    const regions = regionLocations(prod).map((l) => l.region);
    const continents = new Set(
      regions.map((r) => {
        const [lat, lon] = REGION_COORDINATES[r] as [number, number];
        return lon < -30 ? 'americas' : lat > 20 && lon < 60 ? 'europe' : 'asia-pacific';
      })
    );
    expect(regions.length).toBeGreaterThanOrEqual(6);
    expect(continents.size).toBe(3);
    expect(satelliteLocations(prod).filter((l) => l.kind === 'local-zone')).toHaveLength(2);
    expect(satelliteLocations(prod).filter((l) => l.kind === 'outpost')).toHaveLength(1);
  });

  it('defaults to dev when no environment is named', () => {
    expect(loadEnvironment().name).toBe('dev');
  });

  it('applies defaults: eventual consistency, steps [100], gates, API limits, public routes and governance', () => {
    const env = parseEnvironment(base(), 'base');
    expect(env.data.consistency).toBe('eventual');
    expect(env.rollout.waves[0]?.steps).toEqual([100]);
    expect(env.rollout.gates).toEqual({
      maxErrorRatePercent: 1,
      maxP99LatencyMs: 2000,
      minRequests: 50,
      maxWaitMinutes: 10,
      onInconclusive: 'pause',
      compare: {
        confidencePercent: 95,
        minStableRequests: 50,
        maxP99Ratio: 1.5,
        minP99DifferenceMs: 50,
        minLatencySamples: 200,
      },
      dryRun: [],
    });
    expect(env.rollout.smoke).toEqual([]);
    expect(env.rollout.notifications).toEqual({ webhooks: [] });
    expect(env.rollout.waves[0]).toMatchObject({ maxBreachedPercent: 0, minJudged: 1 });
    expect(env.api).toEqual({ rateLimit: 1000, burstLimit: 500, publicRoutes: ['GET /health'] });
    expect(env.governance).toEqual({ intervalMinutes: 15, autoDrainStale: false });
  });
});

describe('data regions (residency)', () => {
  const prod = loadEnvironment({ env: 'prod' });
  it.each([
    ['us-east-1', 'us-east-1'],
    ['us-west-2', 'us-east-1'],
    ['eu-central-1', 'eu-west-1'],
    ['ap-southeast-2', 'ap-northeast-1'],
    ['los-angeles', 'us-east-1'],
  ])('location %s reads and writes the replica in %s', (id, dataRegion) => {
    const location = prod.locations.find((l) => l.id === id);
    expect(location && dataRegionOf(prod, location)).toBe(dataRegion);
  });
});

describe('invalid environments', () => {
  it.each<[string, (env: Mutable) => void, string, RegExp]>([
    [
      'duplicate location ids',
      (e) => e.locations.push({ id: 'use1', kind: 'on-prem', parentRegion: 'us-east-1' }),
      'locations[3].id',
      /'use1' is already the id of locations\[0\]/,
    ],
    [
      'a home region that is not a region location',
      (e) => {
        e.homeRegion = 'us-east-2';
        e.data.regions.push('us-east-2');
      },
      'homeRegion',
      /'us-east-2' is not the region of any region location; add a location/,
    ],
    [
      'a satellite whose parent region is not in the fleet',
      (e) => e.locations.push({ id: 'shop', kind: 'on-prem', parentRegion: 'us-east-2' }),
      'locations[3].parentRegion',
      /not a region location of this fleet; add a region location in 'us-east-2'/,
    ],
    [
      'a Local Zone id of another region',
      (e) => {
        e.locations[2].parentRegion = 'us-east-1';
        e.locations[2].certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';
      },
      'locations[2].zone',
      /'us-west-2-lax-1a' belongs to 'us-west-2', not to parent region 'us-east-1'; set parentRegion to 'us-west-2'/,
    ],
    [
      'an Outpost homed in another region',
      (e) =>
        e.locations.push({
          id: 'plant',
          kind: 'outpost',
          parentRegion: 'us-east-1',
          outpostArn: 'arn:aws:outposts:us-west-2:123456789012:outpost/op-0123456789abcdef0',
          availabilityZone: 'us-east-1a',
          instanceTypes: ['m5.large'],
          certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
        }),
      'locations[3].outpostArn',
      /homed in 'us-west-2', not in parent region 'us-east-1'/,
    ],
    [
      'a satellite certificate from another region',
      (e) => {
        e.locations[2].certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';
      },
      'locations[2].certificateArn',
      /certificate is in 'us-east-1' but the load balancer of 'lax' runs in 'us-west-2'/,
    ],
    [
      'a Local Zone without a certificate',
      (e) => {
        delete e.locations[2].certificateArn;
      },
      'locations[2].certificateArn',
      /ARN of an ACM certificate/,
    ],
    [
      'instance types that mix Graviton and x86_64',
      (e) => {
        e.locations[2].instanceTypes = ['m7g.large', 't3.medium', 'c6gn.large'];
      },
      'locations[2].instanceTypes',
      /^'m7g\.large', 'c6gn\.large' are Graviton \(arm64\) but 't3\.medium' is x86_64; 'lax' launches one AMI for all its instances, so list instance types of one architecture\.$/,
    ],
    [
      'a data region that is not a fleet region',
      (e) => e.data.regions.push('eu-west-1'),
      'data.regions[2]',
      /'eu-west-1' is not a region location of this fleet/,
    ],
    [
      'data regions that omit the home region',
      (e) => {
        e.data.regions = ['us-west-2'];
      },
      'data.regions',
      /home region 'us-east-1' holds the table's primary and must be listed/,
    ],
    [
      'a location outside allowedRegions',
      (e) => {
        e.allowedRegions = ['us-east-1', 'us-east-2'];
      },
      'locations[1].region',
      /location 'usw2' is in 'us-west-2', outside allowedRegions/,
    ],
    [
      'a replica outside allowedRegions',
      (e) => {
        e.allowedRegions = ['us-east-1'];
        e.locations = [e.locations[0], { ...e.locations[1] }];
        e.rollout.waves[0].locations = ['use1', 'usw2'];
      },
      'data.regions[1]',
      /a table replica is in 'us-west-2', outside allowedRegions/,
    ],
    [
      'a location in no wave',
      (e) => {
        e.rollout.waves[0].locations = ['use1', 'usw2'];
      },
      'rollout.waves',
      /'lax' is in no wave/,
    ],
    [
      'a location in two waves',
      (e) => e.rollout.waves.push({ name: 'again', locations: ['lax'] }),
      'rollout.waves[1].locations[0]',
      /'lax' is already in wave 'all'; every location belongs to exactly one wave/,
    ],
    [
      'a wave naming an unknown location',
      (e) => e.rollout.waves[0].locations.push('nowhere'),
      'rollout.waves[0].locations[3]',
      /'nowhere' is not a location of this environment/,
    ],
    [
      'strong consistency across region sets',
      (e) => {
        e.data = { regions: ['us-east-1', 'us-west-2'], consistency: 'strong' };
      },
      'data.regions',
      /consistency 'strong' needs exactly three data regions, or two plus witnessRegion, all from one MRSC region set/,
    ],
    [
      'strong consistency with a witness from another set',
      (e) => {
        e.data = {
          regions: ['us-east-1', 'us-west-2'],
          consistency: 'strong',
          witnessRegion: 'eu-west-1',
        };
      },
      'data.regions',
      /one MRSC region set/,
    ],
    [
      'a witness with eventual consistency',
      (e) => {
        e.data = { regions: ['us-east-1', 'us-west-2'], witnessRegion: 'us-east-2' };
      },
      'data.witnessRegion',
      /only exists for consistency 'strong'/,
    ],
    [
      'steps that do not end at 100',
      (e) => {
        e.rollout.waves[0].steps = [5, 50];
      },
      'rollout.waves[0].steps',
      /the last step must be 100/,
    ],
    [
      'a misspelled field',
      (e) => {
        e.homeRegio = 'us-east-1';
      },
      '',
      /unknown field 'homeRegio'; check the spelling/,
    ],
    [
      'a malformed account',
      (e) => {
        e.account = '1234';
      },
      'account',
      /must be a 12-digit AWS account id/,
    ],
    [
      'existing subnets without their VPC',
      (e) => {
        e.locations[2].subnetIds = ['subnet-0abc'];
      },
      'locations[2].vpcId',
      /names existing subnets; give their VPC as vpcId too/,
    ],
    [
      'a missing auth issuer',
      (e) => {
        delete e.auth;
      },
      'auth',
      /is required: routes with auth 'jwt' are verified against it/,
    ],
    [
      'an issuer that is not https',
      (e) => {
        e.auth.issuer = 'http://login.example.com/';
      },
      'auth.issuer',
      /must be an https:\/\/ URL/,
    ],
    [
      'a CORS origin with a path',
      (e) => {
        e.api = { cors: { allowOrigins: ['https://app.example.com/home'] } };
      },
      'api.cors.allowOrigins[0]',
      /must be an origin such as https:\/\/app.example.com \(no path\)/,
    ],
  ])('rejects %s', (_, mutate, fieldPath, message) => {
    const env = base() as Mutable;
    mutate(env);
    expect(problems(env)).toContainEqual({
      path: fieldPath,
      message: expect.stringMatching(message),
    });
  });

  it.each([
    ['three regions of one set', { regions: ['us-east-1', 'us-east-2', 'us-west-2'] }],
    [
      'two regions plus a witness',
      { regions: ['us-east-1', 'us-west-2'], witnessRegion: 'us-east-2' },
    ],
  ])('accepts strong consistency with %s', (_, data) => {
    const env = base() as Mutable;
    env.locations.push({ id: 'use2', kind: 'region', region: 'us-east-2' });
    env.rollout.waves[0].locations.push('use2');
    env.data = { consistency: 'strong', ...data };
    expect(problems(env)).toEqual([]);
  });

  it.each([
    ['Graviton', ['m7g.large', 't4g.large', 'c6gn.large']],
    ['x86_64', ['t3.medium', 'm5.large']],
  ])('accepts satellite instance types that are all %s', (_, instanceTypes) => {
    const env = base() as Mutable;
    env.locations[2].instanceTypes = instanceTypes;
    expect(problems(env)).toEqual([]);
  });

  it('names the environment and every problem in one message', () => {
    const env = base() as Mutable;
    env.homeRegion = 'eu-west-1';
    env.rollout.waves[0].locations = ['use1'];
    expect(() => parseEnvironment(env, "'test'")).toThrow(
      /^Invalid Orbit environment 'test':\n {2}- homeRegion: .*\n {2}- data\.regions: .*\n {2}- rollout\.waves: /
    );
  });

  it('fails for an unknown environment name, listing the shipped ones', () => {
    expect(() => loadEnvironment({ env: 'qa' })).toThrow(
      /no environment named 'qa'; use one of dev, staging, prod/
    );
  });
});

describe('environments from JSON files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'orbit-config-'));

  it('loads and validates an environment from any path', () => {
    const file = path.join(dir, 'edge.json');
    writeFileSync(file, JSON.stringify({ ...base(), name: 'edge' }));
    const env = loadEnvironment({ configPath: file, env: 'prod' });
    expect(env.name).toBe('edge');
    expect(env.locations.map((l) => l.id)).toEqual(['use1', 'usw2', 'lax']);
  });

  it('fails with the file path when the JSON is malformed', () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ "name": ');
    expect(() => loadEnvironment({ configPath: file })).toThrow(
      `Invalid Orbit environment from ${file}`
    );
  });

  it('fails naming the field when the JSON environment is invalid', () => {
    const file = path.join(dir, 'invalid.json');
    writeFileSync(file, JSON.stringify({ ...base(), homeRegion: 'mars-1' }));
    expect(() => loadEnvironment({ configPath: file })).toThrow(
      /homeRegion: must be an AWS region code/
    );
  });
});
