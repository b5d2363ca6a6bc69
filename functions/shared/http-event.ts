import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { OrbitEvent } from './http';

/** What the host knows about a request when it builds the event. */
export interface RequestFacts {
  readonly method: string;
  /** The request target as received: path and query string. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly requestId: string;
  readonly routeKey: string;
  readonly pathParameters?: Record<string, string>;
  /** The host name clients used, for `requestContext.domainName`. */
  readonly domainName: string;
  readonly now: Date;
  readonly authorizer?: OrbitEvent['requestContext']['authorizer'];
}

const TEXT_TYPES =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded)\b)/i;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `25/Nov/2026:10:00:00 +0000`: the form API Gateway uses for `requestContext.time`. */
export function clfTime(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * Builds an API Gateway HTTP API payload 2.0 event, as AWS documents it: lower-cased headers
 * (repeats joined by commas), cookies in their own field, repeated query parameters joined
 * by commas, and binary bodies base64-encoded. Handlers cannot tell a satellite from Lambda.
 */
export function toEvent(facts: RequestFacts): OrbitEvent {
  const queryStart = facts.url.indexOf('?');
  const rawPath = queryStart === -1 ? facts.url : facts.url.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : facts.url.slice(queryStart + 1);
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(facts.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = String(value)
        .split(/;\s*/)
        .filter((c) => c.length > 0);
      continue;
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString) {
    queryStringParameters = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[k] =
        k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
    }
  }
  const hasBody = facts.body.byteLength > 0;
  const text = TEXT_TYPES.test(headers['content-type'] ?? 'text/plain');
  const [domainPrefix = facts.domainName] = facts.domainName.split('.');
  return {
    version: '2.0',
    routeKey: facts.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    ...(facts.pathParameters && Object.keys(facts.pathParameters).length > 0
      ? { pathParameters: facts.pathParameters }
      : {}),
    requestContext: {
      accountId: 'satellite',
      apiId: 'orbit',
      domainName: facts.domainName,
      domainPrefix,
      http: {
        method: facts.method,
        path: safeDecodePath(rawPath),
        protocol: 'HTTP/1.1',
        sourceIp: facts.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: facts.requestId,
      routeKey: facts.routeKey,
      stage: '$default',
      time: clfTime(facts.now),
      timeEpoch: facts.now.getTime(),
      ...(facts.authorizer ? { authorizer: facts.authorizer } : {}),
    },
    ...(hasBody
      ? {
          body: text ? facts.body.toString('utf8') : facts.body.toString('base64'),
          isBase64Encoded: !text,
        }
      : { isBase64Encoded: false }),
  } as OrbitEvent;
}

function safeDecodePath(p: string): string {
  try {
    return decodeURI(p);
  } catch {
    return p;
  }
}

/** An HTTP response, ready to write. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/**
 * Maps a handler's result back exactly as API Gateway does for payload 2.0: a structured
 * result (with `statusCode`) as given, cookies as `set-cookie` headers, base64 bodies
 * decoded; anything else (a string, an object without `statusCode`) becomes 200 with
 * `content-type: application/json` and the result as the body.
 */
export function fromResult(result: APIGatewayProxyResultV2 | undefined | null): HttpResponse {
  if (
    result === null ||
    result === undefined ||
    typeof result !== 'object' ||
    !('statusCode' in result) ||
    typeof result.statusCode !== 'number'
  ) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(body),
    };
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  const raw = result.body ?? '';
  const body = result.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { status: result.statusCode, headers, body };
}
