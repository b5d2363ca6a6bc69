import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { dataRegionOf } from '../../core/environment/fleet';
import type {
  Environment,
  EnvironmentInput,
  RegionLocation,
  SatelliteLocation,
} from '../../core/environment/schema';
import type { Release } from '../../core/manifest';
import { addOrbitEnvironment } from '../../lib/app';
import { ENVIRONMENTS, loadEnvironment, parseEnvironment } from '../../lib/config/load';
import { OrbitFunction } from '../../lib/constructs/orbit-function';
import { HOST_NODEJS_MAJOR } from '../../lib/constructs/satellite-service';
import { RegionLocationStack } from '../../lib/stacks/region-location-stack';
import { SatelliteLocationStack } from '../../lib/stacks/satellite-location-stack';
import { sdkCall } from '../support/cfn';
import { fakeRelease } from '../support/release';

type LocalZone = Extract<SatelliteLocation, { kind: 'local-zone' }>;
type Outpost = Extract<SatelliteLocation, { kind: 'outpost' }>;

const release = fakeRelease('A');
const prod = loadEnvironment({ env: 'prod' });
const dev = loadEnvironment({ env: 'dev' });

/** prod, with one location changed (parsed, so the schema and rules still hold). */
function prodWith(
  id: string,
  change: Record<string, unknown>,
  extra: Partial<EnvironmentInput> = {}
) {
  const input = structuredClone(ENVIRONMENTS.prod) as EnvironmentInput;
  input.locations = input.locations.map((l) => (l.id === id ? { ...l, ...change } : l)) as never;
  return parseEnvironment({ ...input, ...extra }, 'prod (changed)');
}

/** A fresh app and satellite stack for one location of `environment`. */
function satellite(environment: Environment, id: string, rel: Release = release) {
  const location = environment.locations.find((l) => l.id === id) as SatelliteLocation;
  const stack = new SatelliteLocationStack(new App(), 'Satellite', {
    environment,
    location,
    release: rel,
  });
  return { stack, t: Template.fromStack(stack), location };
}

const losAngeles = () => {
  const s = satellite(prod, 'los-angeles');
  return { ...s, lz: s.location as LocalZone };
};

/** The runtime's user data script, as the launch template carries it. */
function userDataOf(t: Template): string {
  const [template] = Object.values(t.findResources('AWS::EC2::LaunchTemplate'));
  const script = template?.Properties.LaunchTemplateData.UserData['Fn::Base64'];
  expect(typeof script).toBe('string');
  return script as string;
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string[]>>;
}

/** Every statement of the runtime's role (the role described as an Orbit satellite). */
function roleStatements(t: Template): Statement[] {
  const roles = Object.entries(t.findResources('AWS::IAM::Role')).filter(([, r]) =>
    String(r.Properties.Description).startsWith('Orbit satellite')
  );
  expect(roles).toHaveLength(1);
  const roleId = roles[0]?.[0];
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (s: Statement) => [s.Action].flat();

/** An ARN from the template, with the partition resolved as in the commercial partition. */
function arnOf(resource: unknown): string {
  if (typeof resource === 'string') return resource;
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`not an ARN: ${JSON.stringify(resource)}`);
  return join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      if ((part as { Ref?: string }).Ref === 'AWS::Partition') return 'aws';
      throw new Error(`unresolvable ARN part: ${JSON.stringify(part)}`);
    })
    .join(join[0]);
}

/** Whether an IAM resource pattern (`*` any characters, `?` one) names `arn`. */
const matchesArn = (pattern: string, arn: string) =>
  new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`
  ).test(arn);

/** Whether the runtime's role allows `action` on `arn` (its statements all allow). */
const allows = (t: Template, action: string, arn: string) =>
  roleStatements(t).some(
    (s) =>
      actionsOf(s).includes(action) && [s.Resource].flat().some((r) => matchesArn(arnOf(r), arn))
  );

/** The CDK bootstrap assets bucket of a satellite's parent region. */
const assetsBucket = (environment: Environment, location: SatelliteLocation) =>
  `cdk-hnb659fds-assets-${environment.account}-${location.parentRegion}`;

/** A bundle's object name as CDK's file assets are named: its sha256 and `.zip`. */
const bundleKey = (seed: string) => `${createHash('sha256').update(seed).digest('hex')}.zip`;
const leadingKeys = (s: Statement) =>
  s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];

/** Checks the runtime role's scope, the same for every kind of satellite. */
function expectLeastPrivilege(t: Template, environment: Environment, location: SatelliteLocation) {
  const statements = roleStatements(t);
  const tableArn = `:dynamodb:${dataRegionOf(environment, location)}:${environment.account}:table/orbit-${environment.name}"`;
  const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
  for (const s of dynamo) {
    expect(JSON.stringify(s.Resource)).toContain(tableArn);
    expect(leadingKeys(s)).toBeDefined();
  }
  const own = `LOCATION#${location.id}`;
  const reads = dynamo.find((s) => leadingKeys(s)?.includes('FUNCTION#*'));
  expect(leadingKeys(reads as Statement)).toEqual([own, 'FUNCTION#*']);
  expect(actionsOf(reads as Statement).sort()).toEqual([
    'dynamodb:BatchGetItem',
    'dynamodb:GetItem',
    'dynamodb:Query',
  ]);
  const writes = dynamo.filter((s) => actionsOf(s).includes('dynamodb:PutItem'));
  expect(writes.map(leadingKeys)).toHaveLength(2);
  expect(writes.map(leadingKeys)).toEqual(expect.arrayContaining([[own], ['ECHO']]));
  // The functions' declared data: echo reads and writes ECHO, nothing else declares any.
  expect(actionsOf(writes.find((s) => leadingKeys(s)?.includes('ECHO')) as Statement)).toEqual(
    expect.arrayContaining(['dynamodb:Query', 'dynamodb:DeleteItem'])
  );

  const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
  expect(s3).toHaveLength(1);
  expect(s3[0]?.Action).toBe('s3:GetObject');
  // The environment's bundles in the parent region's assets bucket: any release's, zips only.
  expect([s3[0]?.Resource].flat().map((r) => arnOf(r))).toEqual([
    `arn:aws:s3:::${assetsBucket(environment, location)}/orbit-${environment.name}/*.zip`,
  ]);

  for (const s of statements) expect(s.Resource).not.toBe('*');
}

describe('SatelliteLocationStack for a Local Zone', () => {
  it('is named for the location and deployed in its parent region with an explicit account', () => {
    const { stack, lz } = losAngeles();
    expect(stack.stackName).toBe('Orbit-prod-Location-los-angeles');
    expect(stack.region).toBe(lz.parentRegion);
    expect(stack.account).toBe(prod.account);
  });

  it('pins its only subnet to the Local Zone, without NAT, with gateway endpoints for S3 and DynamoDB', () => {
    const { t, lz } = losAngeles();
    t.resourceCountIs('AWS::EC2::Subnet', 1);
    t.hasResourceProperties('AWS::EC2::Subnet', {
      AvailabilityZone: lz.zone,
      OutpostArn: Match.absent(),
      MapPublicIpOnLaunch: true,
    });
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    for (const service of ['s3', 'dynamodb']) {
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: `com.amazonaws.${lz.parentRegion}.${service}`,
        RouteTableIds: [Match.anyValue()],
      });
    }
  });

  it('logs the VPC flows', () => {
    const { t } = losAngeles();
    t.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      ResourceId: { Ref: Match.stringLikeRegexp('^NetworkVpc') },
    });
  });

  it('runs the configured instance types, in order, at the configured capacity', () => {
    const { t, lz } = losAngeles();
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: String(lz.capacity),
      MaxSize: String(lz.capacity * 2),
      DesiredCapacity: Match.absent(),
      HealthCheckType: 'ELB',
      MixedInstancesPolicy: {
        LaunchTemplate: Match.objectLike({
          Overrides: lz.instanceTypes.map((type) => ({ InstanceType: type })),
        }),
      },
    });
  });

  it('launches Amazon Linux 2023 for the architecture of its instance types, with IMDSv2 and encrypted volumes', () => {
    const { t, lz } = losAngeles();
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: lz.instanceTypes[0],
        MetadataOptions: Match.objectLike({ HttpTokens: 'required' }),
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
      }),
    });
    const amis = Object.values(t.findParameters('*')).map((p) => p.Default);
    expect(amis).toContainEqual(
      expect.stringMatching(
        /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-.+-x86_64$/
      )
    );
  });

  it('starts the runtime from the release asset under systemd, configured for its location', () => {
    const { t, lz, stack } = losAngeles();
    const userData = userDataOf(t);
    for (const expected of [
      `aws s3 cp --region ${lz.parentRegion} s3://cdk-`,
      `/orbit-prod/${stack.runtimeAsset.assetHash}.zip /opt/orbit/runtime.zip`,
      'unzip -o -q /opt/orbit/runtime.zip -d /opt/orbit/runtime',
      '/etc/systemd/system/orbit-runtime.service',
      'Restart=always',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'systemctl enable --now orbit-runtime.service',
    ]) {
      expect(userData).toContain(expected);
    }
  });

  // "Node.js in AL2023" (Amazon Linux 2023 User Guide): AL2023 packages Node.js 20, 22 and 24
  // as `nodejs<major>`, each installing `/usr/bin/node-<major>`; Node.js 20 left upstream
  // support on 2026-04-30, 24 is the newest LTS (to 2028-04-30).
  it("runs the runtime on Node.js 24 from Amazon Linux 2023's own packages, by its namespaced binary", () => {
    const lines = userDataOf(losAngeles().t).split('\n');
    expect(HOST_NODEJS_MAJOR).toBe(24);
    expect(lines).toContain('dnf install -y nodejs24 unzip');
    expect(lines).toContain('ExecStart=/usr/bin/node-24 /opt/orbit/runtime/index.js');
    expect(lines.join('\n')).not.toMatch(/nodejs20|node-20/);
  });

  it('runs the same Node.js major as the region functions, whose bundles it hosts', () => {
    expect(OrbitFunction.RUNTIME.name).toBe(`nodejs${HOST_NODEJS_MAJOR}.x`);
  });

  it.each([
    ['ORBIT_ENVIRONMENT', 'prod'],
    ['ORBIT_LOCATION_ID', 'los-angeles'],
    ['ORBIT_LOCATION_KIND', 'local-zone'],
    ['ORBIT_REGION', 'us-west-2'],
    ['ORBIT_TABLE_NAME', 'orbit-prod'],
    [
      'ORBIT_DATA_REGION',
      dataRegionOf(prod, prod.locations.find((l) => l.id === 'los-angeles') as SatelliteLocation),
    ],
    ['ORBIT_RUNTIME_PORT', '8080'],
    ['ORBIT_AUTH_ISSUER', prod.auth.issuer],
    ['ORBIT_AUTH_AUDIENCE', prod.auth.audience.join(',')],
    ['ORBIT_PULL_INTERVAL_SECONDS', '10'],
    ['ORBIT_ARTIFACTS', 's3'],
    // How long jwt routes verify with kept keys while cut off (satellite.offlineMaxMinutes).
    ['ORBIT_OFFLINE_MAX_MINUTES', String(prod.satellite.offlineMaxMinutes)],
    // The load balancer's idle timeout (60 s) plus the margin: the runtime never closes first.
    ['ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS', '65'],
  ])('sets %s=%s for the runtime', (name, value) => {
    const { t } = losAngeles();
    expect(userDataOf(t).split('\n')).toContain(`Environment="${name}=${value}"`);
  });

  it('passes CORS to the runtime only when the environment sets it', () => {
    expect(userDataOf(losAngeles().t)).not.toContain('ORBIT_CORS');
    const withCors = prodWith(
      'los-angeles',
      {},
      { api: { cors: { allowOrigins: ['https://app.example.com'] } } }
    );
    const userData = userDataOf(satellite(withCors, 'los-angeles').t);
    const line = userData.split('\n').find((l) => l.includes('ORBIT_CORS=')) ?? '';
    // Unquote as systemd does: the value is the environment's CORS settings, as JSON.
    const assignment = JSON.parse(line.slice('Environment='.length)) as string;
    expect(JSON.parse(assignment.slice('ORBIT_CORS='.length))).toEqual(withCors.api.cors);
  });

  it('names the affinity cookie to the runtime only when the environment configures one', () => {
    expect(userDataOf(losAngeles().t)).not.toContain('ORBIT_AFFINITY_COOKIE');
    const withCookie = prodWith('los-angeles', {}, { api: { affinityCookie: 'orbit-affinity' } });
    expect(userDataOf(satellite(withCookie, 'los-angeles').t).split('\n')).toContain(
      'Environment="ORBIT_AFFINITY_COOKIE=orbit-affinity"'
    );
  });

  it('serves HTTPS with the configured certificate and a TLS 1.3 policy, and redirects HTTP to it', () => {
    const { t, lz } = losAngeles();
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: lz.certificateArn }],
      SslPolicy: Match.stringLikeRegexp('TLS13'),
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [
        Match.objectLike({
          Type: 'redirect',
          RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', Port: '443' }),
        }),
      ],
    });
  });

  it('puts an internet-facing load balancer in the zone subnet, logging access to an encrypted bucket', () => {
    const { t } = losAngeles();
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      Subnets: [{ Ref: Match.stringLikeRegexp('^NetworkZoneSubnet') }],
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'access_logs.s3.enabled', Value: 'true' }]),
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.anyValue(),
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }),
    });
  });

  // ELB guide, "Edit attributes for your Application Load Balancer" / "Connection idle
  // timeout": the application's idle timeout must be larger than the load balancer's, or the
  // balancer may send a request on a connection the target closed and answer 502.
  it("sets the load balancer's idle timeout explicitly, and the runtime's keep-alive timeout past it", () => {
    const { t } = losAngeles();
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'idle_timeout.timeout_seconds', Value: '60' },
      ]),
    });
    const keepAlive = userDataOf(t)
      .split('\n')
      .find((l) => l.startsWith('Environment="ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS='));
    expect(Number(keepAlive?.match(/=(\d+)"$/)?.[1])).toBeGreaterThan(60);
  });

  it('checks the runtime on /health at port 8080, and keeps a draining runtime in service', () => {
    const { t } = losAngeles();
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      Protocol: 'HTTP',
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200,503' },
    });
  });

  it('lets clients reach only the load balancer, and only the load balancer reach the runtime', () => {
    const { t } = losAngeles();
    const [albGroup] = Object.keys(
      t.findResources('AWS::EC2::SecurityGroup', {
        Properties: { GroupDescription: 'HTTPS from clients to the satellite' },
      })
    );
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'HTTPS from clients to the satellite',
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 }),
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 80, ToPort: 80 }),
      ],
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'The runtime, reachable only from the load balancer',
      SecurityGroupIngress: Match.absent(),
    });
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'));
    expect(ingress.map((i) => i.Properties)).toEqual([
      expect.objectContaining({
        FromPort: 8080,
        ToPort: 8080,
        SourceSecurityGroupId: { 'Fn::GetAtt': [albGroup, 'GroupId'] },
      }),
    ]);
  });

  it("lets the runtime's role reach only its records, the functions' data and the release objects", () => {
    const { t, lz } = losAngeles();
    expectLeastPrivilege(t, prod, lz);
    t.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('^Orbit satellite'),
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })],
      }),
    });
  });

  it('deploys each function bundle as the very bytes (same hash) a region stack of the environment deploys, under the satellite prefix', () => {
    const { stack } = losAngeles();
    const region = new RegionLocationStack(new App(), 'Region', {
      environment: prod,
      location: prod.locations.find((l) => l.id === 'us-west-2') as RegionLocation,
      release,
    });
    const lambdaKeys = Object.fromEntries(
      Object.values(Template.fromStack(region).findResources('AWS::Lambda::Function')).map((f) => [
        f.Properties.FunctionName,
        f.Properties.Code?.S3Key,
      ])
    );
    for (const fn of release.manifest.functions) {
      const asset = stack.assets[fn.name];
      expect(lambdaKeys[`orbit-prod-${fn.name}`]).toBe(`${asset?.assetHash}.zip`);
      expect(asset?.s3ObjectKey).toBe(`orbit-prod/${asset?.assetHash}.zip`);
    }
  });

  // CDK DefaultStackSynthesizer, `bucketPrefix`: file assets are published at
  // `<bucketPrefix><source hash><extension>`; the hash itself does not change.
  it('publishes every bundle under the prefix the role may read, as `cdk deploy` uploads them', () => {
    const app = new App();
    const location = prod.locations.find((l) => l.id === 'los-angeles') as SatelliteLocation;
    const stack = new SatelliteLocationStack(app, 'Satellite', {
      environment: prod,
      location,
      release,
    });
    const out = app.synth().directory;
    const manifest = JSON.parse(
      readFileSync(
        path.join(out, readdirSync(out).find((f) => f.endsWith('.assets.json')) as string),
        'utf8'
      )
    ) as {
      files: Record<
        string,
        { destinations: Record<string, { bucketName: string; objectKey: string }> }
      >;
    };
    const destinations = Object.values(manifest.files).flatMap((f) =>
      Object.values(f.destinations)
    );
    const bundles = destinations.filter((d) => d.objectKey.endsWith('.zip'));
    for (const asset of [...Object.values(stack.assets), stack.runtimeAsset]) {
      expect(bundles.map((d) => d.objectKey)).toContain(`orbit-prod/${asset.assetHash}.zip`);
    }
    for (const d of destinations) {
      expect(d.bucketName).toBe(assetsBucket(prod, location));
      expect(d.objectKey.startsWith('orbit-prod/')).toBe(true);
    }
  });

  // Service Authorization Reference, "Actions, resources, and condition keys for Amazon S3":
  // GetObject is authorized on the object resource, arn:${Partition}:s3:::${BucketName}/${ObjectName}.
  it('lets a host launched after a newer deploy read the bundles of an earlier release, and nothing else of the bucket', () => {
    const { t, lz } = losAngeles();
    const bucket = assetsBucket(prod, lz);
    const earlier = bundleKey('a bundle of an earlier release');
    expect(release.manifest.functions.map((f) => `${f.sha256}.zip`)).not.toContain(earlier);
    expect(allows(t, 's3:GetObject', `arn:aws:s3:::${bucket}/orbit-prod/${earlier}`)).toBe(true);
    for (const outside of [
      // the region stacks' Lambda code, unprefixed
      `arn:aws:s3:::${bucket}/${earlier}`,
      // another environment's bundles
      `arn:aws:s3:::${bucket}/orbit-staging/${earlier}`,
      `arn:aws:s3:::${bucket}/orbit-prodx/${earlier}`,
      // the stacks' templates under the same prefix
      `arn:aws:s3:::${bucket}/orbit-prod/${earlier.replace('.zip', '.json')}`,
      // the assets bucket of another region, and any other bucket
      `arn:aws:s3:::${assetsBucket(prod, { ...lz, parentRegion: 'us-east-1' })}/orbit-prod/${earlier}`,
      `arn:aws:s3:::some-other-bucket/orbit-prod/${earlier}`,
    ]) {
      expect([outside, allows(t, 's3:GetObject', outside)]).toEqual([outside, false]);
    }
    expect(allows(t, 's3:PutObject', `arn:aws:s3:::${bucket}/orbit-prod/${earlier}`)).toBe(false);
  });

  it('registers the location with its HTTPS URL, and records the staged release with where each bundle is', () => {
    const { t, stack, lz } = losAngeles();
    t.hasOutput('ApiUrl', {
      Value: {
        'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [Match.anyValue(), 'DNSName'] }, '/']],
      },
    });
    const registration = sdkCall(
      Object.values(t.findResources('Custom::OrbitLocationRegistration'))[0]?.Properties.Update
    );
    const facts = attributes(registration);
    expect(facts).toMatchObject({
      kind: { S: 'local-zone' },
      region: { S: lz.parentRegion },
      dataRegion: { S: stack.dataRegion },
      apiUrl: { S: expect.stringMatching(/^https:\/\/.+\/$/) },
    });

    const staged = sdkCall(
      Object.values(t.findResources('Custom::OrbitStagedRelease'))[0]?.Properties.Update
    );
    expect(staged?.parameters.Key).toEqual({
      pk: { S: 'LOCATION#los-angeles' },
      sk: { S: `RELEASE#${release.manifest.releaseId}` },
    });
    const record = attributes(staged);
    expect(JSON.parse(record.manifest.S)).toEqual(release.manifest);
    const bundles = [
      ...release.manifest.functions.map((f) => [f.name, stack.assets[f.name], f.sha256] as const),
      ['runtime', stack.runtimeAsset, release.manifest.runtime.sha256] as const,
    ];
    expect(Object.keys(record.artifacts.M)).toEqual(bundles.map(([name]) => name));
    for (const [name, asset, sha256] of bundles) {
      expect(record.artifacts.M[name]).toEqual({
        M: {
          bucket: { S: asset?.s3BucketName },
          key: { S: asset?.s3ObjectKey },
          sha256: { S: sha256 },
        },
      });
      // Where `cdk deploy` publishes it, and so where the role may read it.
      expect(record.artifacts.M[name].M.key.S).toBe(`orbit-prod/${asset?.assetHash}.zip`);
      expect(record.artifacts.M[name].M.bucket.S).toBe(assetsBucket(prod, lz));
    }
  });

  it('fails synth when a function is named like the runtime, whose staged-release entry it would take', () => {
    const [first, ...rest] = release.manifest.functions;
    const clash: Release = {
      ...release,
      manifest: {
        ...release.manifest,
        functions: [{ ...(first as (typeof rest)[number]), name: 'runtime' }, ...rest],
      },
    };
    expect(() => addOrbitEnvironment(new App(), prod, clash)).toThrow(
      /functions\/api\/runtime: a function named 'runtime' would share its staged-release entry with the satellite runtime at .*'los-angeles'.*; rename the function/
    );
  });
});

/** The attributes an AwsCustomResource's UpdateItem call sets, by name. */
function attributes(call: Record<string, any> | undefined): Record<string, any> {
  const p = call?.parameters;
  return Object.fromEntries(
    Object.entries(p.ExpressionAttributeNames as Record<string, string>).map(([alias, name]) => [
      name,
      p.ExpressionAttributeValues[alias.replace('#a', ':v')],
    ])
  );
}

describe('SatelliteLocationStack for an Outpost', () => {
  it('places its only subnet on the Outpost, in the zone it is anchored to', () => {
    const { t, location } = satellite(prod, 'factory-ohio');
    const op = location as Outpost;
    t.resourceCountIs('AWS::EC2::Subnet', 1);
    t.hasResourceProperties('AWS::EC2::Subnet', {
      OutpostArn: op.outpostArn,
      AvailabilityZone: op.availabilityZone,
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Subnets: [{ Ref: Match.stringLikeRegexp('^NetworkZoneSubnet') }],
    });
  });

  it('runs one instance type from its launch template, without a mixed instances policy', () => {
    const { t, location } = satellite(prod, 'factory-ohio');
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MixedInstancesPolicy: Match.absent(),
      LaunchTemplate: Match.anyValue(),
      MinSize: String((location as Outpost).capacity),
    });
  });
});

describe('SatelliteLocationStack in existing subnets', () => {
  const existing = () =>
    prodWith('miami', {
      vpcId: 'vpc-0123abcd',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      instanceTypes: ['m7g.large', 't4g.large'],
    });

  it('creates no network: the group spans the given subnets, the load balancer takes the first', () => {
    const { t } = satellite(existing(), 'miami');
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::InternetGateway']) {
      t.resourceCountIs(type, 0);
    }
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      VPCZoneIdentifier: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Subnets: ['subnet-0123456789abcdef0'],
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0123abcd' });
  });

  it('launches the arm64 image for Graviton instance types', () => {
    const { t } = satellite(existing(), 'miami');
    const amis = Object.values(t.findParameters('*')).map((p) => p.Default);
    expect(amis).toContainEqual(
      expect.stringMatching(/^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-.+-arm64$/)
    );
  });

  it('fails at load, naming the field, when the instance types mix Graviton and x86_64', () => {
    expect(() => prodWith('miami', { instanceTypes: ['m7g.large', 'c5.large'] })).toThrow(
      /locations\[\d+\]\.instanceTypes: 'm7g\.large' is Graviton \(arm64\) but 'c5\.large' is x86_64/
    );
  });
});

describe('SatelliteLocationStack for an on-prem site', () => {
  const lab = () => satellite(dev, 'lab');

  it('is named for the location and deployed in its parent region with an explicit account', () => {
    const { stack, location } = lab();
    expect(stack.stackName).toBe('Orbit-dev-Location-lab');
    expect(stack.region).toBe(location.parentRegion);
    expect(stack.account).toBe(dev.account);
  });

  it('has no network, compute or load balancer', () => {
    const { t } = lab();
    const types = Object.values(t.toJSON().Resources as Record<string, { Type: string }>).map(
      (r) => r.Type
    );
    expect(
      types.filter((type) => /^AWS::(EC2|ElasticLoadBalancingV2|AutoScaling)::/.test(type))
    ).toEqual([]);
    expect(t.toJSON().Outputs).not.toHaveProperty('ApiUrl');
  });

  it('gives its hosts a role that only principals tagged for the location may assume, named in the outputs', () => {
    const { t } = lab();
    t.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('^Orbit satellite'),
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [
          Match.objectLike({
            Action: 'sts:AssumeRole',
            Principal: { AWS: Match.objectLike({ 'Fn::Join': Match.anyValue() }) },
            Condition: {
              StringEquals: {
                'aws:PrincipalTag/orbit:environment': 'dev',
                'aws:PrincipalTag/orbit:location': 'lab',
              },
            },
          }),
        ],
      }),
    });
    t.hasOutput('RoleArn', {
      Value: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
      Description: Match.stringLikeRegexp('orbit:location=lab'),
    });
  });

  it("lets the hosts' role reach only its records, the functions' data and the release objects", () => {
    const { t, location } = lab();
    expectLeastPrivilege(t, dev, location);
  });

  it('registers the site without an API URL and records the staged release', () => {
    const { t } = lab();
    const facts = attributes(
      sdkCall(
        Object.values(t.findResources('Custom::OrbitLocationRegistration'))[0]?.Properties.Update
      )
    );
    expect(facts).toMatchObject({ kind: { S: 'on-prem' }, site: { S: 'developer lab rack' } });
    expect(facts).not.toHaveProperty('apiUrl');
    const staged = attributes(
      sdkCall(Object.values(t.findResources('Custom::OrbitStagedRelease'))[0]?.Properties.Update)
    );
    expect(staged.releaseId).toEqual({ S: release.manifest.releaseId });
    expect(Object.keys(staged.artifacts.M)).toContain('runtime');
  });
});
