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

/** The last second formatted, with its text: every request within a second shares it. */
let lastClf = { second: Number.NaN, text: '' };

/** `25/Nov/2026:10:00:00 +0000`: the form API Gateway uses for `requestContext.time`. */
export function clfTime(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second === lastClf.second) return lastClf.text;
  const text = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  lastClf = { second, text };
  return text;
}

/**
 * Builds an API Gateway HTTP API payload 2.0 event, as AWS documents it: lower-cased headers
 * (repeats joined by commas), cookies in their own field, repeated query parameters joined
 * by commas, and binary bodies base64-encoded. Handlers cannot tell a satellite from Lambda.
 * Built field by field in the documented order (every satellite request goes through here):
 * optional fields are added when present, with no spread of a temporary object.
 */
export function toEvent(facts: RequestFacts): OrbitEvent {
  const queryStart = facts.url.indexOf('?');
  const rawPath = queryStart === -1 ? facts.url : facts.url.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : facts.url.slice(queryStart + 1);
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const name in facts.headers) {
    const value = facts.headers[name];
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = String(value)
        .split(/;\s*/)
        .filter((c) => c.length > 0);
      continue;
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: facts.routeKey,
    rawPath,
    rawQueryString,
  };
  if (cookies) event.cookies = cookies;
  event.headers = headers;
  if (rawQueryString) {
    const queryStringParameters: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[k] =
        k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
    }
    event.queryStringParameters = queryStringParameters;
  }
  if (facts.pathParameters && hasKeys(facts.pathParameters)) {
    event.pathParameters = facts.pathParameters;
  }
  const dot = facts.domainName.indexOf('.');
  const requestContext: Record<string, unknown> = {
    accountId: 'satellite',
    apiId: 'orbit',
    domainName: facts.domainName,
    domainPrefix: dot === -1 ? facts.domainName : facts.domainName.slice(0, dot),
    http: {
      method: facts.method,
      path: rawPath.includes('%') ? safeDecodePath(rawPath) : rawPath,
      protocol: 'HTTP/1.1',
      sourceIp: facts.sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: facts.requestId,
    routeKey: facts.routeKey,
    stage: '$default',
    time: clfTime(facts.now),
    timeEpoch: facts.now.getTime(),
  };
  if (facts.authorizer) requestContext.authorizer = facts.authorizer;
  event.requestContext = requestContext;
  if (facts.body.byteLength > 0) {
    const text = TEXT_TYPES.test(headers['content-type'] ?? 'text/plain');
    event.body = text ? facts.body.toString('utf8') : facts.body.toString('base64');
    event.isBase64Encoded = !text;
  } else {
    event.isBase64Encoded = false;
  }
  return event as unknown as OrbitEvent;
}

/** Whether an object has an own key, without listing them all. */
function hasKeys(o: object): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
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
  const given = result.headers ?? {};
  // for…in, not Object.entries: no entry arrays for each answer (this runs for every one).
  for (const k in given) {
    if (Object.hasOwn(given, k)) headers[k.toLowerCase()] = String(given[k]);
  }
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  const raw = result.body ?? '';
  const body = result.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { status: result.statusCode, headers, body };
}
