import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { AwsSolutionsChecks, type INagValidationContext } from 'cdk-nag';
import { OrbitSolutionsChecks } from '../../lib/governance/solutions-checks';

/** A stack with three AwsCustomResources (each adds a runtime to `Runtime.ALL`) and an out-of-date function. */
function appWithCustomResources(): App {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region: 'us-east-1' } });
  for (const id of ['One', 'Two', 'Three']) {
    new AwsCustomResource(stack, id, {
      installLatestAwsSdk: false,
      onCreate: {
        service: 'SSM',
        action: 'getParameter',
        parameters: { Name: id },
        physicalResourceId: PhysicalResourceId.of(id),
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({
        resources: AwsCustomResourcePolicy.ANY_RESOURCE,
      }),
    });
  }
  new lambda.Function(stack, 'Old', {
    runtime: lambda.Runtime.NODEJS_18_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  return app;
}

const runtimeKeys = () =>
  lambda.Runtime.ALL.map((r) => `${r.name}|${r.family}|${r.supportsInlineCode}`);

describe('OrbitSolutionsChecks', () => {
  it('reports exactly what AwsSolutionsChecks reports', () => {
    const app = appWithCustomResources();
    const expected = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    const context: INagValidationContext = {
      appConstruct: app,
      templatePaths: [],
      stackTemplates: [],
    };
    const report = new OrbitSolutionsChecks(undefined, { verbose: true }).validate(context);
    expect(report).toEqual(expected);
    // The out-of-date runtime is still found (AwsSolutions-L1).
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-L1');
  });

  it("drops the copies aws-cdk-lib adds to Lambda's runtime list, keeping one of each", () => {
    const app = appWithCustomResources();
    const before = runtimeKeys();
    expect(new Set(before).size).toBeLessThan(before.length);
    new OrbitSolutionsChecks().validate({
      appConstruct: app,
      templatePaths: [],
      stackTemplates: [],
    });
    expect(runtimeKeys()).toEqual([...new Set(before)]);
  });
});
