import {
  AssetHashType,
  CfnOutput,
  DefaultStackSynthesizer,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { dataRegionOf } from '../../core/environment/fleet';
import type { Environment, SatelliteLocation } from '../../core/environment/schema';
import {
  functionDir,
  type Release,
  RUNTIME_ARTIFACT,
  runtimeDir,
  signedReleaseDigest,
} from '../../core/manifest';
import {
  releaseKeyAliasOf,
  releaseSignerNameOf,
  releaseSignerRoleNameOf,
  satelliteAssetPrefix,
  satelliteRoleNameOf,
  stackNames,
} from '../../core/names';
import { dataTable } from '../constructs/data-table';
import { suppressCustomResourceProvider } from '../constructs/live-alias';
import { LocationRecords } from '../constructs/location-record';
import { SatelliteNetwork } from '../constructs/satellite-network';
import { ON_PREM_PRINCIPAL_TAGS, onPremHosts, SatelliteRole } from '../constructs/satellite-role';
import { SatelliteService } from '../constructs/satellite-service';
import { RUNTIME_ENV, satelliteRuntimeEnv } from '../satellite/config';

/** Props of a {@link SatelliteLocationStack}. */
export interface SatelliteLocationStackProps extends Omit<StackProps, 'synthesizer'> {
  readonly environment: Environment;
  readonly location: SatelliteLocation;
  /**
   * The release this deploy stages at the location; it must pass `checkRelease` for the
   * environment (`addOrbitEnvironment` checks before building any stack).
   */
  readonly release: Release;
}

/**
 * One satellite location, deployed in its parent region. Local Zones and Outposts get a
 * network in the zone, an Auto Scaling group running the satellite runtime and an HTTPS load
 * balancer; on-prem sites get only a role their hosts assume. Every satellite gets the
 * release's bundles as assets (the very bytes, by hash, the region stacks deploy), a
 * least-privilege role, and its registration and staged-release records. A deploy stages;
 * the runtime's pull agent and the orchestrator decide what serves.
 *
 * Its assets are published under the environment's {@link satelliteAssetPrefix} in the
 * parent region's assets bucket (the synthesizer's `bucketPrefix`; the hash, and so the
 * release's identity, stays the same): the runtime's role may read every release ever
 * staged there, which a host launched after a newer deploy needs, and nothing else.
 */
export class SatelliteLocationStack extends Stack {
  /** The runtime's role: the instance role, or the role on-prem hosts assume. */
  readonly role: iam.Role;
  /** The function assets, by function name. */
  readonly assets: Readonly<Record<string, s3assets.Asset>>;
  /** The satellite runtime's asset. */
  readonly runtimeAsset: s3assets.Asset;
  /** The region whose table replica this location reads and writes. */
  readonly dataRegion: string;
  /** The compute and load balancer; none on-prem. */
  readonly service?: SatelliteService;

  constructor(scope: Construct, id: string, props: SatelliteLocationStackProps) {
    const { environment: env, location, release } = props;
    super(scope, id, {
      stackName: stackNames.location(env, location),
      description: `Orbit ${env.name}: ${location.kind} location ${location.id}`,
      ...props,
      env: { account: env.account, region: location.parentRegion },
      synthesizer: new DefaultStackSynthesizer({ bucketPrefix: satelliteAssetPrefix(env) }),
    });
    this.dataRegion = dataRegionOf(env, location);
    const { tableName, tableArn } = dataTable(this, env, this.dataRegion);

    const assets: Record<string, s3assets.Asset> = {};
    for (const fn of release.manifest.functions) {
      assets[fn.name] = new s3assets.Asset(this, `Asset-${fn.name}`, {
        path: functionDir(release, fn),
        // The same hash the region stacks give the same bundle (see OrbitFunction).
        assetHash: fn.sha256,
        assetHashType: AssetHashType.CUSTOM,
      });
    }
    this.assets = assets;
    this.runtimeAsset = new s3assets.Asset(this, 'RuntimeAsset', {
      path: runtimeDir(release),
      assetHash: release.manifest.runtime.sha256,
      assetHashType: AssetHashType.CUSTOM,
    });

    this.role = new SatelliteRole(this, 'Role', {
      assumedBy:
        location.kind === 'on-prem'
          ? onPremHosts(env.name, location.id)
          : new iam.ServicePrincipal('ec2.amazonaws.com'),
      roleName: satelliteRoleNameOf(env, location),
      locationId: location.id,
      tableArn,
      functions: release.manifest.functions,
      // Every asset of the stack is in the one bucket of the parent region.
      releaseObjects: {
        bucket: this.runtimeAsset.bucket,
        keyPrefix: satelliteAssetPrefix(env),
      },
      releaseKey: { region: env.homeRegion, alias: releaseKeyAliasOf(env) },
    }).role;
    // The release key by its alias ARN (KMS takes it as KeyId): it lives in the home region.
    // Written out (the app targets the `aws` partition), so the hosts' user data stays text.
    const releaseKeyArn = `arn:aws:kms:${env.homeRegion}:${env.account}:${releaseKeyAliasOf(env)}`;

    const registration: Record<string, string> = {
      kind: location.kind,
      region: location.parentRegion,
      dataRegion: this.dataRegion,
    };
    if (location.kind === 'on-prem') {
      // The site's own HTTPS terminator fronts the runtime: its URL is not known here.
      if (location.site) registration.site = location.site;
    } else {
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
        runtime: this.runtimeAsset,
        environment: {
          ...satelliteRuntimeEnv(env, location),
          // The staged-release records name each bundle's S3 object.
          [RUNTIME_ENV.artifacts]: 's3',
          [RUNTIME_ENV.releaseKey]: releaseKeyArn,
          [RUNTIME_ENV.authIssuer]: env.auth.issuer,
          [RUNTIME_ENV.authAudience]: env.auth.audience.join(','),
          [RUNTIME_ENV.pullIntervalSeconds]: '10',
        },
      });
      const apiUrl = `https://${this.service.loadBalancer.loadBalancerDnsName}/`;
      registration.apiUrl = apiUrl;
      new CfnOutput(this, 'ApiUrl', { value: apiUrl, description: `HTTPS API of ${location.id}` });
    }

    const artifact = (asset: s3assets.Asset, sha256: string) => ({
      bucket: asset.s3BucketName,
      key: asset.s3ObjectKey,
      sha256,
    });
    new LocationRecords(this, 'Records', {
      tableName,
      tableArn,
      dataRegion: this.dataRegion,
      locationId: location.id,
      releaseId: release.manifest.releaseId,
      location: registration,
      artifacts: {
        ...Object.fromEntries(
          release.manifest.functions.map((fn) => [
            fn.name,
            artifact(assets[fn.name] as s3assets.Asset, fn.sha256),
          ])
        ),
        [RUNTIME_ARTIFACT]: artifact(this.runtimeAsset, release.manifest.runtime.sha256),
      },
      manifest: JSON.stringify(release.manifest),
      signing: {
        releaseId: release.manifest.releaseId,
        digest: signedReleaseDigest(env.name, release.manifest),
        keyArn: releaseKeyArn,
        keyRegion: env.homeRegion,
        role: iam.Role.fromRoleName(this, 'ReleaseSigner', releaseSignerRoleNameOf(env), {
          mutable: false,
        }),
        functionName: releaseSignerNameOf(env, location),
      },
    });
    new CfnOutput(this, 'ReleaseKeyArn', {
      value: releaseKeyArn,
      description: `The release key runtimes verify releases with (${RUNTIME_ENV.releaseKey})`,
    });

    new CfnOutput(this, 'RoleArn', {
      value: this.role.roleArn,
      description:
        location.kind === 'on-prem'
          ? `Role the runtime hosts of ${location.id} assume (as IAM principals tagged ${ON_PREM_PRINCIPAL_TAGS.environment}=${env.name} and ${ON_PREM_PRINCIPAL_TAGS.location}=${location.id})`
          : `Instance role of ${location.id}'s runtime`,
    });
    new CfnOutput(this, 'ReleaseId', {
      value: release.manifest.releaseId,
      description: 'Release staged by this deploy',
    });
    suppressCustomResourceProvider(this);
  }
}
