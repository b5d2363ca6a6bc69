import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { stackNames, tableNameOf } from '../config/fleet';
import type { Environment } from '../config/schema';

/** Props of the {@link GlobalStateStack}. */
export interface GlobalStateStackProps extends StackProps {
  readonly environment: Environment;
}

/** The attribute DynamoDB reads to expire items (heartbeats, findings, idempotency records). */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The one global table of an environment, in the home region with a replica in every data
 * region: items, and the control state (locations, staged releases, desired traffic,
 * heartbeats, rollouts, findings, audit). Multi-Region eventual consistency by default,
 * strong (MRSC) when the environment asks for it.
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
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: !disposable,
      removalPolicy: disposable ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      timeToLiveAttribute: TTL_ATTRIBUTE,
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
