import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { loadEnvironment } from '../../../lib/config/load';
import { mrscFeatures } from '../../../lib/governance/deployability/mrsc-features';
import { GlobalStateStack } from '../../../lib/stacks/global-state-stack';
import { findingsOf, freshApp, stackIn } from './support';

// DynamoDB Developer Guide, "How DynamoDB global tables work", multi-Region strong consistency:
// TTL and LSIs are not supported; exactly three Regions (three replicas, or two and a witness)
// from one Region set; the transaction APIs return an error.
const rules = [mrscFeatures];
const keys = {
  partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
};

/** An L1 global table, to write what TableV2's own validation would refuse. */
function cfnTable(stack: Stack, props: Partial<dynamodb.CfnGlobalTableProps>): void {
  new dynamodb.CfnGlobalTable(stack, 'Table', {
    tableName: 'orbit-test',
    attributeDefinitions: [
      { attributeName: 'pk', attributeType: 'S' },
      { attributeName: 'sk', attributeType: 'S' },
      { attributeName: 'at', attributeType: 'S' },
    ],
    keySchema: [
      { attributeName: 'pk', keyType: 'HASH' },
      { attributeName: 'sk', keyType: 'RANGE' },
    ],
    billingMode: 'PAY_PER_REQUEST',
    multiRegionConsistency: 'STRONG',
    replicas: [{ region: 'us-east-1' }, { region: 'us-east-2' }, { region: 'us-west-2' }],
    ...props,
  });
}

describe('Orbit-MrscFeatures', () => {
  it('fails the staging table as it was: MRSC with Time to Live (defect 3)', () => {
    const app = freshApp();
    new dynamodb.TableV2(stackIn(app, 'State'), 'Table', {
      ...keys,
      tableName: 'orbit-staging',
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: 'expiresAt',
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      multiRegionConsistency: dynamodb.MultiRegionConsistency.STRONG,
      replicas: [{ region: 'us-east-2' }, { region: 'us-west-2' }],
    });
    expect(findingsOf(app, rules)).toEqual([
      expect.stringMatching(
        /^\[Orbit-MrscFeatures\] State\/Table\/Resource: Time to Live is enabled, and TTL is not supported for MRSC global tables: CloudFormation cannot create the table \(DynamoDB Developer Guide, .*\)\. Fix: Remove timeToLiveAttribute/
      ),
    ]);
  });

  it.each(['dev', 'staging', 'prod'])('passes the global state of %s', (envName) => {
    const app = freshApp();
    new GlobalStateStack(app, 'State', { environment: loadEnvironment({ env: envName }) });
    expect(findingsOf(app, rules)).toEqual([]);
  });

  it('passes an MRSC table of two replicas and a witness in one Region set', () => {
    const app = freshApp();
    cfnTable(stackIn(app, 'State'), {
      replicas: [{ region: 'us-east-1' }, { region: 'us-west-2' }],
      globalTableWitnesses: [{ region: 'us-east-2' }],
    });
    expect(findingsOf(app, rules)).toEqual([]);
  });

  it.each([
    [
      'a local secondary index',
      {
        localSecondaryIndexes: [
          {
            indexName: 'byTime',
            keySchema: [
              { attributeName: 'pk', keyType: 'HASH' },
              { attributeName: 'at', keyType: 'RANGE' },
            ],
            projection: { projectionType: 'KEYS_ONLY' },
          },
        ],
      },
      /local secondary index\(es\), and LSIs are not supported for MRSC global tables/,
    ],
    [
      'two replicas and no witness',
      { replicas: [{ region: 'us-east-1' }, { region: 'us-east-2' }] },
      /deployed in exactly three Regions, three replicas or two replicas and a witness; this one has 2 replica\(s\) \(us-east-1, us-east-2\) and 0 witness\(es\)/,
    ],
    [
      'Regions from two Region sets',
      { replicas: [{ region: 'us-east-1' }, { region: 'us-east-2' }, { region: 'eu-west-1' }] },
      /its Regions \(us-east-1, us-east-2, eu-west-1\) span more than one MRSC Region set/,
    ],
  ])('fails an MRSC table with %s', (_what, props, message) => {
    const app = freshApp();
    cfnTable(stackIn(app, 'State'), props);
    expect(findingsOf(app, rules)).toEqual([expect.stringMatching(message)]);
  });

  it('fails a witness on an eventual table', () => {
    const app = freshApp();
    cfnTable(stackIn(app, 'State'), {
      multiRegionConsistency: 'EVENTUAL',
      globalTableWitnesses: [{ region: 'us-east-2' }],
    });
    expect(findingsOf(app, rules)).toEqual([
      expect.stringMatching(/a witness Region \(us-east-2\) exists only for a multi-Region strong/),
    ]);
  });

  it('finds no call of the transaction APIs, which MRSC tables reject', () => {
    const root = path.join(__dirname, '..', '..', '..');
    const sources = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const file = path.join(dir, name);
        if (statSync(file).isDirectory()) return sources(file);
        return /\.ts$/.test(name) ? [file] : [];
      });
    const callers = ['functions', 'lib'].flatMap((dir) =>
      sources(path.join(root, dir)).filter((file) =>
        /Transact(Write|Get)Items|ExecuteTransaction|transactWrite|transactGet/.test(
          readFileSync(file, 'utf8')
        )
      )
    );
    expect(callers).toEqual([]);
  });
});
