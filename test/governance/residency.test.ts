import { App, Aspects, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { ResidencyChecker } from '../../lib/governance/residency';

// CloudFormation rejects a template without resources, so every test stack holds one.
function placeholder(stack: Stack): void {
  new CfnWaitConditionHandle(stack, 'Placeholder');
}

function stackIn(region: string, build?: (stack: Stack) => void): Stack {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region } });
  placeholder(stack);
  build?.(stack);
  Aspects.of(app).add(new ResidencyChecker(['us-east-1', 'eu-west-1']));
  app.synth();
  return stack;
}

const table =
  (replicas: string[], extra: Partial<dynamodb.TablePropsV2> = {}) =>
  (stack: Stack) =>
    new dynamodb.TableV2(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      replicas: replicas.map((region) => ({ region })),
      ...extra,
    });

describe('ResidencyChecker', () => {
  it('accepts stacks and replicas inside allowedRegions', () => {
    Annotations.fromStack(stackIn('us-east-1', table(['eu-west-1']))).hasNoError(
      '*',
      Match.anyValue()
    );
  });

  it('fails synth for a stack outside allowedRegions', () => {
    Annotations.fromStack(stackIn('ap-south-1')).hasError(
      '/Stack',
      Match.stringLikeRegexp(
        '\\[Orbit-Residency\\] stack Stack is in ap-south-1, outside allowedRegions \\(us-east-1, eu-west-1\\)'
      )
    );
  });

  it('fails synth for a table replica outside allowedRegions', () => {
    Annotations.fromStack(stackIn('us-east-1', table(['eu-west-1', 'us-west-2']))).hasError(
      '/Stack/Table/Resource',
      Match.stringLikeRegexp('a table replica is in us-west-2, outside allowedRegions')
    );
  });

  it('fails synth for a witness outside allowedRegions', () => {
    const mrsc = table(['us-east-2'], {
      multiRegionConsistency: dynamodb.MultiRegionConsistency.STRONG,
      witnessRegion: 'us-west-2',
    });
    Annotations.fromStack(stackIn('us-east-1', mrsc)).hasError(
      '/Stack/Table/Resource',
      Match.stringLikeRegexp('the table witness is in us-west-2')
    );
  });

  it('fails synth for a stack with no explicit region', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    placeholder(stack);
    Aspects.of(app).add(new ResidencyChecker(['us-east-1']));
    app.synth();
    Annotations.fromStack(stack).hasError(
      '/Agnostic',
      Match.stringLikeRegexp('has no explicit region')
    );
  });
});
