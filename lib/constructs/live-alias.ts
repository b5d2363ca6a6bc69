import { ArnFormat, type CustomResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { LIVE_ALIAS } from '../../core/names';

/** Props of a {@link LiveAlias}. */
export interface LiveAliasProps {
  /** The function the alias belongs to. */
  readonly function: lambda.IFunction;
  /** The version the alias points at when the location is deployed for the first time. */
  readonly firstVersion: lambda.IVersion;
}

/**
 * The alias that carries a location's traffic. Deploy is not release: CloudFormation creates
 * the alias once, on the first deploy of a location (when nothing has served yet), and never
 * updates it — later deploys only publish versions. From then on only the orchestrator moves
 * the alias, with UpdateAlias and weighted routing.
 *
 * A `lambda.Alias` would not do: CloudFormation would point it at each new version on every
 * deploy and so flip production traffic.
 */
export class LiveAlias extends Construct {
  /** The alias name (`live`). */
  readonly aliasName: string;
  /**
   * The alias ARN (`…:function:NAME:live`), built from the custom resource's `Ref`, so that
   * every resource that names the alias is created after it.
   */
  readonly aliasArn: string;
  /** The alias as a function to integrate with and grant on: its ARN is {@link aliasArn}. */
  readonly target: lambda.IFunction;
  /** The custom resource that creates the alias. */
  readonly resource: AwsCustomResource;

  constructor(scope: Construct, id: string, props: LiveAliasProps) {
    super(scope, id);
    this.aliasName = LIVE_ALIAS;

    this.resource = new AwsCustomResource(this, 'Resource', {
      resourceType: 'Custom::OrbitLiveAlias',
      installLatestAwsSdk: false,
      onCreate: {
        service: 'Lambda',
        action: 'createAlias',
        parameters: {
          FunctionName: props.function.functionName,
          Name: this.aliasName,
          FunctionVersion: props.firstVersion.version,
          Description: 'Orbit: traffic moves only through the orchestrator',
        },
        physicalResourceId: PhysicalResourceId.of(
          `${props.function.functionName}:${this.aliasName}`
        ),
        // An alias that already exists is serving: leave it exactly as it is.
        ignoreErrorCodesMatching: 'ResourceConflictException',
      },
      // No onUpdate and no onDelete, on purpose: see the class comment. The alias goes with its function.
      policy: AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['lambda:CreateAlias'],
          resources: [props.function.functionArn],
        }),
      ]),
    });

    // The custom resource's physical id is `NAME:live`: its Ref makes the alias ARN, and every
    // resource naming that ARN (the API's integrations, their invoke permissions) references
    // the custom resource, so CloudFormation creates it first (CloudFormation User Guide,
    // "DependsOn attribute"). A node dependency on an imported function would reach none of
    // them: they are created in other scopes.
    const physicalId = (this.resource.node.defaultChild as CustomResource).ref;
    this.aliasArn = Stack.of(this).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: physicalId,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.target = lambda.Function.fromFunctionAttributes(this, 'Target', {
      functionArn: this.aliasArn,
      sameEnvironment: true,
    });
  }
}

/**
 * Acknowledges, for cdk-nag, what the stack's shared AwsCustomResource provider (the Lambda
 * behind `LiveAlias` and `LocationRecords`) does differently from Orbit's own functions.
 */
export function suppressCustomResourceProvider(stack: Stack): void {
  const provider = stack.node.tryFindChild(
    `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`
  );
  if (!provider) return;
  Validations.of(provider).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'The deploy-time AwsCustomResource provider (creates the live alias once, writes the location records) logs through AWSLambdaBasicExecutionRole, as aws-cdk-lib builds it.',
    },
    {
      id: 'AwsSolutions-L1',
      reason:
        'The deploy-time AwsCustomResource provider runtime is chosen by aws-cdk-lib; Orbit functions use OrbitFunction.RUNTIME, the newest one.',
    }
  );
}
