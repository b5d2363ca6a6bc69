import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Route } from '../../functions/shared/declaration';

/** Props of a {@link RegionalApi}. */
export interface RegionalApiProps {
  /** The API name shown in the console. */
  readonly apiName: string;
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst of requests. */
  readonly burstLimit: number;
  /**
   * How long access logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: logs.RetentionDays;
}

/** The fields of every access log line (JSON), enough to trace a request across the fleet. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
  })
);

/**
 * A location's HTTPS entry point: an API Gateway HTTP API whose `$default` stage is
 * throttled and writes JSON access logs. Routes target a function's `live` alias, so the
 * alias weights are the traffic split.
 */
export class RegionalApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;

  constructor(scope: Construct, id: string, props: RegionalApiProps) {
    super(scope, id);
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: props.apiName,
      createDefaultStage: false,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });
  }

  /** The base URL of the API (`https://…/`). */
  get url(): string {
    return this.stage.url;
  }

  /** Routes `routes` to `target` (a function's `live` alias). */
  addRoutes(functionName: string, routes: readonly Route[], target: lambda.IFunction): void {
    const integration = new HttpLambdaIntegration(`${functionName}Integration`, target);
    for (const route of routes) {
      if (route.auth === 'jwt') {
        throw new Error(
          `${functionName}: route ${route.method} ${route.path} declares auth 'jwt', but this environment has no JWT issuer configured; declare auth: 'none' or configure the issuer`
        );
      }
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [route.method as apigw.HttpMethod],
        integration,
      });
      Validations.of(httpRoute as apigw.HttpRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: `${route.method} ${route.path} is declared public (auth: 'none') in functions/api/${functionName}/function.ts.`,
      });
    }
  }
}
