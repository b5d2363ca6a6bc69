import { App, Aws, Fn, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { addOrbitEnvironment } from '../../../lib/app';
import { parseEnvironment } from '../../../lib/config/load';
import {
  checkFleet,
  deployabilityFindings,
  formatFinding,
} from '../../../lib/governance/deployability/checks';
import { Fleet } from '../../../lib/governance/deployability/fleet';
import { nameLength } from '../../../lib/governance/deployability/name-length';
import { fakeRelease } from '../../support/release';
import { findingsOf, freshApp, stackIn } from './support';

const rules = [nameLength];
const named = (n: number) => 'n'.repeat(n);

function fn(stack: Stack, functionName: string): lambda.Function {
  return new lambda.Function(stack, 'Fn', {
    functionName,
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({});'),
  });
}

const metric = new cloudwatch.Metric({ namespace: 'Orbit', metricName: 'Requests' });

// Each limit from the service's API reference or quotas page, named in NAME_LIMITS. Where an L2
// construct refuses a long name itself, the L1 resource writes it, as other code could.
const role = (s: Stack, props: Partial<iam.CfnRoleProps>) =>
  new iam.CfnRole(s, 'Role', { assumeRolePolicyDocument: { Statement: [] }, ...props });
const cases: [string, number, (stack: Stack, name: string) => void][] = [
  [
    'Lambda function name (CreateFunction)',
    64,
    (s, n) =>
      new lambda.CfnFunction(s, 'Fn', {
        functionName: n,
        role: 'arn:aws:iam::123456789012:role/orbit-test',
        code: { zipFile: 'exports.handler = async () => ({});' },
        runtime: 'nodejs24.x',
        handler: 'index.handler',
      }),
  ],
  [
    'CloudWatch alarm name (PutMetricAlarm)',
    255,
    (s, n) =>
      new cloudwatch.Alarm(s, 'Alarm', {
        alarmName: n,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
      }),
  ],
  ['IAM role name (IAM quotas)', 64, (s, n) => role(s, { roleName: n })],
  ['IAM role path (IAM quotas)', 512, (s, n) => role(s, { path: `/${n.slice(2)}/` })],
  [
    'log group name (CreateLogGroup)',
    512,
    (s, n) => new logs.LogGroup(s, 'Logs', { logGroupName: n }),
  ],
  ['HTTP API name (CreateApi)', 128, (s, n) => new apigw.HttpApi(s, 'Api', { apiName: n })],
  ['SQS queue name (CreateQueue)', 80, (s, n) => new sqs.Queue(s, 'Queue', { queueName: n })],
  [
    'EventBridge Scheduler schedule name (CreateSchedule)',
    64,
    (s, n) =>
      new scheduler.CfnSchedule(s, 'Schedule', {
        name: n,
        scheduleExpression: 'rate(1 minute)',
        flexibleTimeWindow: { mode: 'OFF' },
        target: { arn: 'arn:aws:sqs:us-east-1:123456789012:q', roleArn: 'arn:aws:iam::1:role/r' },
      }),
  ],
  [
    'DynamoDB table name (naming rules)',
    255,
    (s, n) =>
      new dynamodb.TableV2(s, 'Table', {
        tableName: n,
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      }),
  ],
];

describe('Orbit-NameLength', () => {
  it.each(cases)('passes a %s of exactly %i characters', (_what, max, build) => {
    const app = freshApp();
    build(stackIn(app, 'Stack'), named(max));
    expect(findingsOf(app, rules)).toEqual([]);
  });

  it.each(cases)('fails a %s one character over %i', (_what, max, build) => {
    const app = freshApp();
    build(stackIn(app, 'Stack'), named(max + 1));
    expect(findingsOf(app, rules)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^\\[Orbit-NameLength\\] Stack/.*: \\w+ \`[^\`]{${max + 1}}\` has ${max + 1} characters, over the ${max} allowed \\(.+\\)\\. Fix: Shorten the name`
        )
      ),
    ]);
  });

  it('fails a table name under the 3 characters DynamoDB requires', () => {
    const app = freshApp();
    new dynamodb.TableV2(stackIn(app, 'Stack'), 'Table', {
      tableName: 'ab',
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    expect(findingsOf(app, rules)).toEqual([
      expect.stringMatching(/TableName `ab` has 2 characters, under the 3 allowed/),
    ]);
  });

  it('fails a stack name over the 128 characters CloudFormation allows', () => {
    // CDK refuses such a stack name itself; the rule reads what a template says.
    const stackName = `S${named(128)}`;
    const fleet = new Fleet([
      {
        stackName,
        constructPath: 'Long',
        templatePath: 'Long.template.json',
        region: 'us-east-1',
        account: '123456789012',
        template: { Resources: {} },
        dependsOn: [],
      },
    ]);
    expect(checkFleet(fleet, rules).map(formatFinding)).toEqual([
      expect.stringMatching(
        /^\[Orbit-NameLength\] stack name `Sn{128}` has 129 characters, over the 128 allowed \(CloudFormation API Reference, CreateStack/
      ),
    ]);
  });

  it('counts what CDK puts in a generated name: the stack name a name is made of', () => {
    const app = freshApp();
    const stack = new Stack(app, 'Generated', {
      stackName: `Orbit-${named(60)}`,
      env: { account: '123456789012', region: 'us-east-1' },
    });
    fn(stack, Fn.join('-', [Aws.STACK_NAME, 'handler']));
    expect(findingsOf(app, rules)).toEqual([
      expect.stringMatching(/FunctionName `Orbit-n{60}-handler` has 74 characters, over the 64/),
    ]);
  });

  it('fails on the known part of a name the deployment completes', () => {
    const app = freshApp();
    const stack = stackIn(app, 'Stack');
    const queue = new sqs.Queue(stack, 'Queue');
    fn(stack, Fn.join('-', [named(70), queue.queueName]));
    expect(findingsOf(app, rules)).toEqual([
      expect.stringMatching(/FunctionName `n{70}-«Stack\/Queue\w+»` has at least 71 characters/),
    ]);
  });

  it('passes every name of a fleet built from the longest names the schema allows', () => {
    // Environment names: 12 characters; location ids: 24 (core/environment/schema.ts).
    const env = parseEnvironment(
      {
        name: named(12),
        account: '111111111111',
        homeRegion: 'us-east-1',
        allowedRegions: ['us-east-1'],
        locations: [
          { id: `r${named(23)}`, kind: 'region', region: 'us-east-1' },
          { id: `s${named(23)}`, kind: 'on-prem', parentRegion: 'us-east-1' },
        ],
        data: { regions: ['us-east-1'] },
        auth: { issuer: 'https://login.example.com/long', audience: ['long'] },
        rollout: { waves: [{ name: 'all', locations: [`r${named(23)}`, `s${named(23)}`] }] },
      },
      'longest'
    );
    const app = new App({ outdir: freshApp().outdir });
    addOrbitEnvironment(app, env, fakeRelease('L'), { nag: false, deployability: false });
    expect(deployabilityFindings(app, app.synth(), rules).map(formatFinding)).toEqual([]);
  });
});
