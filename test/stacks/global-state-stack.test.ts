import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { createTableInput } from '../../core/records/schema';
import { dev } from '../../lib/config/environments/dev';
import { loadEnvironment, parseEnvironment } from '../../lib/config/load';
import { GlobalStateStack } from '../../lib/stacks/global-state-stack';

function template(envName: string): Template {
  const environment = loadEnvironment({ env: envName });
  return Template.fromStack(new GlobalStateStack(new App(), 'GlobalState', { environment }));
}

describe('GlobalStateStack', () => {
  it('creates one global table with pk/sk string keys, streams and encryption at rest', () => {
    const t = template('prod');
    t.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'orbit-prod',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
  });

  it('has the key schema every local table is created with (one schema for store, tests, bench)', () => {
    const local = createTableInput('orbit-prod');
    template('prod').hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: local.KeySchema,
      AttributeDefinitions: local.AttributeDefinitions,
      BillingMode: local.BillingMode,
    });
  });

  // DynamoDB Developer Guide, "How DynamoDB global tables work": Time to Live and local
  // secondary indexes are not supported for MRSC global tables; nothing writes `expiresAt`.
  it.each(['dev', 'staging', 'prod'])(
    'uses neither Time to Live nor local secondary indexes in %s, so MRSC can create it',
    (envName) => {
      const table = Object.values(template(envName).findResources('AWS::DynamoDB::GlobalTable'))[0];
      expect(table?.Properties.TimeToLiveSpecification).toBeUndefined();
      expect(table?.Properties.LocalSecondaryIndexes).toBeUndefined();
    }
  );

  it('places a replica, with point-in-time recovery, in every data region and nowhere else', () => {
    const t = template('prod');
    const replicas = Object.values(t.findResources('AWS::DynamoDB::GlobalTable'))[0]?.Properties
      .Replicas;
    expect(replicas.map((r: { Region: string }) => r.Region).sort()).toEqual([
      'ap-northeast-1',
      'eu-west-1',
      'us-east-1',
    ]);
    for (const replica of replicas) {
      expect(replica).toMatchObject({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      });
    }
  });

  it('lives in the home region with an explicit account', () => {
    const environment = loadEnvironment({ env: 'prod' });
    const stack = new GlobalStateStack(new App(), 'GlobalState', { environment });
    expect(stack.region).toBe('us-east-1');
    expect(stack.account).toBe('333333333333');
    expect(stack.stackName).toBe('Orbit-prod-GlobalState');
  });

  it('keeps the table (retain, deletion protection) outside dev, and lets dev delete it', () => {
    template('prod').hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
    const devTable = template('dev');
    devTable.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
    devTable.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: Match.arrayWith([
        Match.objectLike({ Region: 'us-east-1', DeletionProtectionEnabled: false }),
      ]),
    });
  });

  it('uses multi-Region eventual consistency by default', () => {
    template('prod').hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      MultiRegionConsistency: 'EVENTUAL',
    });
  });

  it('uses multi-Region strong consistency when the environment asks for it', () => {
    template('staging').hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      MultiRegionConsistency: 'STRONG',
      Replicas: Match.arrayWith([
        Match.objectLike({ Region: 'us-east-2' }),
        Match.objectLike({ Region: 'us-west-2' }),
      ]),
    });
  });

  it('adds the witness region of a two-replica MRSC table', () => {
    const environment = parseEnvironment(
      {
        ...dev,
        allowedRegions: ['us-east-1', 'us-west-2', 'us-east-2'],
        locations: [
          { id: 'use1', kind: 'region', region: 'us-east-1' },
          { id: 'usw2', kind: 'region', region: 'us-west-2' },
        ],
        data: {
          regions: ['us-east-1', 'us-west-2'],
          consistency: 'strong',
          witnessRegion: 'us-east-2',
        },
        rollout: { waves: [{ name: 'all', locations: ['use1', 'usw2'] }] },
      },
      'witness'
    );
    Template.fromStack(
      new GlobalStateStack(new App(), 'GlobalState', { environment })
    ).hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      MultiRegionConsistency: 'STRONG',
      GlobalTableWitnesses: [{ Region: 'us-east-2' }],
    });
  });
});
