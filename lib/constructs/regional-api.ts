import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Route } from '../../core/declaration';
import type { CorsSettings } from '../../functions/shared/middleware/response-headers';

/** Props of a {@link RegionalApi}. */
export interface RegionalApiProps {
  /** The API name shown in the console. */
  readonly apiName: string;
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst of requests. */
  readonly burstLimit: number;
  /** The issuer and audiences of tokens on `jwt` routes (API Gateway's JWT authorizer). */
  readonly auth: { readonly issuer: string; readonly audience: readonly string[] };
  /** @default - no CORS: browsers on other origins cannot call the API */
  readonly cors?: CorsSettings;
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
  /** Verifies bearer tokens on `jwt` routes before a function runs. */
  readonly authorizer: HttpJwtAuthorizer;
  private hasFallback = false;

  constructor(scope: Construct, id: string, props: RegionalApiProps) {
    super(scope, id);
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    const cors = props.cors;
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: props.apiName,
      createDefaultStage: false,
      corsPreflight: cors && {
        allowOrigins: [...cors.allowOrigins],
        allowHeaders: [...cors.allowHeaders],
        exposeHeaders: [...cors.exposeHeaders],
        allowMethods: [apigw.CorsHttpMethod.ANY],
        maxAge: Duration.seconds(cors.maxAgeSeconds),
      },
    });
    this.authorizer = new HttpJwtAuthorizer('Jwt', props.auth.issuer, {
      jwtAudience: [...props.auth.audience],
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

  /**
   * Routes a function's declared routes to `target` (its `live` alias), each with its
   * declared auth; a fallback function gets the `$default` route, which catches every
   * request no route matches.
   */
  addRoutes(
    functionName: string,
    fn: { readonly routes: readonly Route[]; readonly fallback: boolean },
    target: lambda.IFunction
  ): void {
    const integration = new HttpLambdaIntegration(`${functionName}Integration`, target);
    for (const route of fn.routes) {
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [route.method as apigw.HttpMethod],
        integration,
        authorizer: route.auth === 'jwt' ? this.authorizer : undefined,
      });
      if (route.auth === 'none') {
        Validations.of(httpRoute as apigw.HttpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is declared public (auth: 'none') in functions/api/${functionName}/function.ts.`,
        });
      }
    }
    if (fn.fallback) {
      if (this.hasFallback) {
        throw new Error(`${functionName}: the API already has a fallback ($default) route`);
      }
      this.hasFallback = true;
      const fallback = new apigw.HttpRoute(this, 'DefaultRoute', {
        httpApi: this.api,
        routeKey: apigw.HttpRouteKey.DEFAULT,
        integration,
      });
      Validations.of(fallback).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: `The $default route reaches only functions/api/${functionName}, which answers 404, 405 and CORS preflights and serves no data.`,
      });
    }
  }
}
