import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { FunctionTimeoutError, HttpError } from '../../core/errors';
import type { OrbitEvent } from '../../functions/shared/http';
import { fromResult, type HttpResponse, toEvent } from '../../functions/shared/http-event';
import { isDrainedAnswer } from '../../functions/shared/metric-contract';
import { SECURITY_HEADERS } from '../../functions/shared/middleware/response-headers';
import { problemResponse } from '../../functions/shared/problem';
import { affinityKeyOf } from './affinity';
import { DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS } from './config';
import {
  InvocationTimeoutError,
  invoke,
  type LoadedFunction,
  type LoadedRelease,
} from './function-host';
import { ReleaseNotStagedError } from './staged-releases';
import type { ReleaseStats } from './stats';
import { pickRelease, RELEASE_OVERRIDE_HEADER, type TrafficState } from './traffic';

/** Lambda's payload limit, for requests and responses alike. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Verifies a bearer token like API Gateway's JWT authorizer; throws an HttpError when it fails. */
export type Authenticate = (
  authorization: string | undefined
) => Promise<NonNullable<OrbitEvent['requestContext']['authorizer']>['jwt']>;

/** Options of {@link createRuntimeServer}. */
export interface RuntimeServerOptions {
  /** The releases serving now; read per request, so a switch never touches requests in flight. */
  readonly traffic: () => TrafficState;
  /** Checks tokens on `jwt` routes. @default - every `jwt` route answers 401 */
  readonly authenticate?: Authenticate;
  readonly stats: ReleaseStats;
  /** The location id, for headers on answers the runtime gives itself. */
  readonly locationId: string;
  /** Told about handler failures (crashes, timeouts). @default - console.error */
  readonly onError?: (message: string, err: unknown) => void;
  /** @default Math.random */
  readonly random?: () => number;
  /**
   * How long an idle keep-alive connection stays open, in ms: longer than the idle timeout of
   * the proxy in front, which must be the side that closes idle connections.
   * @default DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS * 1000
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * The cookie that carries a client's affinity key besides the `x-orbit-affinity` header
   * (which wins). @default - the header only
   */
  readonly affinityCookie?: string;
}

/** Node's default `requestTimeout` (receiving a whole request), kept unless it must grow. */
const NODE_REQUEST_TIMEOUT_MS = 300_000;

/**
 * The server's timeouts for a keep-alive timeout: `headersTimeout` above it and
 * `requestTimeout` at least `headersTimeout`, the order Node's http.Server requires
 * (`createServer` throws ERR_OUT_OF_RANGE when headersTimeout > requestTimeout). Headers
 * above keep-alive: Node's docs before v18 measured headersTimeout from the connection's
 * start, which closed keep-alive connections older than it; kept so on every Node version.
 */
export function serverTimeouts(keepAliveTimeoutMs: number) {
  const headersTimeout = keepAliveTimeoutMs + 1000;
  return {
    keepAliveTimeout: keepAliveTimeoutMs,
    headersTimeout,
    requestTimeout: Math.max(NODE_REQUEST_TIMEOUT_MS, headersTimeout),
  };
}

class BodyTooLargeError extends HttpError {
  constructor(bytes: number) {
    super(
      413,
      'payload-too-large',
      `the request body exceeds ${MAX_PAYLOAD_BYTES} bytes (${bytes} received so far)`
    );
  }
}

/** An empty body, shared: most requests (every GET) have none. */
const NO_BODY = Buffer.alloc(0);

/** Whether a request carries a body (RFC 9112 §6.3: a length, or a transfer coding). */
const hasBody = (req: IncomingMessage): boolean => {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_PAYLOAD_BYTES) {
      reject(new BodyTooLargeError(declared));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_PAYLOAD_BYTES) {
        reject(new BodyTooLargeError(size));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks))
    );
    req.on('error', reject);
  });
}

/**
 * The satellite runtime's HTTP host: turns each request into the event API Gateway would
 * send, routes it to a function of the release the traffic split picks (the same one for
 * every request of a client that sends an affinity key, see affinity.ts), or the one its
 * `x-orbit-target-release` header names (a staged release is loaded on demand, an unknown
 * one answered 404; every answer a release gave names it in `x-orbit-release`), counts it
 * for that release (drained answers apart from its errors), verifies tokens on
 * `jwt` routes, enforces Lambda's limits (6 MB each way, the function's timeout) and maps
 * the result back as API Gateway does. A handler that throws, crashes or hangs costs its own
 * request a 500 or 504, never the host. Idle keep-alive connections stay open past the
 * proxy's idle timeout (Node's default, 5 s, is far below an ALB's 60 s).
 */
export function createRuntimeServer(options: RuntimeServerOptions): Server {
  const onError = options.onError ?? ((m, e) => console.error(m, e));
  const random = options.random ?? Math.random;

  // Writes its own answer and never rejects: one promise per request, no .then/.catch chain.
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const requestId = randomUUID();
    const url = req.url ?? '/';
    const queryStart = url.indexOf('?');
    const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
    const method = (req.method ?? 'GET').toUpperCase();
    let release: LoadedRelease | undefined;

    // Never throws: it runs in the invocation's callbacks, where nothing would catch it.
    const answer = (response: HttpResponse): void => {
      try {
        // An answer no release gave (the header named none this location can serve) is
        // counted for none, and says so by having no x-orbit-release.
        if (release) {
          options.stats.record(
            release.releaseId,
            response.status,
            performance.now() - started,
            isDrainedAnswer(response.headers)
          );
        }
        write(res, response, release?.releaseId, options.locationId);
      } catch (err) {
        onError('the runtime failed to answer', err);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    };
    const failed = (err: unknown): void => {
      let problem = err;
      if (err instanceof InvocationTimeoutError) {
        onError(`request ${requestId}: ${err.message}`, err);
        problem = new FunctionTimeoutError(err.timeoutMs);
      } else if (!(err instanceof HttpError)) {
        onError(`request ${requestId}: the handler failed`, err);
      }
      answer(fromResult(problemResponse(problem, requestId, rawPath)));
    };
    const answered = (result: unknown): void => {
      let response: HttpResponse;
      try {
        response = fromResult(result as APIGatewayProxyResultV2);
      } catch (err) {
        failed(err);
        return;
      }
      if (response.body.byteLength > MAX_PAYLOAD_BYTES) {
        failed(
          new HttpError(
            502,
            'response-too-large',
            `the function answered more than ${MAX_PAYLOAD_BYTES} bytes`
          )
        );
        return;
      }
      answer(response);
    };

    try {
      const state = options.traffic();
      const picked = releaseFor(req, state, random, options);
      // releaseFor names a staged release only where there are staged releases to load.
      release = typeof picked === 'string' ? await state.staged!.get(picked) : picked;
      const body = hasBody(req) ? await readBody(req) : NO_BODY;
      const target = resolve(release, method, rawPath);
      const authorizer =
        target.route?.auth === 'jwt' ? await authenticate(options.authenticate, req) : undefined;
      const event = toEvent({
        method,
        url,
        headers: req.headers,
        body,
        sourceIp: req.socket.remoteAddress ?? '',
        requestId,
        routeKey: target.routeKey,
        pathParameters: target.pathParameters,
        domainName: req.headers.host ?? 'localhost',
        now: new Date(),
        authorizer: authorizer ? { jwt: authorizer } : undefined,
      });
      invoke(target.fn, event, requestId, answered, failed);
    } catch (err) {
      failed(err);
    }
  };

  const timeouts = serverTimeouts(
    options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS * 1000
  );
  return createServer(timeouts, (req, res) => {
    void serve(req, res);
  });
}

interface Target {
  readonly fn: LoadedFunction;
  readonly routeKey: string;
  readonly route?: { readonly auth: 'jwt' | 'none' };
  readonly pathParameters?: Record<string, string>;
}

/** The function and route key for a request; unmatched requests go to the fallback (`$default`). */
function resolve(release: LoadedRelease, method: string, rawPath: string): Target {
  const match = release.routes.match(method, rawPath);
  if (match.kind === 'route') {
    const fn = release.functions.get(match.route.functionName);
    if (fn) {
      return {
        fn,
        routeKey: match.routeKey,
        route: match.route,
        pathParameters: match.pathParameters,
      };
    }
  }
  if (!release.fallback) throw new HttpError(404, 'not-found', `no route matches ${rawPath}`);
  return { fn: release.fallback, routeKey: '$default' };
}

async function authenticate(check: Authenticate | undefined, req: IncomingMessage) {
  if (!check) {
    throw new HttpError(
      401,
      'unauthorized',
      'this route needs a bearer token, and no issuer is configured',
      {
        headers: { 'www-authenticate': 'Bearer' },
      }
    );
  }
  return check(req.headers.authorization);
}

/**
 * The release a request goes to: the traffic split's pick (by the client's affinity key when
 * it sent one), or the id of the staged release its `x-orbit-target-release` header names,
 * for the caller to load (it serves no traffic). Throws an HttpError when the header is not
 * a release this location could serve.
 */
function releaseFor(
  req: IncomingMessage,
  state: TrafficState,
  random: () => number,
  options: Pick<RuntimeServerOptions, 'locationId' | 'affinityCookie'>
): LoadedRelease | string {
  const header = req.headers[RELEASE_OVERRIDE_HEADER];
  // Without a candidate there is nothing to stick to: no key is read.
  const affinityKey = state.candidate
    ? affinityKeyOf(req.headers, options.affinityCookie)
    : undefined;
  const picked = pickRelease(
    state,
    Array.isArray(header) ? header[0] : header,
    random,
    affinityKey
  );
  if (typeof picked === 'string' && !state.staged) {
    throw new ReleaseNotStagedError(picked, options.locationId);
  }
  return picked;
}

/** The names of {@link SECURITY_HEADERS}, for the answers that lack them. */
const SECURITY_HEADER_NAMES = Object.keys(SECURITY_HEADERS);

/**
 * Writes an answer. Headers the answer has are kept as they are (the bundle's middleware
 * already set the security and location headers on every answer of an Orbit function);
 * only those it lacks are added, into the answer's own headers object (fresh for each
 * response), rather than merging copies of it.
 */
function write(
  res: ServerResponse,
  response: HttpResponse,
  releaseId: string | undefined,
  locationId: string
): void {
  const headers: Record<string, string | string[]> = response.headers;
  for (const name of SECURITY_HEADER_NAMES) {
    if (headers[name] === undefined) headers[name] = SECURITY_HEADERS[name] as string;
  }
  if (headers['x-orbit-location'] === undefined) headers['x-orbit-location'] = locationId;
  if (releaseId && headers['x-orbit-release'] === undefined) headers['x-orbit-release'] = releaseId;
  headers['content-length'] = String(response.body.byteLength);
  res.writeHead(response.status, headers);
  res.end(response.body);
}
