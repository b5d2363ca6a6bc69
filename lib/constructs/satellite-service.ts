import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';

/** Props of a {@link SatelliteService}. */
export interface SatelliteServiceProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: readonly ec2.ISubnet[];
  /** Instance types the zone offers, in order of preference. */
  readonly instanceTypes: readonly string[];
  readonly capacity: number;
  readonly certificateArn: string;
  readonly role: iam.IRole;
  /** The satellite runtime's asset (a zip of `runtime/`). */
  readonly runtime: s3assets.Asset;
  /** Environment variables of the runtime (its configuration contract). */
  readonly environment: Readonly<Record<string, string>>;
  /** The port the runtime listens on. @default 8080 */
  readonly port?: number;
}

/** Graviton families carry a `g` after the generation digit (m7g, t4g, c6gn). */
const isArm = (instanceType: string) => /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType);

/**
 * The compute of a Local Zone or Outpost location: an Auto Scaling group running the
 * satellite runtime under systemd (the runtime bundle from the release asset, Node.js 20
 * from the distribution), behind an internet-facing HTTPS Application Load Balancer in the
 * zone. Instances take traffic only from the load balancer; IMDSv2 and encrypted volumes.
 */
export class SatelliteService extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly group: autoscaling.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: SatelliteServiceProps) {
    super(scope, id);
    const port = props.port ?? 8080;
    const [primary = 't3.medium', ...others] = props.instanceTypes;
    const subnets = { subnets: [...props.subnets] };

    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: props.vpc,
      description: 'HTTPS from clients to the satellite',
    });
    albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS from anywhere');
    albSecurityGroup.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(80),
      'HTTP, redirected to HTTPS'
    );
    Validations.of(albSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The satellite serves the public HTTPS API; port 80 only redirects to 443.',
    });
    const instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: props.vpc,
      description: 'The runtime, reachable only from the load balancer',
    });
    instanceSecurityGroup.addIngressRule(
      albSecurityGroup,
      ec2.Port.tcp(port),
      'runtime port from the load balancer'
    );

    const userData = ec2.UserData.forLinux();
    const env = Object.entries(props.environment)
      .map(([k, v]) => `Environment=${k}=${JSON.stringify(v).replace(/%/g, '%%')}`)
      .join('\n');
    userData.addCommands(
      'set -euo pipefail',
      'dnf install -y nodejs20 unzip',
      'mkdir -p /opt/orbit/runtime /var/lib/orbit/releases',
      `aws s3 cp s3://${props.runtime.s3BucketName}/${props.runtime.s3ObjectKey} /opt/orbit/runtime.zip`,
      'unzip -o -q /opt/orbit/runtime.zip -d /opt/orbit/runtime',
      "cat > /etc/systemd/system/orbit-runtime.service <<'UNIT'",
      '[Unit]',
      'Description=Orbit satellite runtime',
      'After=network-online.target',
      '[Service]',
      'ExecStart=/usr/bin/node-20 /opt/orbit/runtime/index.js',
      'Restart=always',
      'RestartSec=2',
      `Environment=ORBIT_RUNTIME_PORT=${port}`,
      env,
      '[Install]',
      'WantedBy=multi-user.target',
      'UNIT',
      'systemctl daemon-reload',
      'systemctl enable --now orbit-runtime'
    );

    const template = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(primary),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: isArm(primary) ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      role: props.role,
      userData,
      securityGroup: instanceSecurityGroup,
      requireImdsv2: true,
      detailedMonitoring: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(20, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
          }),
        },
      ],
    });
    this.group = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: subnets,
      minCapacity: props.capacity,
      maxCapacity: props.capacity * 2,
      capacityRebalance: true,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.minutes(3),
      }),
      ...(others.length > 0
        ? {
            mixedInstancesPolicy: {
              launchTemplate: template,
              launchTemplateOverrides: [primary, ...others].map((t) => ({
                instanceType: new ec2.InstanceType(t),
              })),
            },
          }
        : { launchTemplate: template }),
    });
    if (others.length > 0) {
      // cdk-nag's EC26 cannot read a mixed instances policy; the launch template above
      // encrypts the only volume.
      Validations.of(this.group).acknowledge({
        id: 'AwsSolutions-EC26',
        reason:
          'Every instance launches from the launch template, whose only EBS volume is encrypted.',
      });
    }
    Validations.of(this.group).acknowledge({
      id: 'AwsSolutions-AS3',
      reason:
        'Scaling events of satellites are watched through the heartbeats and governance findings, not SNS.',
    });

    const logs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket holds the load balancer access logs; logging access to the log bucket itself would recurse.',
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      vpcSubnets: subnets,
      internetFacing: true,
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(logs);
    Validations.of(this.loadBalancer).acknowledge({
      id: 'CloudFormation-Validate::E3680',
      reason: 'Load balancers in a Local Zone or on an Outpost take a single subnet, in the zone.',
    });
    this.loadBalancer.addListener('Http', {
      port: 80,
      defaultAction: elbv2.ListenerAction.redirect({
        protocol: 'HTTPS',
        port: '443',
        permanent: true,
      }),
    });
    const https = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
    });
    https.addTargets('Runtime', {
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.group],
      healthCheck: { path: '/health', healthyHttpCodes: '200', interval: Duration.seconds(15) },
      deregistrationDelay: Duration.seconds(30),
    });
  }
}
