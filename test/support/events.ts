import type { Context } from 'aws-lambda';
import type { OrbitEvent } from '../../functions/shared/http';

/** What a test request says; everything else gets API Gateway's defaults. */
export interface TestRequest {
  readonly method: string;
  /** The raw path, query string included (`/items?limit=2`). */
  readonly path: string;
  /** The route API Gateway matched, e.g. `GET /items/{id}`. @default '$default' */
  readonly routeKey?: string;
  readonly pathParameters?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON with `content-type: application/json`. */
  readonly body?: unknown;
  /** JWT claims, as the authorizer would pass them; omit for an anonymous request. */
  readonly claims?: Record<string, string>;
}

let counter = 0;

/** An API Gateway HTTP API payload 2.0 event, shaped as AWS documents it. */
export function httpEvent(request: TestRequest): OrbitEvent {
  const [rawPath = '/', rawQueryString = ''] = request.path.split('?');
  const query = new URLSearchParams(rawQueryString);
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (request.body !== undefined) {
    body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    if (typeof request.body !== 'string') headers['content-type'] = 'application/json';
  }
  for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;
  counter += 1;
  return {
    version: '2.0',
    routeKey: request.routeKey ?? '$default',
    rawPath,
    rawQueryString,
    headers,
    queryStringParameters: rawQueryString ? Object.fromEntries(query) : undefined,
    pathParameters: request.pathParameters,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: request.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'jest',
      },
      requestId: `req-${counter}`,
      routeKey: request.routeKey ?? '$default',
      stage: '$default',
      time: '25/Nov/2026:10:00:00 +0000',
      timeEpoch: 1_795_600_000_000,
      ...(request.claims ? { authorizer: { jwt: { claims: request.claims, scopes: null } } } : {}),
    },
    body,
    isBase64Encoded: false,
  } as OrbitEvent;
}

/** A Lambda context with plenty of time left. */
export function lambdaContext(functionName = 'orbit-test-fn'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '1',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}:live`,
    memoryLimitInMB: '128',
    awsRequestId: `aws-${++counter}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
