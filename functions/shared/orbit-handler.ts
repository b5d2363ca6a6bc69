import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { ResolvedDeclaration } from '../../core/declaration';
import {
  type LocationContext,
  locationContextFromEnv,
  ORBIT_FUNCTION_ENV,
  requiredEnv,
} from '../../core/location-env';
import { Records } from '../../core/records';
import { createTableClient } from '../../core/records/table';
import { DrainState } from './drain-state';
import type { OrbitEvent, OrbitResult, RouteResult, RouteSpec } from './http';
import {
  REQUEST_METRICS_NAMESPACE,
  REQUEST_METRICS_SERVICE,
  requestMetricDimensions,
} from './metric-contract';
import { drain } from './middleware/drain';
import { errorHandler } from './middleware/error-handler';
import { jsonBody } from './middleware/json-body';
import { requestMetrics } from './middleware/request-metrics';
import { requireAuth } from './middleware/require-auth';
import { type CorsSettings, responseHeaders } from './middleware/response-headers';
import { routing } from './middleware/routing';
import { sequence } from './middleware/sequence';
import { validate } from './middleware/validate';
import { requestState } from './request-state';
import { type ReleaseRoute, RouteTable, routeKeyOf } from './route-table';

/** The logic of a function: one {@link RouteSpec} per declared route key. */
// biome-ignore lint/suspicious/noExplicitAny: each route has its own input types
export type RouteSpecs = Readonly<Record<string, RouteSpec<any, any, any>>>;

/** What an Orbit handler runs with; everything but the declaration is read from the environment by default. */
export interface OrbitHandlerOptions {
  /** The function's folder name under `functions/api/`. @default - `ORBIT_FUNCTION` */
  readonly functionName?: string;
  /** @default - read from the `ORBIT_*` variables */
  readonly location?: LocationContext;
  /** @default - a client for the table in the location's data region */
  readonly table?: DynamoDBDocumentClient;
  /** Every route of the release. @default - `ORBIT_ROUTE_TABLE`, written by the release build */
  readonly releaseRoutes?: readonly ReleaseRoute[];
  /** @default - `ORBIT_CORS` (JSON), else no CORS */
  readonly cors?: CorsSettings;
  /** How long drain flags are cached, in ms. @default - `ORBIT_DRAIN_CACHE_SECONDS`, else 5 s */
  readonly drainCacheMs?: number;
  /** Report the drain to the logic instead of refusing requests (`/health`). @default false */
  readonly drainReportOnly?: boolean;
  /**
   * Answer 404 while the location does not serve this code's release (see `DrainState`'s
   * `releaseId`): a region's `live` aliases route per function, so a function a staged
   * release adds, or one a stable release kept, could otherwise answer for it.
   * @default - on Lambda at a region location; satellites load only the releases they serve
   */
  readonly checkServedRelease?: boolean;
  /** @default - a Powertools logger for the function */
  readonly logger?: Logger;
}

/** The handler Lambda (and the satellite runtime) calls, and what it was built with. */
export type OrbitHandler = ((event: OrbitEvent, context: Context) => Promise<OrbitResult>) & {
  readonly location: LocationContext;
  readonly table: DynamoDBDocumentClient;
  readonly drainState: DrainState;
};

function parseJson<T>(raw: string | undefined, name: string): T | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new Error(`environment variable ${name} is not valid JSON`, { cause: err });
  }
}

/** Powertools' Metrics, telling whether it emits (POWERTOOLS_METRICS_DISABLED, POWERTOOLS_DEV). */
class OrbitMetrics extends Metrics {
  get emits(): boolean {
    return !this.isDisabled();
  }
}

function toResult(result: RouteResult): OrbitResult {
  if (result.body === undefined) {
    return { statusCode: result.status, headers: { ...result.headers }, body: '' };
  }
  if (typeof result.body === 'string') {
    return {
      statusCode: result.status,
      headers: { 'content-type': 'text/plain; charset=utf-8', ...result.headers },
      body: result.body,
    };
  }
  return {
    statusCode: result.status,
    headers: { 'content-type': 'application/json', ...result.headers },
    body: JSON.stringify(result.body),
  };
}

/**
 * Builds an Orbit function's handler: the shared middleware stack (logs, metrics, routing,
 * kill switch, auth check, JSON body, validation, headers, problem+json errors) around the
 * logic of each declared route. Call it once at module scope, so that configuration errors
 * fail the cold start, and the table client and drain cache live across requests.
 */
export function orbitHandler(
  declaration: ResolvedDeclaration,
  specs: RouteSpecs,
  options: OrbitHandlerOptions = {}
): OrbitHandler {
  const functionName = options.functionName ?? requiredEnv(ORBIT_FUNCTION_ENV.functionName);
  const location = options.location ?? locationContextFromEnv();
  const table = options.table ?? createTableClient({ region: location.dataRegion });
  const releaseRoutes =
    options.releaseRoutes ??
    // Spelled out, not looked up by name: the release build replaces this very expression.
    parseJson<ReleaseRoute[]>(process.env.ORBIT_ROUTE_TABLE, ORBIT_FUNCTION_ENV.routeTable) ??
    declaration.routes.map((r) => ({ ...r, functionName }));
  const cors =
    options.cors ??
    parseJson<CorsSettings>(process.env[ORBIT_FUNCTION_ENV.cors], ORBIT_FUNCTION_ENV.cors);
  const drainCacheMs =
    options.drainCacheMs ?? Number(process.env[ORBIT_FUNCTION_ENV.drainCacheSeconds] ?? 5) * 1000;

  const routes = new Map<
    string,
    { route: ResolvedDeclaration['routes'][number]; spec: RouteSpec }
  >();
  for (const route of declaration.routes) {
    const key = routeKeyOf(route);
    const spec = specs[key];
    if (!spec) throw new Error(`${functionName}: route ${key} is declared but has no logic`);
    routes.set(key, { route, spec });
  }
  for (const key of Object.keys(specs)) {
    if (!routes.has(key))
      throw new Error(`${functionName}: logic for ${key}, which function.ts does not declare`);
  }

  const logger =
    options.logger ??
    new Logger({
      serviceName: 'orbit',
      persistentKeys: {
        function: functionName,
        location: location.locationId,
        release: location.releaseId,
      },
    });
  // Gates query exactly this dimension set (metric-contract.ts): change it there, not here.
  const metrics = new OrbitMetrics({
    namespace: REQUEST_METRICS_NAMESPACE,
    serviceName: REQUEST_METRICS_SERVICE,
    defaultDimensions: requestMetricDimensions({
      function: functionName,
      location: location.locationId,
      release: location.releaseId,
    }),
  });
  const drainState = new DrainState({
    records: new Records(table, location.tableName),
    locationId: location.locationId,
    functionName,
    ttlMs: drainCacheMs,
    ...((options.checkServedRelease ??
    (location.locationKind === 'region' && process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined))
      ? { releaseId: location.releaseId }
      : {}),
    onReadError: (err) =>
      logger.warn('cannot read drain flags; keeping the last known state', err as Error),
  });

  const logic = async (event: OrbitEvent): Promise<OrbitResult> => {
    const state = requestState(event);
    if (state.preflight) return { statusCode: 204, headers: {}, body: '' };
    const spec = state.spec as RouteSpec;
    return toResult(
      await spec.handle({
        params: state.params,
        query: state.query,
        body: state.body,
        headers: event.headers ?? {},
        claims: event.requestContext.authorizer?.jwt?.claims,
        requestId: event.requestContext.requestId,
        location,
        drain: state.drain ?? { drained: false, retryAfterSeconds: 0 },
      })
    );
  };

  // With EMF off (satellites count requests in their heartbeats) metrics would be gathered
  // per request only to be dropped: a tenth of a satellite's time per request.
  const emf = metrics.emits;
  const withMetrics = middy<OrbitEvent, OrbitResult>().use(
    injectLambdaContext(logger, { resetKeys: true })
  );
  if (emf) withMetrics.use(logMetrics(metrics));
  // Orbit's own middlewares run as one middy middleware, in this order (the error handler
  // last): middy would await each of them, and nearly all are synchronous.
  const handler = withMetrics
    .use(
      sequence([
        requestMetrics({ logger, metrics: emf ? metrics : undefined }),
        responseHeaders({ location, cors }),
        routing({
          functionName,
          routes,
          table: new RouteTable(releaseRoutes),
          cors: cors !== undefined,
        }),
        drain({ state: drainState, reportOnly: options.drainReportOnly }),
        requireAuth(),
        jsonBody({ maxBytes: declaration.maxBodyBytes }),
        validate(),
        errorHandler({ logger }),
      ])
    )
    .handler(logic);

  return Object.assign(
    handler as unknown as (event: OrbitEvent, context: Context) => Promise<OrbitResult>,
    {
      location,
      table,
      drainState,
    }
  );
}
