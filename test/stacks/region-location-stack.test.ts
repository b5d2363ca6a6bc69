import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { RegionLocation } from '../../core/environment/schema';
import { addOrbitEnvironment } from '../../lib/app';
import { loadEnvironment } from '../../lib/config/load';
import { RegionLocationStack } from '../../lib/stacks/region-location-stack';
import { sdkCall } from '../support/cfn';
import { fakeRelease } from '../support/release';

const release = fakeRelease('A');

function locationStack(
  envName: string,
  locationId: string
): { stack: RegionLocationStack; t: Template } {
  const environment = loadEnvironment({ env: envName });
  const location = environment.locations.find((l) => l.id === locationId) as RegionLocation;
  const stack = new RegionLocationStack(new App(), 'Location', { environment, location, release });
  return { stack, t: Template.fromStack(stack) };
}

describe('RegionLocationStack', () => {
  // us-west-2 holds no replica in prod: its data region is us-east-1.
  const { stack, t } = locationStack('prod', 'us-west-2');

  it('is named for the environment and location, in the location region with an explicit account', () => {
    expect(stack.stackName).toBe('Orbit-prod-Location-us-west-2');
    expect(stack.region).toBe('us-west-2');
    expect(stack.account).toBe('333333333333');
  });

  it('runs one Lambda function per release function on the newest Node.js runtime, arm64, traced', () => {
    t.resourceCountIs(
      'AWS::Lambda::Function',
      3 + 1 /* the deploy-time custom resource provider */
    );
    for (const name of ['health', 'echo', 'fallback']) {
      t.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `orbit-prod-${name}`,
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
      });
    }
  });

  it('tells every function its location, release, table and data region', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'orbit-prod-health',
      Environment: {
        Variables: {
          ORBIT_ENVIRONMENT: 'prod',
          ORBIT_LOCATION_ID: 'us-west-2',
          ORBIT_LOCATION_KIND: 'region',
          ORBIT_REGION: 'us-west-2',
          ORBIT_RELEASE_ID: release.manifest.releaseId,
          ORBIT_TABLE_NAME: 'orbit-prod',
          ORBIT_DATA_REGION: 'us-east-1',
          ORBIT_FUNCTION: 'health',
        },
      },
    });
  });

  it('keeps its logs in a log group with retention', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/lambda/orbit-prod-health',
      RetentionInDays: 30,
    });
  });

  describe('least-privilege table access', () => {
    /** The DynamoDB statements of one function's role. */
    const statementsOf = (fn: string) => {
      const roleId = Object.entries(t.findResources('AWS::IAM::Role')).find(([id]) =>
        id.startsWith(`Fn${fn}Role`)
      )?.[0];
      return Object.values(t.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((s: { Action: string | string[] }) =>
          [s.Action].flat().some((a) => a.startsWith('dynamodb:'))
        );
    };
    const tableArn = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':dynamodb:us-east-1:333333333333:table/orbit-prod'],
      ],
    };

    it('lets every function read only its location records and its own drain flag', () => {
      for (const fn of ['health', 'echo', 'fallback']) {
        expect(statementsOf(fn)).toContainEqual({
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
          Resource: tableArn,
          Condition: {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': ['LOCATION#us-west-2', `FUNCTION#${fn}`],
            },
          },
        });
      }
    });

    it('lets a function read and write only the partitions it declares, in the data region', () => {
      expect(statementsOf('echo')).toContainEqual(
        expect.objectContaining({
          Action: expect.arrayContaining(['dynamodb:Query', 'dynamodb:UpdateItem']),
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ECHO'] } },
        })
      );
      expect(statementsOf('health')).toHaveLength(1);
      const all = JSON.stringify(t.findResources('AWS::IAM::Policy'));
      expect(all).not.toContain('dynamodb:us-west-2');
      expect(all).not.toContain('dynamodb:Scan');
    });
  });

  it('publishes a version per deploy and retains old ones, since the alias may still route to them', () => {
    t.resourceCountIs('AWS::Lambda::Version', 3);
    t.hasResource('AWS::Lambda::Version', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('creates the live alias once, through a custom resource with no update action', () => {
    t.resourceCountIs('AWS::Lambda::Alias', 0);
    const aliases = t.findResources('Custom::OrbitLiveAlias');
    expect(Object.keys(aliases)).toHaveLength(3);
    for (const alias of Object.values(aliases)) {
      expect(sdkCall(alias.Properties.Create)).toMatchObject({
        service: 'Lambda',
        action: 'createAlias',
        parameters: {
          Name: 'live',
          FunctionName: expect.stringMatching(/^\{Ref:Fn(health|echo|fallback)Function/),
          FunctionVersion: expect.stringMatching(
            /^\{GetAtt:Fn(health|echo|fallback)FunctionCurrentVersion.*\.Version\}$/
          ),
        },
        ignoreErrorCodesMatching: 'ResourceConflictException',
      });
      expect(alias.Properties.Update).toBeUndefined();
      expect(alias.Properties.Delete).toBeUndefined();
    }
  });

  it('serves every declared route on a regional HTTP API with its declared auth', () => {
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /health',
      AuthorizationType: 'NONE',
    });
    for (const routeKey of ['POST /echo', 'GET /echo/{word}']) {
      t.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: Match.stringLikeRegexp('^ApiJwt') },
      });
    }
    t.resourceCountIs('AWS::ApiGatewayV2::Route', 4);
  });

  it("verifies tokens with a JWT authorizer for the environment's issuer and audience", () => {
    t.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Issuer: 'https://login.example.com/orbit-prod',
        Audience: ['orbit-prod'],
      },
    });
  });

  it('sends every unmatched request to the fallback function through $default', () => {
    const route = Object.values(t.findResources('AWS::ApiGatewayV2::Route')).find(
      (r) => r.Properties.RouteKey === '$default'
    );
    expect(route?.Properties.AuthorizationType).toBe('NONE');
    const integrationId = route?.Properties.Target['Fn::Join'][1][1].Ref;
    const integration = t.findResources('AWS::ApiGatewayV2::Integration')[integrationId];
    expect(JSON.stringify(integration?.Properties.IntegrationUri)).toContain('Fnfallback');
  });

  it('targets the live aliases with payload 2.0', () => {
    const integrations = Object.values(t.findResources('AWS::ApiGatewayV2::Integration'));
    expect(integrations).toHaveLength(3);
    for (const integration of integrations) {
      // The alias ARN is built from the alias custom resource's Ref (its physical id is
      // `<function>:live`), so CloudFormation creates the alias first.
      expect(JSON.stringify(integration.Properties.IntegrationUri)).toMatch(
        /:function:",\{"Ref":"Fn(health|echo|fallback)LiveAlias[0-9A-F]+"\}\]\]\}$/
      );
      expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
    }
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: {
        'Fn::Join': [
          '',
          Match.arrayWith([{ Ref: Match.stringLikeRegexp('^Fn(health|echo|fallback)LiveAlias') }]),
        ],
      },
    });
  });

  it('configures CORS on the API and tells the functions, when the environment asks for it', () => {
    const environment = loadEnvironment({ env: 'dev' });
    const withCors = {
      ...environment,
      api: {
        ...environment.api,
        cors: {
          allowOrigins: ['https://app.example.com'],
          allowHeaders: ['authorization'],
          exposeHeaders: ['etag'],
          maxAgeSeconds: 300,
        },
      },
    };
    const location = withCors.locations[0] as RegionLocation;
    const cors = Template.fromStack(
      new RegionLocationStack(new App(), 'Cors', { environment: withCors, location, release })
    );
    cors.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: ['https://app.example.com'],
        AllowHeaders: ['authorization'],
        ExposeHeaders: ['etag'],
        AllowMethods: ['*'],
        MaxAge: 300,
      },
    });
    cors.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ ORBIT_CORS: JSON.stringify(withCors.api.cors) }),
      },
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });

  it('throttles the API and writes JSON access logs', () => {
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 5000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
      },
    });
  });

  // The alarms watch what the handlers publish (test/constructs/gate-alarms.test.ts derives
  // it from a real handler's EMF output): 500 answers, not only crashes.
  it('alarms on the error rate and p99 latency each function publishes for this release, named for the rollout gates', () => {
    t.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    // In the order CDK writes them (by name).
    const dimensions = [
      { Name: 'function', Value: 'health' },
      { Name: 'location', Value: 'us-west-2' },
      { Name: 'release', Value: release.manifest.releaseId },
      { Name: 'service', Value: 'orbit' },
    ];
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `orbit-prod-us-west-2-${release.manifest.releaseId}-health-error-rate`,
      Threshold: 0.5,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({
          Id: 'errors',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              Namespace: 'Orbit',
              MetricName: 'Errors5xx',
              Dimensions: Match.arrayWith(dimensions.map((d) => Match.objectLike(d))),
            }),
          }),
        }),
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              Namespace: 'AWS/Lambda',
              MetricName: 'Errors',
              Dimensions: Match.arrayWith([
                { Name: 'ExecutedVersion', Value: Match.anyValue() },
                { Name: 'Resource', Value: 'orbit-prod-health:live' },
              ]),
            }),
          }),
        }),
      ]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `orbit-prod-us-west-2-${release.manifest.releaseId}-health-p99-latency`,
      Namespace: 'Orbit',
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: 1000,
    });
  });

  // Deploy is not release: what the first deploy serves is recorded once (like the alias
  // created at the first version), so that rollouts know the location's stable release.
  it("records the first deploy's release as what the location serves, once and conditionally", () => {
    const [first, ...more] = Object.values(t.findResources('Custom::OrbitFirstRelease'));
    expect(more).toHaveLength(0);
    expect(sdkCall(first?.Properties.Create)).toMatchObject({
      service: 'DynamoDB',
      action: 'putItem',
      region: 'us-east-1',
      parameters: {
        TableName: 'orbit-prod',
        Item: {
          pk: { S: 'LOCATION#us-west-2' },
          sk: { S: 'DESIRED' },
          stable: { S: release.manifest.releaseId },
          weight: { N: '0' },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      ignoreErrorCodesMatching: 'ConditionalCheckFailedException',
    });
    expect(first?.Properties.Update).toBeUndefined();
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'dynamodb:PutItem',
            Condition: {
              'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['LOCATION#us-west-2'] },
            },
          }),
        ],
      },
    });
  });

  // CloudFormation deletes a resource a new template drops unless its DeletionPolicy is
  // Retain (CloudFormation user guide, "DeletionPolicy attribute"): a release that removes a
  // function would delete it while the stable release still routes to it.
  it('keeps every function, its role, logs and routes when a later release drops it', () => {
    for (const type of [
      'AWS::Lambda::Function',
      'AWS::IAM::Role',
      'AWS::Logs::LogGroup',
      'AWS::Lambda::Permission',
      'AWS::ApiGatewayV2::Route',
      'AWS::ApiGatewayV2::Integration',
      'Custom::OrbitLiveAlias',
    ]) {
      const all = Object.entries(t.findResources(type)).filter(
        ([id]) => !id.startsWith('AWS679f53fac002430cb0da5b7982bd2287')
      );
      expect(all.length).toBeGreaterThan(0);
      for (const [id, resource] of all) {
        expect({ id, policy: resource.DeletionPolicy }).toEqual({ id, policy: 'Retain' });
      }
    }
  });

  it('retains nothing in the disposable dev environment, so that cdk destroy cleans up', () => {
    const dev = locationStack('dev', 'us-east-1').t;
    for (const fn of Object.values(dev.findResources('AWS::Lambda::Function'))) {
      expect(fn.DeletionPolicy).toBeUndefined();
    }
  });

  it('registers the location and records the staged release in the data-region table, writing only its own keys', () => {
    const registration = Object.values(t.findResources('Custom::OrbitLocationRegistration'))[0];
    const staged = Object.values(t.findResources('Custom::OrbitStagedRelease'))[0];
    expect(sdkCall(registration?.Properties.Update)).toMatchObject({
      service: 'DynamoDB',
      action: 'updateItem',
      region: 'us-east-1',
      parameters: {
        TableName: 'orbit-prod',
        Key: { pk: { S: 'LOCATION#us-west-2' }, sk: { S: 'LOCATION' } },
        ExpressionAttributeNames: expect.objectContaining({ '#a5': 'apiUrl' }),
      },
    });
    expect(sdkCall(staged?.Properties.Update)).toMatchObject({
      region: 'us-east-1',
      parameters: {
        TableName: 'orbit-prod',
        Key: {
          pk: { S: 'LOCATION#us-west-2' },
          sk: { S: `RELEASE#${release.manifest.releaseId}` },
        },
        ExpressionAttributeValues: expect.objectContaining({
          ':v3': {
            M: {
              health: {
                M: {
                  functionName: { S: '{Ref:FnhealthFunctionBBD80671}' },
                  version: {
                    S: expect.stringMatching(
                      /^\{GetAtt:FnhealthFunctionCurrentVersion.*\.Version\}$/
                    ),
                  },
                },
              },
              echo: expect.anything(),
              fallback: expect.anything(),
            },
          },
        }),
      },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'dynamodb:UpdateItem',
            Condition: {
              'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['LOCATION#us-west-2'] },
            },
          }),
        ]),
      },
    });
  });

  it('uses its own region as data region when it holds a replica', () => {
    locationStack('prod', 'eu-west-1').t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'orbit-prod-health',
      Environment: { Variables: Match.objectLike({ ORBIT_DATA_REGION: 'eu-west-1' }) },
    });
  });

  it('references the table by name, never through cross-region exports', () => {
    const json = JSON.stringify(t.toJSON());
    expect(json).not.toContain('Fn::ImportValue');
    expect(json).not.toContain('ExportsReader');
  });

  it('fails synth for a public route the environment does not allow, naming the fix', () => {
    const environment = loadEnvironment({ env: 'dev' });
    const strict = { ...environment, api: { ...environment.api, publicRoutes: [] } };
    expect(() => addOrbitEnvironment(new App(), strict, release)).toThrow(
      "api.publicRoutes: functions/api/health declares 'GET /health' public (auth: 'none'), which environment 'dev' does not allow; declare it auth: 'jwt' in functions/api/health/function.ts, or add it to api.publicRoutes."
    );
  });
});
