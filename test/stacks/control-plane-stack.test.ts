import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadEnvironment } from '../../lib/config/load';
import { ControlPlaneStack } from '../../lib/stacks/control-plane-stack';
import { sdkCall } from '../support/cfn';
import { fakeRelease } from '../support/release';

describe('ControlPlaneStack', () => {
  const environment = loadEnvironment({ env: 'prod' });
  const stack = new ControlPlaneStack(new App(), 'ControlPlane', {
    environment,
    release: fakeRelease('A'),
  });
  const t = Template.fromStack(stack);

  it('lives in the home region with an explicit account', () => {
    expect(stack.stackName).toBe('Orbit-prod-ControlPlane');
    expect(stack.region).toBe(environment.homeRegion);
    expect(stack.account).toBe(environment.account);
  });

  // KMS Developer Guide, "Asymmetric keys" (ECC_NIST_P256 signs with ECDSA_SHA_256) and
  // "Key policies": a Deny in the key policy wins over any IAM Allow.
  it('creates the release key: ECC_NIST_P256, SIGN_VERIFY, under its alias, kept outside dev', () => {
    t.hasResource('AWS::KMS::Key', {
      Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/orbit-prod-release' });
  });

  it('lets only the release signer role sign with the release key', () => {
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:Sign',
            Condition: {
              ArnNotEquals: {
                'aws:PrincipalArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      `:iam::${environment.account}:role/orbit-prod-release-signer`,
                    ],
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'orbit-prod-release-signer',
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
    });
  });

  it('runs the orchestrator from the release', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'orbit-prod-orchestrator',
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Environment: { Variables: { ORBIT_TABLE_NAME: 'orbit-prod' } },
    });
  });

  // Lambda keeps 100 unreserved concurrent executions per account (Lambda developer guide,
  // "Configuring reserved concurrency"): reserving any fails in an account whose limit is
  // 10 (new accounts) and is not needed, since overlapping passes are fenced.
  it('reserves no concurrency, so that it deploys into accounts with the default limit', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'orbit-prod-orchestrator',
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('schedules a reconcile every minute and governance on the environment interval, with a dead-letter queue', () => {
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({
        Input: '{"job":"reconcile"}',
        DeadLetterConfig: Match.anyValue(),
      }),
    });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      Target: Match.objectLike({ Input: '{"job":"governance"}' }),
    });
    t.resourceCountIs('AWS::SQS::Queue', 1);
  });

  it('alarms on orchestrator errors and on dead letters', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'orbit-prod-orchestrator-errors',
      MetricName: 'Errors',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'orbit-prod-orchestrator-dead-letters',
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
  });

  // Lambda authorizes UpdateAlias/GetAlias on the unqualified function ARN (Service
  // Authorization Reference, AWS Lambda); test/iam/ simulates the calls themselves.
  it('may read and update aliases only of the fleet functions, in the fleet regions', () => {
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement
    );
    const alias = statements.find((s: { Action: unknown }) =>
      JSON.stringify(s.Action).includes('lambda:UpdateAlias')
    );
    const regions = [
      ...new Set(environment.locations.flatMap((l) => (l.kind === 'region' ? [l.region] : []))),
    ];
    expect(alias.Resource).toHaveLength(regions.length);
    for (const resource of alias.Resource) {
      expect(JSON.stringify(resource)).toMatch(
        /:lambda:[a-z0-9-]+:333333333333:function:orbit-prod-\*"\]/
      );
    }
    const dynamo = statements.filter((s: { Action: unknown }) =>
      JSON.stringify(s.Action).includes('dynamodb:')
    );
    for (const s of dynamo) expect(s.Condition).toBeDefined();
  });

  // Invoke with a Qualifier is authorized on the qualified ARN (Lambda API Reference, Invoke):
  // smoke checks need the versions, never $LATEST; test/iam/ simulates both.
  it('may invoke only versions of the fleet functions (smoke checks), in the fleet regions', () => {
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement
    );
    // The schedules' role may invoke the orchestrator itself; the orchestrator's, the fleet.
    const invoke = statements.filter(
      (s: { Action: unknown; Resource: unknown }) =>
        JSON.stringify(s.Action).includes('lambda:InvokeFunction') &&
        JSON.stringify(s.Resource).includes(':function:orbit-prod-')
    );
    expect(invoke).toHaveLength(1);
    const regions = new Set(
      environment.locations.flatMap((l) => (l.kind === 'region' ? [l.region] : []))
    );
    expect(invoke[0].Resource).toHaveLength(regions.size);
    for (const resource of invoke[0].Resource) {
      expect(JSON.stringify(resource)).toMatch(
        /:lambda:[a-z0-9-]+:333333333333:function:orbit-prod-\*:\*"\]/
      );
    }
  });

  it('records the environment definition the orchestrator reads', () => {
    const definition = Object.values(t.findResources('Custom::OrbitEnvironmentDefinition'))[0];
    const call = sdkCall(definition?.Properties.Update);
    expect(call).toMatchObject({ service: 'DynamoDB', action: 'putItem' });
    expect(JSON.parse(call?.parameters.Item.definition.S)).toMatchObject({
      name: 'prod',
      homeRegion: environment.homeRegion,
    });
  });
});
