import * as path from 'node:path';
import {
  ArnFormat,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { regionLocations, satelliteLocations } from '../../core/environment/fleet';
import type { Environment } from '../../core/environment/schema';
import type { Release } from '../../core/manifest';
import {
  fleetFunctionPrefix,
  orchestratorAlarmNameOf,
  orchestratorNameOf,
  releaseKeyAliasOf,
  releaseSignerNameOf,
  releaseSignerRoleNameOf,
  stackNames,
  tableNameOf,
} from '../../core/names';
import { definitionPut } from '../../core/records/environment-definition';
import { keys, PLATFORM_PARTITIONS } from '../../core/records/keys';
import { lowLevelPut } from '../../core/records/table';
import { suppressCustomResourceProvider } from '../constructs/live-alias';
import { OrbitFunction } from '../constructs/orbit-function';
import { RolloutNotifications } from '../constructs/rollout-notifications';

/** Props of a {@link ControlPlaneStack}. */
export interface ControlPlaneStackProps extends StackProps {
  readonly environment: Environment;
  readonly release: Release;
}

/**
 * The control plane in the home region: the orchestrator function, EventBridge Scheduler
 * schedules (reconcile every minute, governance on the environment's interval), a dead-letter
 * queue for invocations that fail, alarms on both, the environment definition the
 * orchestrator reads, and least-privilege IAM: alias updates only on the fleet's functions
 * in the fleet's regions, read-only CloudWatch, the table's control partitions. Rollout
 * events go to the default event bus, and on to `rollout.notifications.topicArn` when set.
 */
export class ControlPlaneStack extends Stack {
  readonly orchestrator: lambda.Function;
  readonly deadLetterQueue: sqs.Queue;
  /** The environment's release key: ECC_NIST_P256, sign and verify. */
  readonly releaseKey: kms.Key;
  /** The one role the release key lets sign (deploy-time signers in every region). */
  readonly releaseSigner: iam.Role;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    const { environment: env, release } = props;
    super(scope, id, {
      stackName: stackNames.controlPlane(env),
      description: `Orbit ${env.name}: control plane (orchestrator, schedules)`,
      ...props,
      env: { account: env.account, region: env.homeRegion },
    });
    const tableName = tableNameOf(env);
    const tableArn = this.formatArn({
      service: 'dynamodb',
      resource: 'table',
      resourceName: tableName,
    });

    const fn = new OrbitFunction(this, 'Orchestrator', {
      release,
      fn: {
        name: 'orchestrator',
        file: release.manifest.orchestrator.file,
        sha256: release.manifest.orchestrator.sha256,
        bytes: release.manifest.orchestrator.bytes,
        routes: [],
        fallback: false,
        table: { access: 'read-write', partitions: [...PLATFORM_PARTITIONS] },
        maxBodyBytes: 0,
        memoryMb: 512,
        timeoutSeconds: 60,
      },
      functionName: orchestratorNameOf(env),
      environment: { ORBIT_TABLE_NAME: tableName },
      table: dynamodb.TableV2.fromTableAttributes(this, 'Table', { tableArn }),
      locationId: 'control-plane',
      codeDir: path.join(release.dir, path.dirname(release.manifest.orchestrator.file)),
    });
    // No reserved concurrency: reserving even 1 fails in accounts whose unreserved
    // concurrency would drop below 100 (new accounts have 10), and the reconciler fences
    // overlapping passes with conditional writes anyway.
    this.orchestrator = fn.function;

    const role = this.orchestrator.role as iam.Role;
    const regions = [...new Set(regionLocations(env).map((l) => l.region))];
    // Lambda authorizes UpdateAlias and GetAlias on the function, not on the alias: the
    // resource is the unqualified function ARN (Service Authorization Reference, "Actions
    // defined by AWS Lambda"; Lambda developer guide, "Fine-tuning the Resources and
    // Conditions sections of policies"). `function:NAME:live` would match no request.
    const fleetFunctions = regions.map((region) =>
      this.formatArn({
        service: 'lambda',
        region,
        resource: 'function',
        resourceName: `${fleetFunctionPrefix(env)}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })
    );
    // DescribeAlarms is a listing: CloudWatch authorizes it on `alarm:*` whatever prefix the
    // request names, so a grant on `alarm:orbit-<env>-*` would match no request. It reads
    // alarm states only (Service Authorization Reference, Amazon CloudWatch).
    const fleetAlarms = regions.map((region) =>
      this.formatArn({
        service: 'cloudwatch',
        region,
        resource: 'alarm',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:UpdateAlias', 'lambda:GetAlias'],
        resources: fleetFunctions,
      })
    );
    // Smoke checks (`rollout.smoke`) invoke the version a release staged, before it gets
    // traffic. Invoke with a Qualifier is authorized on the qualified ARN (Lambda API
    // Reference, Invoke; Service Authorization Reference, "Actions, resources, and condition
    // keys for AWS Lambda"), so `NAME:*` allows versions (and aliases), never $LATEST.
    const fleetVersions = regions.map((region) =>
      this.formatArn({
        service: 'lambda',
        region,
        resource: 'function',
        resourceName: `${fleetFunctionPrefix(env)}*:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })
    );
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: fleetVersions })
    );
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: fleetAlarms })
    );
    // Before routing to a release a move adds, the traffic driver waits until the location's
    // data-region replica shows the record: reads only, of the location partitions.
    const replicas = env.data.regions.filter((r) => r !== env.homeRegion);
    if (replicas.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:GetItem'],
          resources: replicas.map((region) =>
            this.formatArn({
              service: 'dynamodb',
              region,
              resource: 'table',
              resourceName: tableName,
            })
          ),
          conditions: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [keys.location('*').pk] },
          },
        })
      );
    }
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] })
    );
    for (const region of regions) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:${region}:${env.account}:function:${fleetFunctionPrefix(env)}*]`,
        reason: `The orchestrator reads and moves the live alias of this environment's functions in ${region}; Lambda authorizes alias calls on the function, and a release may add functions.`,
      });
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:${region}:${env.account}:function:${fleetFunctionPrefix(env)}*:*]`,
        reason: `Smoke checks invoke the version a release staged of each of this environment's functions in ${region} before it gets traffic; versions are published by every deploy, and Lambda authorizes the call on the qualified ARN.`,
      });
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:${region}:${env.account}:alarm:*]`,
        reason: `Rollout gates list the state of this environment's alarms in ${region} (DescribeAlarms by prefix, which CloudWatch authorizes on alarm:*); no write.`,
      });
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:GetMetricData (read-only gate metrics) and X-Ray tracing have no resource-level permissions.',
    });

    // Rollout events go to the home region's default event bus; PutEvents is authorized on
    // the bus (Service Authorization Reference, "Actions, resources, and condition keys for
    // Amazon EventBridge"). Webhook secrets are read from exactly the parameters configured,
    // with no KMS grant: the AWS managed key aws/ssm lets the account's principals decrypt.
    const { topicArn, webhooks } = env.rollout.notifications;
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [
          this.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
        ],
      })
    );
    const secrets = [...new Set(webhooks.flatMap((w) => w.secretParameter ?? []))];
    if (secrets.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['ssm:GetParameter'],
          resources: secrets.map((name) =>
            this.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.slice(1) })
          ),
        })
      );
    }
    if (topicArn) {
      new RolloutNotifications(this, 'Notifications', {
        environmentName: env.name,
        topic: sns.Topic.fromTopicArn(this, 'AlertTopic', topicArn),
      });
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the orchestrator schedules.',
    });
    const invoke = (job: 'reconcile' | 'governance') =>
      new targets.LambdaInvoke(this.orchestrator, {
        input: scheduler.ScheduleTargetInput.fromObject({ job }),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 0,
      });
    new scheduler.Schedule(this, 'Reconcile', {
      description: `Orbit ${env.name}: one reconcile pass`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      target: invoke('reconcile'),
    });
    new scheduler.Schedule(this, 'Governance', {
      description: `Orbit ${env.name}: governance jobs`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(env.governance.intervalMinutes)),
      target: invoke('governance'),
    });
    for (const node of this.node.findAll()) {
      if (node.node.id.startsWith('SchedulerRoleForTarget')) {
        Validations.of(node).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.orchestrator.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
          reason:
            'The schedules may invoke the orchestrator function (and its versions), nothing else.',
        });
      }
    }

    new cloudwatch.Alarm(this, 'OrchestratorErrors', {
      alarmName: orchestratorAlarmNameOf(env, 'errors'),
      metric: this.orchestrator.metricErrors({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, 'DeadLettersVisible', {
      alarmName: orchestratorAlarmNameOf(env, 'dead-letters'),
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    ({ key: this.releaseKey, signer: this.releaseSigner } = this.addReleaseKey(env));

    // The orchestrator reads its configuration from the table: the same bundle serves any environment.
    new AwsCustomResource(this, 'EnvironmentDefinition', {
      resourceType: 'Custom::OrbitEnvironmentDefinition',
      installLatestAwsSdk: false,
      onUpdate: {
        service: 'DynamoDB',
        action: 'putItem',
        parameters: lowLevelPut(definitionPut(tableName, JSON.stringify(env))),
        physicalResourceId: PhysicalResourceId.of(`environment:${env.name}`),
      },
      policy: AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['dynamodb:PutItem'],
          resources: [tableArn],
          conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['CONTROL'] } },
        }),
      ]),
    });
    suppressCustomResourceProvider(this);

    new CfnOutput(this, 'ReleaseKeyArn', {
      value: this.releaseKey.keyArn,
      description: `Signs every release a deploy stages; satellites verify with its public key (${releaseKeyAliasOf(env)})`,
    });
    new CfnOutput(this, 'OrchestratorName', { value: this.orchestrator.functionName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
  }

  /**
   * The environment's release key and the one role it lets sign. An asymmetric key
   * (`ECC_NIST_P256`, `SIGN_VERIFY`, signing with `ECDSA_SHA_256`) under a fixed alias, so
   * stacks in other regions name it without a cross-stack reference. Its policy is CDK's
   * default (the account may delegate through IAM: satellites' roles get `kms:GetPublicKey`
   * that way) plus a deny of `kms:Sign` to every principal but the signer role, whatever
   * their IAM policies say (KMS Developer Guide, "Key policies in AWS KMS" and "Default key
   * policy"; IAM User Guide, `aws:PrincipalArn`, which names a role without requiring it to
   * exist). The key cannot rotate (KMS rotates symmetric keys only), and it is kept when the
   * stack goes, outside `dev`: releases signed with it must keep verifying.
   */
  private addReleaseKey(env: Environment): { key: kms.Key; signer: iam.Role } {
    const disposable = env.name === 'dev';
    const signerName = releaseSignerRoleNameOf(env);
    const signerArn = this.formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: signerName,
    });
    const key = new kms.Key(this, 'ReleaseKey', {
      description: `Orbit ${env.name}: signs every release a deploy stages`,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      alias: releaseKeyAliasOf(env),
      removalPolicy: disposable ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(disposable ? 7 : 30),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheReleaseSignerSigns',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': signerArn } },
      })
    );
    const signer = new iam.Role(this, 'ReleaseSigner', {
      roleName: signerName,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Orbit ${env.name}: signs releases at deploy (kms:Sign on the release key only)`,
    });
    signer.addToPolicy(new iam.PolicyStatement({ actions: ['kms:Sign'], resources: [key.keyArn] }));
    // Each satellite location's signer logs to its own group, in the location's region.
    const signerLogs = satelliteLocations(env).map((location) =>
      this.formatArn({
        service: 'logs',
        region: location.parentRegion,
        resource: 'log-group',
        resourceName: `/aws/lambda/${releaseSignerNameOf(env, location)}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })
    );
    if (signerLogs.length > 0) {
      signer.addToPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: signerLogs,
        })
      );
      for (const location of satelliteLocations(env)) {
        Validations.of(signer).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:${location.parentRegion}:${env.account}:log-group:/aws/lambda/${releaseSignerNameOf(env, location)}:*]`,
          reason: `The signer of ${location.id} writes log streams (named by Lambda) in its own log group only.`,
        });
      }
    }
    return { key, signer };
  }
}
