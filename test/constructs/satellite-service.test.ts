import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { runtimeDir } from '../../core/manifest';
import { SatelliteService } from '../../lib/constructs/satellite-service';
import { fakeRelease } from '../support/release';

const release = fakeRelease('service');

/** A SatelliteService on its own, in a fresh stack, over an existing VPC. */
function service(instanceTypes: string[]) {
  const stack = new Stack(new App(), 'Stack', {
    env: { account: '111111111111', region: 'us-east-1' },
  });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0123abcd',
    availabilityZones: ['us-east-1-bos-1a'],
    publicSubnetIds: ['subnet-0123456789abcdef0'],
  });
  new SatelliteService(stack, 'Service', {
    vpc,
    subnets: vpc.publicSubnets,
    instanceTypes,
    capacity: 1,
    certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc',
    role: new iam.Role(stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    }),
    runtime: new s3assets.Asset(stack, 'Runtime', { path: runtimeDir(release) }),
    environment: {},
  });
  return Template.fromStack(stack);
}

describe('SatelliteService used on its own', () => {
  it('launches the x86_64 image for x86_64 instance types', () => {
    const amis = Object.values(service(['t3.medium', 'm5.large']).findParameters('*')).map(
      (p) => p.Default
    );
    expect(amis).toContainEqual(expect.stringMatching(/al2023-ami-kernel-.+-x86_64$/));
  });

  it('throws when the instance types mix Graviton and x86_64, naming them and the fix', () => {
    expect(() => service(['m7g.large', 'c5.large'])).toThrow(
      'instance types m7g.large, c5.large mix Graviton (arm64) and x86_64: one launch template has one AMI, so list types of one architecture'
    );
  });
});
