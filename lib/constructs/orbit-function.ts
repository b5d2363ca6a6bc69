import { AssetHashType, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { functionDir, type Release, type ReleaseFunction } from '../../core/manifest';
import { platformPartitions } from '../../core/records/keys';

/** What every function may do with its platform records: read its drain flags and location. */
export const PLATFORM_READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem'];
export const DATA_READ = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
];
export const DATA_WRITE = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** A statement on `table` limited to items whose partition key matches `partitions`. */
export function tableStatement(
  table: Pick<ITableV2, 'tableArn'>,
  actions: readonly string[],
  partitions: readonly string[]
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: [...actions],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] } },
  });
}

/** Props of an {@link OrbitFunction}. */
export interface OrbitFunctionProps {
  /** The release whose bundle this function runs. */
  readonly release: Release;
  /** The function, as the release manifest describes it. */
  readonly fn: ReleaseFunction;
  /** The Lambda function name; stable, so the orchestrator and gates can find it. */
  readonly functionName: string;
  /** Environment variables (location context and the like). */
  readonly environment: Readonly<Record<string, string>>;
  /** The global table in this location's data region; granted as the declaration asks. */
  readonly table: ITableV2;
  /** The location the function serves, whose records (and drain flag) it may read. */
  readonly locationId: string;
  /**
   * The directory holding the bundle.
   * @default - the function's directory in the release
   */
  readonly codeDir?: string;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * One Orbit function at one location, with the platform's defaults in one place:
 * the newest Node.js runtime in aws-cdk-lib, arm64, a JSON-format log group with retention,
 * active X-Ray tracing, a role that can write only its own logs, read its location's and
 * its own drain records, and reach the table partitions its declaration names; and the
 * release bundle as its code asset, so the same function has the same asset hash in every
 * location.
 *
 * Each deploy publishes a version (`version`) and keeps the old ones (retained), because
 * the `live` alias may still route traffic to them until the orchestrator moves it.
 */
export class OrbitFunction extends Construct {
  /** The Lambda runtime of every Orbit function. */
  static readonly RUNTIME = lambda.Runtime.NODEJS_24_X;

  readonly function: lambda.Function;
  /** The version published for this deploy's release. */
  readonly version: lambda.IVersion;

  constructor(scope: Construct, id: string, props: OrbitFunctionProps) {
    super(scope, id);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Orbit function ${props.functionName}: its own logs and the table access it declares`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${logGroup.logGroupArn}`],
      })
    );
    // TableV2's grant methods cannot add conditions; these statements name the same table
    // and add `dynamodb:LeadingKeys`, so a function reaches only the partitions it needs.
    role.addToPolicy(
      tableStatement(
        props.table,
        PLATFORM_READ,
        platformPartitions(props.locationId, props.fn.name)
      )
    );
    const data = props.fn.table;
    if (data) {
      const actions = data.access === 'read-write' ? [...DATA_READ, ...DATA_WRITE] : DATA_READ;
      role.addToPolicy(tableStatement(props.table, actions, data.partitions));
    }

    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      description: `Orbit ${props.fn.name} (${props.release.manifest.releaseId})`,
      runtime: OrbitFunction.RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      // The bundle's own sha256 is its asset hash: the same in every stack without hashing
      // the directory again for each of them.
      code: lambda.Code.fromAsset(props.codeDir ?? functionDir(props.release, props.fn), {
        assetHash: props.fn.sha256,
        assetHashType: AssetHashType.CUSTOM,
      }),
      memorySize: props.fn.memoryMb,
      timeout: Duration.seconds(props.fn.timeoutSeconds),
      environment: { ...props.environment },
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });
    this.version = this.function.currentVersion;

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `X-Ray's PutTraceSegments and PutTelemetryRecords, which active tracing of ${props.functionName} needs, have no resource-level permissions.`,
    });
  }
}
