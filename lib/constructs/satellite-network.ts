import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Props of a {@link SatelliteNetwork}. */
export interface SatelliteNetworkProps {
  /** The zone the subnet lives in: a Local Zone id, or the Outpost's availability zone. */
  readonly zone: string;
  /**
   * Places the subnet on this Outpost.
   * @default - a subnet in the Local Zone `zone`
   */
  readonly outpostArn?: string;
  /**
   * Existing subnets in the zone, with their VPC, instead of a network Orbit creates. They
   * must be public (a route to an internet gateway): the load balancer is internet-facing.
   * @default - Orbit creates the network
   */
  readonly existing?: { readonly vpcId: string; readonly subnetIds: readonly string[] };
}

/** Each satellite has its own VPC, so one address plan serves them all. */
const VPC_CIDR = '10.64.0.0/16';
const ZONE_SUBNET_CIDR = '10.64.0.0/20';

/**
 * The network of a satellite: a VPC in the parent region whose only subnet is in the zone
 * (a Local Zone, or an Outpost), pinned explicitly so that synth needs no lookups. No NAT
 * gateway (Local Zones have none): the subnet is public, instances leave through the
 * internet gateway (package repositories, the token issuer's keys) and reach S3 and
 * DynamoDB through gateway endpoints. Flow logs go to CloudWatch Logs.
 *
 * With `existing`, the given subnets are imported as they are, pinned to `zone`.
 */
export class SatelliteNetwork extends Construct {
  readonly vpc: ec2.IVpc;
  /** The subnets in the zone, the first of them for the load balancer. */
  readonly subnets: readonly ec2.ISubnet[];

  constructor(scope: Construct, id: string, props: SatelliteNetworkProps) {
    super(scope, id);
    if (props.existing) {
      this.subnets = props.existing.subnetIds.map((subnetId, i) =>
        ec2.Subnet.fromSubnetAttributes(this, `Subnet${i}`, {
          subnetId,
          availabilityZone: props.zone,
        })
      );
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: props.existing.vpcId,
        availabilityZones: [props.zone],
        publicSubnetIds: [...props.existing.subnetIds],
      });
      return;
    }

    const vpc = new ec2.CfnVPC(this, 'Vpc', {
      cidrBlock: VPC_CIDR,
      enableDnsHostnames: true,
      enableDnsSupport: true,
    });
    const subnet = new ec2.CfnSubnet(this, 'ZoneSubnet', {
      vpcId: vpc.ref,
      cidrBlock: ZONE_SUBNET_CIDR,
      availabilityZone: props.zone,
      mapPublicIpOnLaunch: true,
      ...(props.outpostArn ? { outpostArn: props.outpostArn } : {}),
    });
    if (props.outpostArn) {
      Validations.of(subnet).acknowledge({
        id: 'CloudFormation-Validate::W3010',
        reason: `An Outpost is anchored to one availability zone (${props.zone}); its subnets must name it.`,
      });
    }
    const igw = new ec2.CfnInternetGateway(this, 'Gateway');
    const attachment = new ec2.CfnVPCGatewayAttachment(this, 'GatewayAttachment', {
      vpcId: vpc.ref,
      internetGatewayId: igw.ref,
    });
    const routes = new ec2.CfnRouteTable(this, 'Routes', { vpcId: vpc.ref });
    new ec2.CfnSubnetRouteTableAssociation(this, 'RoutesAssociation', {
      subnetId: subnet.ref,
      routeTableId: routes.ref,
    });
    new ec2.CfnRoute(this, 'DefaultRoute', {
      routeTableId: routes.ref,
      destinationCidrBlock: '0.0.0.0/0',
      gatewayId: igw.ref,
    }).addResourceDependency(attachment);
    for (const service of ['s3', 'dynamodb']) {
      new ec2.CfnVPCEndpoint(this, `${service}Endpoint`, {
        vpcId: vpc.ref,
        serviceName: `com.amazonaws.${Stack.of(this).region}.${service}`,
        vpcEndpointType: 'Gateway',
        routeTableIds: [routes.ref],
      });
    }

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
    });
    const flowRole = new iam.Role(this, 'FlowLogsRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com'),
    });
    // What the Amazon VPC user guide lists for the flow logs role ("IAM role for publishing
    // flow logs to CloudWatch Logs"), on this log group; DescribeLogGroups has no resource.
    flowLogs.grantWrite(flowRole);
    flowRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:DescribeLogStreams'],
        // The log group itself (`log-group:NAME`), which the `:*` of its Arn does not match.
        resources: [
          Stack.of(this).formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: flowLogs.logGroupName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      })
    );
    flowRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:DescribeLogGroups'], resources: ['*'] })
    );
    Validations.of(flowRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'VPC Flow Logs call logs:DescribeLogGroups, which has no resource-level permissions.',
    });
    new ec2.CfnFlowLog(this, 'FlowLog', {
      resourceId: vpc.ref,
      resourceType: 'VPC',
      trafficType: 'ALL',
      logDestinationType: 'cloud-watch-logs',
      logGroupName: flowLogs.logGroupName,
      deliverLogsPermissionArn: flowRole.roleArn,
    });

    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Imported', {
      vpcId: vpc.ref,
      availabilityZones: [props.zone],
      publicSubnetIds: [subnet.ref],
      publicSubnetRouteTableIds: [routes.ref],
    });
    this.subnets = [
      ec2.Subnet.fromSubnetAttributes(this, 'Subnet', {
        subnetId: subnet.ref,
        availabilityZone: props.zone,
        routeTableId: routes.ref,
      }),
    ];
  }
}
