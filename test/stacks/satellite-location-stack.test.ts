import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadEnvironment } from '../../lib/config/load';
import type { SatelliteLocation } from '../../lib/config/schema';
import { RegionLocationStack } from '../../lib/stacks/region-location-stack';
import { SatelliteLocationStack } from '../../lib/stacks/satellite-location-stack';
import { sdkCall } from '../support/cfn';
import { fakeRelease } from '../support/release';

const release = fakeRelease('A');
const environment = loadEnvironment({ env: 'prod' });

function satellite(id: string, env = environment) {
  const location = env.locations.find((l) => l.id === id) as SatelliteLocation;
  const stack = new SatelliteLocationStack(new App(), 'Satellite', {
    environment: env,
    location,
    release,
  });
  return { stack, t: Template.fromStack(stack), location };
}

/** Every IAM statement of the satellite's runtime role (construct `Role/Role`). */
const roleStatements = (t: Template) => {
  const roleIds = Object.keys(t.findResources('AWS::IAM::Role')).filter((id) =>
    /^Role[0-9A-F]{8}$/.test(id)
  );
  expect(roleIds).toHaveLength(1);
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleIds[0]}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
};

describe('SatelliteLocationStack for a Local Zone', () => {
  const { stack, t, location } = satellite('los-angeles');
  const lz = location as Extract<SatelliteLocation, { kind: 'local-zone' }>;

  it('is named for the location and deployed in the parent region with an explicit account', () => {
    expect(stack.stackName).toBe('Orbit-prod-Location-los-angeles');
    expect(stack.region).toBe(lz.parentRegion);
    expect(stack.account).toBe(environment.account);
  });

  it('pins its subnet to the Local Zone, with no NAT gateway and gateway endpoints for S3 and DynamoDB', () => {
    t.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: lz.zone });
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    for (const service of ['s3', 'dynamodb']) {
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: `com.amazonaws.${lz.parentRegion}.${service}`,
      });
    }
    t.resourceCountIs('AWS::EC2::FlowLog', 1);
  });

  it('runs the configured instance types and capacity with IMDSv2 and encrypted volumes', () => {
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: String(lz.capacity),
      MaxSize: String(lz.capacity * 2),
      HealthCheckType: 'ELB',
    });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: lz.instanceTypes[0],
        MetadataOptions: Match.objectLike({ HttpTokens: 'required' }),
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
      }),
    });
  });

  it('starts the runtime from the release asset under systemd, configured for its location', () => {
    const template = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0];
    const userData = template?.Properties.LaunchTemplateData.UserData['Fn::Base64'] as string;
    for (const expected of [
      'orbit-runtime.service',
      'Restart=always',
      'aws s3 cp s3://cdk-',
      'Environment=ORBIT_LOCATION_ID="los-angeles"',
      'Environment=ORBIT_ARTIFACTS="s3"',
      'Environment=ORBIT_DATA_REGION="us-east-1"',
      `Environment=ORBIT_AUTH_ISSUER="${environment.auth.issuer}"`,
      'systemctl enable --now orbit-runtime',
    ]) {
      expect(userData).toContain(expected);
    }
  });

  it('serves HTTPS with the configured certificate and redirects HTTP', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: lz.certificateArn }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [
        Match.objectLike({
          Type: 'redirect',
          RedirectConfig: Match.objectLike({ Protocol: 'HTTPS' }),
        }),
      ],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      HealthCheckPath: '/health',
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
    });
  });

  it("lets the runtime role reach only its own records, the functions' data and the release objects", () => {
    const statements = roleStatements(t);
    const dynamo = statements.filter((s: { Action: unknown }) =>
      JSON.stringify(s.Action).includes('dynamodb:')
    );
    expect(dynamo.length).toBeGreaterThan(0);
    for (const s of dynamo) {
      expect(JSON.stringify(s.Resource)).toContain(
        `:dynamodb:us-east-1:${environment.account}:table/orbit-prod`
      );
      expect(s.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']).toBeDefined();
    }
    const writes = dynamo.find(
      (s: { Action: unknown }) =>
        JSON.stringify(s.Action).includes('PutItem') && !JSON.stringify(s.Action).includes('Query')
    );
    expect(writes.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']).toEqual([
      'LOCATION#los-angeles',
    ]);
    const s3 = statements.filter((s: { Action: unknown }) =>
      JSON.stringify(s.Action).includes('s3:')
    );
    expect(s3).toHaveLength(1);
    expect(s3[0].Action).toBe('s3:GetObject');
    for (const r of s3[0].Resource) expect(JSON.stringify(r)).toMatch(/\/[0-9a-f]{64}\.zip/);
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"/);
  });

  it('deploys each function bundle as the same asset the region stacks deploy', () => {
    const region = new RegionLocationStack(new App(), 'Region', {
      environment,
      location: environment.locations.find((l) => l.id === 'us-east-1') as never,
      release,
    });
    const lambdaKeys = Object.values(
      Template.fromStack(region).findResources('AWS::Lambda::Function')
    )
      .map((f) => f.Properties.Code?.S3Key as string | undefined)
      .filter((k): k is string => k !== undefined);
    for (const fn of release.manifest.functions) {
      const hash = stack.assets[fn.name]?.assetHash;
      expect(lambdaKeys).toContain(`${hash}.zip`);
    }
  });

  it('records the staged release with its manifest and where each bundle is', () => {
    const staged = Object.values(t.findResources('Custom::OrbitStagedRelease'))[0];
    const call = sdkCall(staged?.Properties.Update);
    expect(call?.parameters.Key.sk.S).toBe(`RELEASE#${release.manifest.releaseId}`);
    const values = Object.values(call?.parameters.ExpressionAttributeValues ?? {}) as {
      S?: string;
      M?: Record<string, unknown>;
    }[];
    expect(
      values.some(
        (v) => v.S?.startsWith('{') && JSON.parse(v.S).releaseId === release.manifest.releaseId
      )
    ).toBe(true);
    expect(values.some((v) => v.M && 'runtime' in v.M && 'health' in v.M)).toBe(true);
  });
});

describe('SatelliteLocationStack for an Outpost', () => {
  const { t, location } = satellite('factory-ohio');
  const op = location as Extract<SatelliteLocation, { kind: 'outpost' }>;

  it('places its subnet on the Outpost in its anchor zone', () => {
    t.hasResourceProperties('AWS::EC2::Subnet', {
      OutpostArn: op.outpostArn,
      AvailabilityZone: op.availabilityZone,
    });
  });
});

describe('SatelliteLocationStack for an on-prem site', () => {
  const dev = loadEnvironment({ env: 'dev' });
  const { t } = satellite('lab', dev);

  it('has no network, compute or load balancer: a role and the records only', () => {
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::AutoScaling::AutoScalingGroup',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
    ]) {
      t.resourceCountIs(type, 0);
    }
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { AWS: Match.anyValue() } })],
      }),
    });
    t.resourceCountIs('Custom::OrbitLocationRegistration', 1);
    t.hasOutput('RoleArn', Match.anyValue());
  });
});
