import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { Environment } from '../../core/environment/schema';
import { stackNames, tableNameOf } from '../../core/names';
import { TABLE_KEYS } from '../../core/records/schema';

/** Props of the {@link GlobalStateStack}. */
export interface GlobalStateStackProps extends StackProps {
  readonly environment: Environment;
}

/**
 * The one global table of an environment, in the home region with a replica in every data
 * region: items, and the control state (locations, staged releases, desired traffic,
 * heartbeats, rollouts, findings, audit). Multi-Region eventual consistency by default,
 * strong (MRSC) when the environment asks for it.
 *
 * The table uses only what both modes support (DynamoDB Developer Guide, "How DynamoDB global
 * tables work": MRSC supports neither Time to Live nor local secondary indexes), so an item
 * behaves the same in every environment:
 * - no Time to Live: no Orbit record carries an expiry attribute;
 * - no local secondary index; point-in-time recovery on every replica;
 * - a stream (NEW_AND_OLD_IMAGES): an eventual (MREC) table with replicas must declare it
 *   (CloudFormation, `AWS::DynamoDB::GlobalTable` StreamSpecification) and replicates through
 *   it; MRSC supports one and does not need it, and TableV2 enables it on any table with
 *   replicas.
 */
export class GlobalStateStack extends Stack {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: GlobalStateStackProps) {
    const env = props.environment;
    super(scope, id, {
      stackName: stackNames.globalState(env),
      description: `Orbit ${env.name}: the global table (primary in ${env.homeRegion})`,
      ...props,
      env: { account: env.account, region: env.homeRegion },
    });
    const disposable = env.name === 'dev';

    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: tableNameOf(env),
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: !disposable,
      removalPolicy: disposable ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      multiRegionConsistency:
        env.data.consistency === 'strong'
          ? dynamodb.MultiRegionConsistency.STRONG
          : dynamodb.MultiRegionConsistency.EVENTUAL,
      witnessRegion: env.data.witnessRegion,
      replicas: env.data.regions
        .filter((region) => region !== env.homeRegion)
        .map((region) => ({
          region,
          pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        })),
    });
  }
}
