import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ReleaseFunction } from '../../core/manifest';
import { keys } from '../../core/records/keys';
import { DATA_READ, DATA_WRITE, PLATFORM_READ, tableStatement } from './orbit-function';

/** Tag keys an IAM principal must carry, with these values, to assume an on-prem role. */
export const ON_PREM_PRINCIPAL_TAGS = {
  environment: 'orbit:environment',
  location: 'orbit:location',
} as const;

/**
 * Who may assume an on-prem location's role: IAM principals of the environment's account
 * tagged `orbit:environment` and `orbit:location` with the environment and the location.
 * On-prem hosts need some AWS identity first; an IAM user or role the site's operators
 * already manage, tagged for the location, is the simplest honest one: the trust names the
 * account (never `*`) and the tags pick the principals. IAM Roles Anywhere would spare the
 * hosts long-lived keys, but needs a trust anchor (a certificate authority) that the
 * environment does not describe.
 */
export function onPremHosts(environmentName: string, locationId: string): iam.IPrincipal {
  return new iam.AccountRootPrincipal().withConditions({
    StringEquals: {
      [`aws:PrincipalTag/${ON_PREM_PRINCIPAL_TAGS.environment}`]: environmentName,
      [`aws:PrincipalTag/${ON_PREM_PRINCIPAL_TAGS.location}`]: locationId,
    },
  });
}

/** Props of a {@link SatelliteRole}. */
export interface SatelliteRoleProps {
  /** The role's name. @default - a name CloudFormation generates */
  readonly roleName?: string;
  /** Who assumes the role: EC2 instances, or on-prem hosts. */
  readonly assumedBy: iam.IPrincipal;
  readonly locationId: string;
  /** ARN of the table in the location's data region. */
  readonly tableArn: string;
  /** The functions the runtime hosts: their declared table access is the runtime's too. */
  readonly functions: readonly ReleaseFunction[];
  /**
   * Where the bundles of every release staged at the location sit: the assets bucket of the
   * parent region and the environment's {@link satelliteAssetPrefix}.
   */
  readonly releaseObjects: { readonly bucket: s3.IBucket; readonly keyPrefix: string };
  /**
   * The environment's release key, by its region (the home region) and alias: the runtime
   * reads its public key to verify releases.
   */
  readonly releaseKey: { readonly region: string; readonly alias: string };
}

/**
 * The role of a satellite runtime, and no more than it needs, all on the table in the
 * location's data region and each statement limited by `dynamodb:LeadingKeys`:
 * - read its location's records (desired traffic, staged releases, drain) and every
 *   function's drain flag (`FUNCTION#*`: a release staged later may host other functions);
 * - write its location's records (the heartbeat, and the desired traffic it adopts once);
 * - the union of the table access the hosted functions declare, as each function has on
 *   Lambda;
 * - read the environment release key's public key (to verify releases), never sign;
 * - read the bundles of any release staged at the location, not only this deploy's: hosts
 *   that start later (scale-out, replacement, after a rollback) load the release the
 *   desired traffic names, which may be older or newer than the deploy that launched them.
 *   Bundles are zips under the environment's asset prefix, so that is the grant: not the
 *   whole asset bucket, not the stacks' templates (`.json`) under the same prefix.
 */
export class SatelliteRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SatelliteRoleProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      assumedBy: props.assumedBy,
      description: `Orbit satellite ${props.locationId}: its own records, the release assets, the functions' data`,
    });
    const table = { tableArn: props.tableArn };
    const own = keys.location(props.locationId).pk;
    const everyFunction = keys.functionDrain('*').pk;
    this.role.addToPolicy(
      tableStatement(table, [...PLATFORM_READ, 'dynamodb:Query'], [own, everyFunction])
    );
    this.role.addToPolicy(
      tableStatement(table, ['dynamodb:PutItem', 'dynamodb:UpdateItem'], [own])
    );

    const declared = props.functions.flatMap((f) => (f.table ? [f.table] : []));
    const readOnly = unique(
      declared.filter((t) => t.access === 'read').flatMap((t) => t.partitions)
    );
    const readWrite = unique(
      declared.filter((t) => t.access === 'read-write').flatMap((t) => t.partitions)
    );
    const onlyRead = readOnly.filter((p) => !readWrite.includes(p));
    if (onlyRead.length > 0) this.role.addToPolicy(tableStatement(table, DATA_READ, onlyRead));
    if (readWrite.length > 0) {
      this.role.addToPolicy(tableStatement(table, [...DATA_READ, ...DATA_WRITE], readWrite));
    }

    // S3 authorizes GetObject on the object ARN, `arn:<partition>:s3:::<bucket>/<key>`
    // (Service Authorization Reference, Amazon S3): a key pattern, not the bucket's grantRead.
    const { bucket, keyPrefix } = props.releaseObjects;
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${keyPrefix}*.zip`)],
      })
    );
    // KMS authorizes GetPublicKey on the key ARN, never on an alias ARN; the key's id is
    // random (another stack's, in another region), so the grant names every key of the
    // home region and picks the release key by its alias with `kms:ResourceAliases`
    // (Service Authorization Reference, AWS KMS; KMS Developer Guide, "Use aliases to
    // control access to KMS keys"). Sign is not granted: the key policy denies it anyway.
    const kmsKeys = Stack.of(this).formatArn({
      service: 'kms',
      region: props.releaseKey.region,
      resource: 'key',
      resourceName: '*',
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GetPublicKey'],
        resources: [kmsKeys],
        conditions: {
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [props.releaseKey.alias] },
        },
      })
    );
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${props.releaseKey.region}:${Stack.of(this).account}:key/*]`,
      reason: `Only the key aliased ${props.releaseKey.alias} (kms:ResourceAliases), only its public key: the release key lives in the home region's stack, whose key id this stack cannot reference.`,
    });
    const bucketName = Stack.of(this).resolve(bucket.bucketName);
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucketName}/${keyPrefix}*.zip]`,
      reason: `A host loads the bundles of whichever release its desired traffic names, staged by this or an earlier deploy: only release zips under ${keyPrefix}, read-only.`,
    });
  }
}

const unique = (values: readonly string[]): string[] => [...new Set(values)].sort();
