import {
  Annotations,
  CfnOutput,
  CfnResource,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsCustomResource } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { dataRegionOf } from '../../core/environment/fleet';
import type { Environment, RegionLocation } from '../../core/environment/schema';
import { locationContextOf, locationEnv, ORBIT_FUNCTION_ENV } from '../../core/location-env';
import type { Release } from '../../core/manifest';
import {
  apiNameOf,
  fleetFunctionNameOf,
  functionGateAlarmPrefix,
  stackNames,
} from '../../core/names';
import { dataTable } from '../constructs/data-table';
import { GateAlarms } from '../constructs/gate-alarms';
import { LiveAlias, suppressCustomResourceProvider } from '../constructs/live-alias';
import { LocationRecords } from '../constructs/location-record';
import { OrbitFunction } from '../constructs/orbit-function';
import { RegionalApi } from '../constructs/regional-api';

/** Props of a {@link RegionLocationStack}. */
export interface RegionLocationStackProps extends StackProps {
  readonly environment: Environment;
  readonly location: RegionLocation;
  /**
   * The release this deploy stages at the location; it must pass `checkRelease` for the
   * environment (`addOrbitEnvironment` checks before building any stack).
   */
  readonly release: Release;
}

/**
 * One region location: every function of the release on Lambda with its `live` alias, the
 * regional HTTPS API routing to those aliases, the alarms rollout gates read, and the
 * records that register the location and its staged release in the global table.
 *
 * Deploying a new release publishes new versions and records them as staged; it never
 * moves the alias, so it never moves traffic.
 */
export class RegionLocationStack extends Stack {
  readonly api: RegionalApi;
  readonly functions: Readonly<Record<string, OrbitFunction>>;
  readonly aliases: Readonly<Record<string, LiveAlias>>;
  /** The region whose table replica this location reads and writes. */
  readonly dataRegion: string;

  constructor(scope: Construct, id: string, props: RegionLocationStackProps) {
    const { environment: env, location, release } = props;
    super(scope, id, {
      stackName: stackNames.location(env, location),
      description: `Orbit ${env.name}: region location ${location.id}`,
      ...props,
      env: { account: env.account, region: location.region },
    });
    this.dataRegion = dataRegionOf(env, location);
    const { tableName, tableArn } = dataTable(this, env, this.dataRegion);
    const table = dynamodb.TableV2.fromTableAttributes(this, 'Table', { tableArn });

    this.api = new RegionalApi(this, 'Api', {
      apiName: apiNameOf(env, location),
      rateLimit: env.api.rateLimit,
      burstLimit: env.api.burstLimit,
      auth: env.auth,
      cors: env.api.cors,
    });

    const environment = locationEnv(
      { ...locationContextOf(env, location), releaseId: release.manifest.releaseId },
      { cors: env.api.cors }
    );
    // The gate alarms tell the alert topic where they can: CloudWatch alarm actions reach a
    // topic of the alarm's own region only. Elsewhere a breach during a rollout still reaches
    // the topic, as the orchestrator's `breached` event.
    const { topicArn } = env.rollout.notifications;
    const topicRegion = topicArn?.split(':')[3];
    const alarmActions =
      topicArn && topicRegion === location.region
        ? [new cloudwatchActions.SnsAction(sns.Topic.fromTopicArn(this, 'AlertTopic', topicArn))]
        : [];
    if (topicArn && topicRegion !== location.region) {
      Annotations.of(this).addWarningV2(
        'orbit:gate-alarms-topic-region',
        `The gate alarms in ${location.region} do not notify ${topicArn}: CloudWatch alarm actions reach only topics in the alarm's region. Their breaches during a rollout still reach the topic as the orchestrator's breached events.`
      );
    }
    const functions: Record<string, OrbitFunction> = {};
    const aliases: Record<string, LiveAlias> = {};
    for (const fn of release.manifest.functions) {
      const functionName = fleetFunctionNameOf(env, fn.name);
      const orbitFunction = new OrbitFunction(this, `Fn-${fn.name}`, {
        release,
        fn,
        functionName,
        environment: { ...environment, [ORBIT_FUNCTION_ENV.functionName]: fn.name },
        table,
        locationId: location.id,
      });
      const alias = new LiveAlias(orbitFunction, 'LiveAlias', {
        function: orbitFunction.function,
        firstVersion: orbitFunction.version,
      });
      this.api.addRoutes(fn.name, fn, alias.target);
      new GateAlarms(orbitFunction, 'GateAlarms', {
        functionName,
        aliasName: alias.aliasName,
        alarmNamePrefix: functionGateAlarmPrefix(
          env,
          location.id,
          release.manifest.releaseId,
          fn.name
        ),
        maxErrorRatePercent: env.rollout.gates.maxErrorRatePercent,
        maxP99LatencyMs: env.rollout.gates.maxP99LatencyMs,
        requestMetrics: {
          function: fn.name,
          location: location.id,
          release: release.manifest.releaseId,
        },
        executedVersion: orbitFunction.version.version,
        actions: alarmActions,
      });
      functions[fn.name] = orbitFunction;
      aliases[fn.name] = alias;
    }
    this.functions = functions;
    this.aliases = aliases;
    // `dev` is disposable (as its table is): `cdk destroy` must leave nothing behind there.
    if (env.name !== 'dev') retainServingResources(this);

    new LocationRecords(this, 'Records', {
      tableName,
      tableArn,
      dataRegion: this.dataRegion,
      locationId: location.id,
      releaseId: release.manifest.releaseId,
      location: {
        kind: location.kind,
        region: location.region,
        dataRegion: this.dataRegion,
        apiUrl: this.api.url,
      },
      manifest: JSON.stringify(release.manifest),
      adoptFirstRelease: true,
      functions: Object.fromEntries(
        Object.entries(functions).map(([name, f]) => [
          name,
          { functionName: f.function.functionName, version: f.version.version },
        ])
      ),
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: `HTTPS API of ${location.id}`,
    });
    new CfnOutput(this, 'ReleaseId', {
      value: release.manifest.releaseId,
      description: 'Release staged by this deploy',
    });

    suppressCustomResourceProvider(this);
  }
}

/** Resource types that carry a location's traffic: a function and the routes to it. */
const SERVING_TYPES = new Set([
  'AWS::Lambda::Function',
  'AWS::Lambda::Version',
  'AWS::Lambda::Permission',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::Logs::LogGroup',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Integration',
  'Custom::OrbitLiveAlias',
]);

/**
 * Deploy is not release: a release that drops a function must not delete it while the stable
 * release still serves it. CloudFormation keeps these resources when a later template no
 * longer has them (DeletionPolicy Retain), the orchestrator keeps moving their aliases, and
 * their code stops answering once the location no longer serves their release (the served-
 * release check in the middleware). Deleting the stack leaves them too: see the README.
 */
function retainServingResources(stack: Stack): void {
  for (const node of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(node)) continue;
    const type = node.cfnResourceType;
    const provider = node.node.path.includes(
      `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`
    );
    if (SERVING_TYPES.has(type) && !provider) node.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}
