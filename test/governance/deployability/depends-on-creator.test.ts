import { CfnOutput, Duration, Fn, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import type { RegionLocation } from '../../../core/environment/schema';
import { loadEnvironment } from '../../../lib/config/load';
import { LiveAlias } from '../../../lib/constructs/live-alias';
import { dependsOnCreator } from '../../../lib/governance/deployability/depends-on-creator';
import { RegionLocationStack } from '../../../lib/stacks/region-location-stack';
import { fakeRelease } from '../../support/release';
import { findingsOf, freshApp, stackIn } from './support';

// CloudFormation User Guide, "DependsOn attribute": only DependsOn, Ref, Fn::GetAtt and Fn::Sub
// order the creation of resources; anything else may be created in parallel.
const rules = [dependsOnCreator];

function fn(stack: Stack, name = 'orbit-test-health'): lambda.Function {
  return new lambda.Function(stack, 'Fn', {
    functionName: name,
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
  });
}

function route(stack: Stack, target: lambda.IFunction): void {
  const api = new apigw.HttpApi(stack, 'Api');
  api.addRoutes({
    path: '/health',
    methods: [apigw.HttpMethod.GET],
    integration: new HttpLambdaIntegration('Health', target),
  });
}

/** The live alias as it was before issue 10: the target named `${functionArn}:live`. */
function aliasBeforeTheFix(stack: Stack): void {
  const f = fn(stack);
  const resource = new AwsCustomResource(stack, 'LiveAlias', {
    resourceType: 'Custom::OrbitLiveAlias',
    installLatestAwsSdk: false,
    onCreate: {
      service: 'Lambda',
      action: 'createAlias',
      parameters: { FunctionName: f.functionName, Name: 'live', FunctionVersion: '1' },
      physicalResourceId: PhysicalResourceId.of(`${f.functionName}:live`),
    },
    policy: AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({ actions: ['lambda:CreateAlias'], resources: [f.functionArn] }),
    ]),
  });
  const target = lambda.Function.fromFunctionAttributes(stack, 'Target', {
    functionArn: `${f.functionArn}:live`,
    sameEnvironment: true,
  });
  // Reaches no resource: the integration and its permission are created under the API.
  target.node.addDependency(resource);
  route(stack, target);
}

describe('Orbit-DependsOnCreator', () => {
  it('fails the live alias as it was: the invoke permission and the integration name the alias before it exists (defect 2)', () => {
    const app = freshApp();
    aliasBeforeTheFix(stackIn(app, 'Location'));
    const findings = findingsOf(app, rules);
    expect(findings).toEqual([
      expect.stringMatching(
        /^\[Orbit-DependsOnCreator\] Location\/Api\/GET--health\/Health\/Resource names the alias `arn:aws:lambda:us-east-1:123456789012:function:orbit-test-health:live` \(Properties\/IntegrationUri\) but does not depend on Location\/LiveAlias\/Resource\/Default, which creates it: .*"DependsOn attribute".* Fix: Name the alias through the resource that creates it/
      ),
      expect.stringMatching(
        /^\[Orbit-DependsOnCreator\] Location\/Api\/GET--health\/Health-Permission names the alias `.*:function:orbit-test-health:live` \(Properties\/FunctionName\) but does not depend on Location\/LiveAlias/
      ),
    ]);
  });

  it('passes LiveAlias: its ARN is the custom resource Ref, so the permission and the integration are created after it', () => {
    const app = freshApp();
    const stack = stackIn(app, 'Location');
    const f = fn(stack);
    route(
      stack,
      new LiveAlias(stack, 'LiveAlias', { function: f, firstVersion: f.currentVersion }).target
    );
    expect(findingsOf(app, rules)).toEqual([]);
  });

  describe('a region location stack', () => {
    const environment = loadEnvironment({ env: 'prod' });
    const location = environment.locations.find((l) => l.id === 'us-east-1') as RegionLocation;
    const app = freshApp();
    const stack = new RegionLocationStack(app, 'Location', {
      environment,
      location,
      release: fakeRelease('A'),
    });
    const t = Template.fromStack(stack).toJSON();
    const aliases = Object.entries(t.Resources as Record<string, any>)
      .filter(([, r]) => r.Type === 'Custom::OrbitLiveAlias')
      .map(([id]) => id);
    const namesAlias = (r: any) => JSON.stringify(r.Properties).includes(':function:');

    it.each(['AWS::Lambda::Permission', 'AWS::ApiGatewayV2::Integration'])(
      'creates every %s that names an alias after the alias custom resource (a Ref to it)',
      (type) => {
        const consumers = Object.values(t.Resources as Record<string, any>).filter(
          (r) => r.Type === type && namesAlias(r)
        );
        expect(consumers.length).toBeGreaterThan(0);
        for (const consumer of consumers) {
          const refs = [...JSON.stringify(consumer.Properties).matchAll(/"Ref":"([^"]+)"/g)].map(
            (m) => m[1]
          );
          expect(refs.filter((ref) => aliases.includes(ref as string))).toHaveLength(1);
        }
      }
    );

    it('has no finding', () => {
      expect(findingsOf(app, rules)).toEqual([]);
    });
  });

  it('passes an alarm on the alias metric without a dependency: a dimension is a label', () => {
    const app = freshApp();
    const stack = stackIn(app, 'Location');
    const f = fn(stack);
    new LiveAlias(stack, 'LiveAlias', { function: f, firstVersion: f.currentVersion });
    new cloudwatch.Alarm(stack, 'Errors', {
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensionsMap: { FunctionName: 'orbit-test-health', Resource: 'orbit-test-health:live' },
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
    });
    expect(findingsOf(app, rules)).toEqual([]);
  });

  describe('a table replica named from another stack', () => {
    const build = (withDependency: boolean) => {
      const app = freshApp();
      const state = stackIn(app, 'State');
      new dynamodb.TableV2(state, 'Table', {
        tableName: 'orbit-test',
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        replicas: [{ region: 'eu-west-1' }],
      });
      const location = stackIn(app, 'Location', 'eu-west-1');
      const role = new iam.Role(location, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      });
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:GetItem'],
          resources: [
            location.formatArn({
              service: 'dynamodb',
              resource: 'table',
              resourceName: 'orbit-test',
            }),
          ],
        })
      );
      if (withDependency) location.addStackDependency(state);
      return app;
    };

    it('fails when the naming stack is not deployed after the table stack', () => {
      expect(findingsOf(build(false), rules)).toEqual([
        expect.stringMatching(
          /^\[Orbit-DependsOnCreator\] Location\/Role\/DefaultPolicy\/Resource names the table replica `arn:aws:dynamodb:eu-west-1:123456789012:table\/orbit-test` \(Properties\/PolicyDocument\/Statement\/0\/Resource\), which stack State creates, but stack Location is not deployed after it: .* Fix: Add `Location\.addStackDependency\(State\)`/
        ),
      ]);
    });

    it('passes with a stack dependency', () => {
      expect(findingsOf(build(true), rules)).toEqual([]);
    });
  });

  it('fails a resource that names the table by its literal name in the same stack, and passes its Ref', () => {
    const app = freshApp();
    const stack = stackIn(app, 'State');
    new dynamodb.TableV2(stack, 'Table', {
      tableName: 'orbit-test',
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    const f = fn(stack);
    f.addEnvironment('BY_NAME', 'orbit-test');
    expect(findingsOf(app, rules)).toEqual([
      expect.stringMatching(
        /^\[Orbit-DependsOnCreator\] State\/Fn\/Resource names the table replica `orbit-test` \(Properties\/Environment\/Variables\/BY_NAME\) but does not depend on State\/Table\/Resource/
      ),
    ]);

    const fixed = freshApp();
    const s2 = stackIn(fixed, 'State');
    const t2 = new dynamodb.TableV2(s2, 'Table', {
      tableName: 'orbit-test',
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    fn(s2).addEnvironment('BY_REF', t2.tableName);
    expect(findingsOf(fixed, rules)).toEqual([]);
  });

  it('fails a version imported by export name into a stack that is not deployed after it', () => {
    const build = (withDependency: boolean) => {
      const app = freshApp();
      const functions = stackIn(app, 'Functions');
      new CfnOutput(functions, 'Version', {
        value: fn(functions).currentVersion.functionArn,
        exportName: 'orbit-test-version',
      });
      const callers = stackIn(app, 'Callers');
      const role = new iam.Role(callers, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      });
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [Fn.importValue('orbit-test-version')],
        })
      );
      if (withDependency) callers.addStackDependency(functions);
      return app;
    };
    expect(findingsOf(build(false), rules)).toEqual([
      expect.stringMatching(
        /^\[Orbit-DependsOnCreator\] Callers\/Role\/DefaultPolicy\/Resource names the version `arn:aws:lambda:us-east-1:123456789012:function:orbit-test-health:«Functions\/FnCurrentVersion[0-9A-Za-z]+\.Version»` .* which stack Functions creates, but stack Callers is not deployed after it/
      ),
    ]);
    expect(findingsOf(build(true), rules)).toEqual([]);
  });
});
