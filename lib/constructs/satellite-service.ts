import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { isGraviton } from '../../core/environment/instance-types';
import { keepAliveTimeoutFor, RUNTIME_ENV } from '../satellite/config';

/** Props of a {@link SatelliteService}. */
export interface SatelliteServiceProps {
  readonly vpc: ec2.IVpc;
  /** Subnets in the zone: the instances use all of them, the load balancer the first. */
  readonly subnets: readonly ec2.ISubnet[];
  /** Instance types the zone offers, in order of preference, all of one architecture. */
  readonly instanceTypes: readonly string[];
  /** Instances kept in service; the group may grow to twice that while replacing some. */
  readonly capacity: number;
  /** ACM certificate (in the parent region) of the HTTPS listener. */
  readonly certificateArn: string;
  readonly role: iam.IRole;
  /** The satellite runtime's asset (a zip of `runtime/`). */
  readonly runtime: s3assets.Asset;
  /** Environment variables of the runtime (its configuration contract), besides the port. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The port the runtime listens on.
   * @default 8080
   */
  readonly port?: number;
  /**
   * How long the load balancer keeps an idle connection (to clients and to the runtime)
   * open. The runtime's keep-alive timeout is derived from it, so it always outlasts it.
   * @default Duration.seconds(60)
   */
  readonly idleTimeout?: Duration;
}

/**
 * The major version of Node.js the hosts run: the newest LTS Amazon Linux 2023 packages
 * itself (Node.js 24, supported upstream until April 2028; regions run `nodejs24.x`). AL2023
 * namespaces its Node.js packages: `nodejs24` installs `/usr/bin/node-24`, which stays that
 * version whatever the `alternatives` link `node` points to ("Node.js in AL2023", Amazon
 * Linux 2023 User Guide). Bundles keep their Node 20 target (`RELEASE_TARGET`).
 */
export const HOST_NODEJS_MAJOR = 24;

/**
 * The compute of a Local Zone or Outpost location: an Auto Scaling group running the
 * satellite runtime under systemd (the runtime bundle from the release asset, Node.js
 * {@link HOST_NODEJS_MAJOR} from the distribution), behind an internet-facing HTTPS
 * Application Load Balancer in the zone. Instances take traffic only from the load balancer;
 * IMDSv2 and encrypted volumes. The load balancer's idle timeout is explicit and the
 * runtime's keep-alive timeout outlasts it, so the balancer never reuses a connection the
 * runtime has closed.
 */
export class SatelliteService extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly group: autoscaling.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: SatelliteServiceProps) {
    super(scope, id);
    const port = props.port ?? 8080;
    const idleTimeout = props.idleTimeout ?? Duration.seconds(60);
    const [primary, ...others] = props.instanceTypes;
    const [albSubnet] = props.subnets;
    if (!primary || !albSubnet) {
      throw new Error('a satellite service needs at least one instance type and one subnet');
    }
    const arm = isGraviton(primary);
    // The environment rules reject such a location first; this guards the construct on its own.
    if (others.some((t) => isGraviton(t) !== arm)) {
      throw new Error(
        `instance types ${[primary, ...others].join(', ')} mix Graviton (arm64) and x86_64: one launch template has one AMI, so list types of one architecture`
      );
    }

    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: props.vpc,
      description: 'HTTPS from clients to the satellite',
      // Egress only to the instances, added by addTargets below.
      allowAllOutbound: false,
    });
    albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS from anywhere');
    albSecurityGroup.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(80),
      'HTTP, redirected to HTTPS'
    );
    Validations.of(albSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'The satellite serves the public HTTPS API to any client; port 80 only redirects to 443.',
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

    const template = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(primary),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: arm ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      role: props.role,
      userData: runtimeUserData(props.runtime, {
        ...props.environment,
        [RUNTIME_ENV.port]: `${port}`,
        [RUNTIME_ENV.keepAliveTimeoutSeconds]: `${keepAliveTimeoutFor(idleTimeout.toSeconds())}`,
      }),
      securityGroup: instanceSecurityGroup,
      requireImdsv2: true,
      detailedMonitoring: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          // gp2, not gp3: the general-purpose type Outposts racks and Local Zones offer widest.
          volume: ec2.BlockDeviceVolume.ebs(20, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP2,
          }),
        },
      ],
    });
    this.group = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: { subnets: [...props.subnets] },
      // No desiredCapacity: it would reset the group's size on every deploy; it starts at min.
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
      // cdk-nag's EC26 cannot read a mixed instances policy (its rule throws).
      Validations.of(this.group).acknowledge({
        id: 'AwsSolutions-EC26',
        reason:
          "Every instance of the satellite's mixed instances policy launches from its launch template, whose only EBS volume is encrypted.",
      });
    }
    Validations.of(this.group).acknowledge({
      id: 'AwsSolutions-AS3',
      reason:
        'Scaling events of a satellite are watched through its heartbeats and the governance findings, not SNS.',
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
        "This bucket holds the satellite load balancer's access logs; logging access to the log bucket itself would need yet another bucket.",
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      // A load balancer takes one subnet per zone, and an Outpost's exactly one.
      vpcSubnets: { subnets: [albSubnet] },
      internetFacing: true,
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
      // `idle_timeout.timeout_seconds`; ELB's default is 60 s, stated here because the
      // runtime's keep-alive timeout is derived from it.
      idleTimeout,
    });
    this.loadBalancer.logAccessLogs(logs);
    Validations.of(this.loadBalancer).acknowledge({
      id: 'CloudFormation-Validate::E3680',
      reason:
        'A load balancer in a Local Zone or on an Outpost runs in that zone alone: one subnet.',
    });
    this.loadBalancer.addListener('Http', {
      port: 80,
      open: false,
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
      healthCheck: {
        path: '/health',
        // 503 is a live runtime reporting a drain or an unreachable table: it keeps serving
        // (the drain answers are the point), and replacing the instance would not help.
        healthyHttpCodes: '200,503',
        interval: Duration.seconds(15),
      },
      deregistrationDelay: Duration.seconds(30),
    });
  }
}

/**
 * Installs Node.js {@link HOST_NODEJS_MAJOR} and the runtime bundle, and runs it as the
 * systemd unit `orbit-runtime.service` (restarted whenever it stops, as an unprivileged
 * dynamic user whose state directory, `/var/lib/orbit`, holds the releases it fetches).
 */
function runtimeUserData(
  runtime: s3assets.Asset,
  environment: Readonly<Record<string, string>>
): ec2.UserData {
  // systemd unquotes `"NAME=value"` with C escapes and expands `%` specifiers.
  const assignments = Object.entries(environment).map(
    ([name, value]) => `Environment=${JSON.stringify(`${name}=${value}`).replace(/%/g, '%%')}`
  );
  const userData = ec2.UserData.forLinux();
  userData.addCommands(
    'set -euo pipefail',
    `dnf install -y nodejs${HOST_NODEJS_MAJOR} unzip`,
    'mkdir -p /opt/orbit/runtime',
    `aws s3 cp --region ${Stack.of(runtime).region} s3://${runtime.s3BucketName}/${runtime.s3ObjectKey} /opt/orbit/runtime.zip`,
    'unzip -o -q /opt/orbit/runtime.zip -d /opt/orbit/runtime',
    "cat > /etc/systemd/system/orbit-runtime.service <<'UNIT'",
    '[Unit]',
    'Description=Orbit satellite runtime',
    'Wants=network-online.target',
    'After=network-online.target',
    '[Service]',
    `ExecStart=/usr/bin/node-${HOST_NODEJS_MAJOR} /opt/orbit/runtime/index.js`,
    // `systemctl reload orbit-runtime`: pull the desired state now (SIGHUP), keep serving.
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=always',
    'RestartSec=2',
    'DynamicUser=yes',
    'StateDirectory=orbit',
    ...assignments,
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    'systemctl enable --now orbit-runtime.service'
  );
  return userData;
}
