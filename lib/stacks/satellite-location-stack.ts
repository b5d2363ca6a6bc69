import { AssetHashType, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { ORBIT_ENV } from '../../functions/shared/env';
import { dataRegionOf, stackNames, tableNameOf } from '../config/fleet';
import type { Environment, SatelliteLocation } from '../config/schema';
import { suppressCustomResourceProvider } from '../constructs/live-alias';
import { LocationRecords } from '../constructs/location-record';
import { SatelliteNetwork } from '../constructs/satellite-network';
import { SatelliteRole } from '../constructs/satellite-role';
import { SatelliteService } from '../constructs/satellite-service';
import { functionDir, type Release, runtimeDir } from '../release/manifest';
import { RUNTIME_ENV } from '../satellite/config';

/** Props of a {@link SatelliteLocationStack}. */
export interface SatelliteLocationStackProps extends StackProps {
  readonly environment: Environment;
  readonly location: SatelliteLocation;
  /** The release this deploy stages at the location. */
  readonly release: Release;
}

/**
 * One satellite location, deployed in its parent region. Local Zones and Outposts get a
 * network in the zone, an Auto Scaling group running the satellite runtime and an HTTPS load
 * balancer; on-prem sites get only a role their hosts assume. Every satellite gets the
 * release's bundles as assets (the very assets, by hash, the region stacks deploy), a
 * least-privilege role, and its registration and staged-release records. A deploy stages;
 * the runtime's pull agent and the orchestrator decide what serves.
 */
export class SatelliteLocationStack extends Stack {
  readonly role: iam.Role;
  /** The function assets, by function name. */
  readonly assets: Readonly<Record<string, s3assets.Asset>>;
  readonly service?: SatelliteService;

  constructor(scope: Construct, id: string, props: SatelliteLocationStackProps) {
    const { environment: env, location, release } = props;
    super(scope, id, {
      stackName: stackNames.location(env, location),
      description: `Orbit ${env.name}: ${location.kind} location ${location.id}`,
      ...props,
      env: { account: env.account, region: location.parentRegion },
    });
    const dataRegion = dataRegionOf(env, location);
    const tableName = tableNameOf(env);
    const tableArn = this.formatArn({
      service: 'dynamodb',
      region: dataRegion,
      resource: 'table',
      resourceName: tableName,
    });

    const assets: Record<string, s3assets.Asset> = {};
    for (const fn of release.manifest.functions) {
      assets[fn.name] = new s3assets.Asset(this, `Asset-${fn.name}`, {
        path: functionDir(release, fn),
        // The same hash the region stacks give the same bundle (see OrbitFunction).
        assetHash: fn.sha256,
        assetHashType: AssetHashType.CUSTOM,
      });
    }
    const runtime = new s3assets.Asset(this, 'RuntimeAsset', {
      path: runtimeDir(release),
      assetHash: release.manifest.runtime.sha256,
      assetHashType: AssetHashType.CUSTOM,
    });
    this.assets = assets;

    const assumedBy =
      location.kind === 'on-prem'
        ? // On-prem hosts get credentials for this account (IAM Roles Anywhere, or an IAM
          // user allowed sts:AssumeRole) and assume the role; nothing else trusts it.
          new iam.AccountRootPrincipal()
        : new iam.ServicePrincipal('ec2.amazonaws.com');
    this.role = new SatelliteRole(this, 'Role', {
      assumedBy,
      locationId: location.id,
      tableArn,
      functions: release.manifest.functions,
      assets: [...Object.values(assets), runtime],
    }).role;

    let apiUrl = 'on-prem';
    if (location.kind !== 'on-prem') {
      const network = new SatelliteNetwork(this, 'Network', {
        zone: location.kind === 'local-zone' ? location.zone : location.availabilityZone,
        outpostArn: location.kind === 'outpost' ? location.outpostArn : undefined,
        existing:
          location.subnetIds && location.vpcId
            ? { vpcId: location.vpcId, subnetIds: location.subnetIds }
            : undefined,
      });
      this.service = new SatelliteService(this, 'Service', {
        vpc: network.vpc,
        subnets: network.subnets,
        instanceTypes: location.instanceTypes,
        capacity: location.capacity,
        certificateArn: location.certificateArn,
        role: this.role,
        runtime,
        environment: {
          [ORBIT_ENV.environment]: env.name,
          [ORBIT_ENV.locationId]: location.id,
          [ORBIT_ENV.locationKind]: location.kind,
          [ORBIT_ENV.region]: location.parentRegion,
          [ORBIT_ENV.tableName]: tableName,
          [ORBIT_ENV.dataRegion]: dataRegion,
          [RUNTIME_ENV.artifacts]: 's3',
          [RUNTIME_ENV.authIssuer]: env.auth.issuer,
          [RUNTIME_ENV.authAudience]: env.auth.audience.join(','),
          [RUNTIME_ENV.pullIntervalSeconds]: '10',
          ...(env.api.cors ? { ORBIT_CORS: JSON.stringify(env.api.cors) } : {}),
        },
      });
      apiUrl = `https://${this.service.loadBalancer.loadBalancerDnsName}/`;
      new CfnOutput(this, 'ApiUrl', { value: apiUrl, description: `HTTPS API of ${location.id}` });
    }

    new LocationRecords(this, 'Records', {
      tableName,
      tableArn,
      dataRegion,
      locationId: location.id,
      releaseId: release.manifest.releaseId,
      location: { kind: location.kind, region: location.parentRegion, dataRegion, apiUrl },
      artifacts: {
        ...Object.fromEntries(
          Object.entries(assets).map(([name, a]) => [
            name,
            { bucket: a.s3BucketName, key: a.s3ObjectKey },
          ])
        ),
        runtime: { bucket: runtime.s3BucketName, key: runtime.s3ObjectKey },
      },
      manifest: JSON.stringify(release.manifest),
    });
    new CfnOutput(this, 'RoleArn', {
      value: this.role.roleArn,
      description: `Role of ${location.id}'s runtime`,
    });
    new CfnOutput(this, 'ReleaseId', {
      value: release.manifest.releaseId,
      description: 'Release staged by this deploy',
    });
    suppressCustomResourceProvider(this);
  }
}
