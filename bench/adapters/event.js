/**
 * The API Gateway HTTP API payload 2.0 event and Lambda context, as a minimal adapter
 * written by hand builds them: the baselines of bench/runtime.ts. The same fields as the
 * satellite runtime's event (lower-cased headers, cookies apart, query parameters, the
 * request context with its time), so that the comparison is between hosts, not events.
 */
const { randomUUID } = require('node:crypto');

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n) => (n < 10 ? `0${n}` : String(n));
const clfTime = (d) =>
  `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;

/** The event for one request: `url` as received, `headers` as Node parsed them. */
function toEvent({ method, url, headers: raw, body, sourceIp, routeKey }) {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQueryString = q === -1 ? '' : url.slice(q + 1);
  const headers = {};
  let cookies;
  for (const name in raw) {
    const value = raw[name];
    if (name === 'cookie') cookies = String(value).split(/;\s*/);
    else headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const now = new Date();
  const requestId = randomUUID();
  const host = headers.host ?? 'localhost';
  const event = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'adapter',
      apiId: 'adapter',
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies) event.cookies = cookies;
  if (rawQueryString) {
    event.queryStringParameters = Object.fromEntries(new URLSearchParams(rawQueryString));
  }
  if (body && body.byteLength > 0) event.body = body.toString('utf8');
  return event;
}

/** A Lambda context for one invocation. */
function context(functionName, requestId, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:adapter:${functionName}`,
    memoryLimitInMB: '128',
    awsRequestId: requestId,
    logGroupName: `/adapter/${functionName}`,
    logStreamName: 'adapter',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done() {},
    fail() {},
    succeed() {},
  };
}

/**
 * Loads the bundle named by ORBIT_BENCH_BUNDLE and, with ORBIT_BENCH_INVOKE_STORE=1, the
 * invoke store Powertools keeps concurrent requests apart with (as Lambda's multi-concurrency
 * runtime does). Returns `invoke(event)`.
 */
async function loadHandler() {
  // The same footing as the satellite runtime (main.ts): EMF off, a plain process.env.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env = { ...process.env };
  let store;
  if (process.env.ORBIT_BENCH_INVOKE_STORE === '1') {
    process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '256';
    const { InvokeStore } = require('@aws/lambda-invoke-store');
    store = await InvokeStore.getInstanceAsync(true);
  }
  const { handler } = require(process.env.ORBIT_BENCH_BUNDLE);
  const name = process.env.ORBIT_FUNCTION ?? 'bench';
  const REQUEST_ID = Symbol.for('_AWS_LAMBDA_REQUEST_ID');
  return (event) => {
    const id = event.requestContext.requestId;
    const ctx = context(name, id, 5000);
    return store ? store.run({ [REQUEST_ID]: id }, () => handler(event, ctx)) : handler(event, ctx);
  };
}

/** Writes a payload 2.0 result the way API Gateway maps it. */
function resultParts(result) {
  const headers = result.headers ?? {};
  const body = result.body ?? '';
  const out = { ...headers, 'content-length': Buffer.byteLength(body) };
  if (result.cookies?.length) out['set-cookie'] = result.cookies;
  return { status: result.statusCode ?? 200, headers: out, body };
}

/** Prints the line bench/runtime.ts waits for. */
function ready(port) {
  // Exits on SIGTERM like a supervised server, so that --cpu-prof writes its profile.
  process.once('SIGTERM', () => process.exit(0));
  console.log(JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${port}/` }));
}

module.exports = { toEvent, loadHandler, resultParts, ready };
