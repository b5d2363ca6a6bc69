import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { keys } from '../../functions/shared/keys';
import type { ReleaseFunction } from '../release/manifest';
import { DATA_READ, DATA_WRITE, PLATFORM_READ, tableStatement } from './orbit-function';

/** Props of a {@link SatelliteRole}. */
export interface SatelliteRoleProps {
  /** Who assumes the role: EC2 instances, or on-prem hosts. */
  readonly assumedBy: iam.IPrincipal;
  readonly locationId: string;
  /** ARN of the table in the data region. */
  readonly tableArn: string;
  /** The functions the runtime hosts: their declared table access is the runtime's too. */
  readonly functions: readonly ReleaseFunction[];
  /** The release's assets the runtime downloads. */
  readonly assets: readonly s3assets.Asset[];
}

/**
 * The least a satellite runtime needs: read its desired state, staged releases and drain
 * flags (its location's partition and the functions' drain records), write its heartbeat
 * (its location's partition only), read the release assets, and the table access the hosted
 * functions declare — all on the table in the location's data region.
 */
export class SatelliteRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SatelliteRoleProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: props.assumedBy,
      description: `Orbit satellite ${props.locationId}: its own records, the release assets, the functions' data`,
    });
    const table = { tableArn: props.tableArn };
    const own = keys.location(props.locationId).pk;
    const functionDrains = props.functions.map((f) => keys.functionDrain(f.name).pk);
    this.role.addToPolicy(
      tableStatement(table, [...PLATFORM_READ, 'dynamodb:Query'], [own, ...functionDrains])
    );
    this.role.addToPolicy(
      tableStatement(table, ['dynamodb:PutItem', 'dynamodb:UpdateItem'], [own])
    );
    for (const fn of props.functions) {
      if (!fn.table) continue;
      const actions = fn.table.access === 'read-write' ? [...DATA_READ, ...DATA_WRITE] : DATA_READ;
      this.role.addToPolicy(tableStatement(table, actions, fn.table.partitions));
    }
    // The exact objects, not the shared asset bucket: grantRead would allow every asset in it.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: props.assets.map((a) => a.bucket.arnForObjects(a.s3ObjectKey)),
      })
    );
  }
}
