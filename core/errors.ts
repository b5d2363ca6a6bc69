/**
 * The errors an Orbit function may throw. Every HTTP-facing error carries its status code,
 * a problem type and a detail written for the client; the error handler turns it into an
 * `application/problem+json` body (RFC 9457). Anything that is not an {@link HttpError} is a
 * bug or an outage: the client gets a generic 500, the details go to the log only.
 */

/** One failing field of a request, as listed in a 400 problem body. */
export interface FieldIssue {
  /** Which part of the request: `path`, `query`, `body` or `header`. */
  readonly in: 'path' | 'query' | 'body' | 'header';
  /** Dotted path of the field inside that part, `''` for the part itself. */
  readonly field: string;
  readonly message: string;
}

/** Base class of every error a client may see. */
export class HttpError extends Error {
  /** HTTP status code, 4xx or 5xx. */
  readonly statusCode: number;
  /** Short, stable problem slug; the problem `type` is `urn:orbit:problem:<slug>`. */
  readonly problem: string;
  /** Response headers the error needs (`Allow`, `Retry-After`, `WWW-Authenticate`, `ETag`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Extra members of the problem body (e.g. `errors` for validation). */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    statusCode: number,
    problem: string,
    detail: string,
    extras: {
      headers?: Record<string, string>;
      extensions?: Record<string, unknown>;
    } = {},
    options?: ErrorOptions
  ) {
    super(detail, options);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.problem = problem;
    this.headers = extras.headers ?? {};
    this.extensions = extras.extensions ?? {};
  }
}

/** 400: the request is malformed or fails validation; `errors` lists every failing field. */
export class ValidationError extends HttpError {
  readonly issues: readonly FieldIssue[];
  constructor(detail: string, issues: readonly FieldIssue[] = [], options?: ErrorOptions) {
    super(400, 'validation', detail, { extensions: { errors: issues } }, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** 401: no credentials, or credentials that do not prove who the caller is. */
export class UnauthorizedError extends HttpError {
  constructor(detail: string, wwwAuthenticate: string, options?: ErrorOptions) {
    super(
      401,
      'unauthorized',
      detail,
      { headers: { 'www-authenticate': wwwAuthenticate } },
      options
    );
    this.name = 'UnauthorizedError';
  }
}

/** 403: the caller is known but not allowed (e.g. a token issued for another audience). */
export class ForbiddenError extends HttpError {
  constructor(detail: string, wwwAuthenticate?: string, options?: ErrorOptions) {
    super(
      403,
      'forbidden',
      detail,
      wwwAuthenticate ? { headers: { 'www-authenticate': wwwAuthenticate } } : {},
      options
    );
    this.name = 'ForbiddenError';
  }
}

/** 404: no such route, or no such resource. */
export class NotFoundError extends HttpError {
  constructor(detail: string) {
    super(404, 'not-found', detail);
    this.name = 'NotFoundError';
  }
}

/** 405: the path exists but not with this method; `Allow` lists the methods that do. */
export class MethodNotAllowedError extends HttpError {
  constructor(method: string, path: string, allow: readonly string[]) {
    super(405, 'method-not-allowed', `${method} is not allowed on ${path}`, {
      headers: { allow: allow.join(', ') },
      extensions: { allow },
    });
    this.name = 'MethodNotAllowedError';
  }
}

/** 412: a conditional request (`If-Match`, `If-None-Match`) does not hold any more. */
export class PreconditionFailedError extends HttpError {
  constructor(detail: string, currentEtag?: string, options?: ErrorOptions) {
    super(
      412,
      'precondition-failed',
      detail,
      currentEtag ? { headers: { etag: currentEtag } } : {},
      options
    );
    this.name = 'PreconditionFailedError';
  }
}

/** 413: the body is larger than the route accepts. */
export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number, actualBytes: number) {
    super(
      413,
      'payload-too-large',
      `the body is ${actualBytes} bytes; this route accepts at most ${limitBytes}`,
      { extensions: { limitBytes } }
    );
    this.name = 'PayloadTooLargeError';
  }
}

/** 415: the body is not in a media type the route accepts. */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(received: string | undefined, accepted: readonly string[]) {
    super(
      415,
      'unsupported-media-type',
      `content-type ${received ? `'${received}'` : 'is missing'}; send ${accepted.join(' or ')}`,
      { extensions: { accepted } }
    );
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** 503: not serving right now, on purpose (drain) or because a dependency is saturated. */
export class ServiceUnavailableError extends HttpError {
  constructor(problem: string, detail: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(
      503,
      problem,
      detail,
      {
        headers: { 'retry-after': String(retryAfterSeconds) },
        extensions: { retryAfterSeconds },
      },
      options
    );
    this.name = 'ServiceUnavailableError';
  }
}

/** 503: the location, or this function fleet-wide, is drained (kill switch). */
export class DrainedError extends ServiceUnavailableError {
  constructor(scope: string, retryAfterSeconds: number) {
    super('drained', `${scope} is drained and not serving requests`, retryAfterSeconds);
    this.name = 'DrainedError';
  }
}

/** 503: the table in the data region is throttling or not answering; retrying later helps. */
export class TableUnavailableError extends ServiceUnavailableError {
  constructor(detail: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super('table-unavailable', detail, retryAfterSeconds, options);
    this.name = 'TableUnavailableError';
  }
}

/** 504: the function did not finish within its timeout. */
export class FunctionTimeoutError extends HttpError {
  constructor(timeoutMs?: number, options?: ErrorOptions) {
    super(
      504,
      'timeout',
      timeoutMs === undefined
        ? 'the function did not finish within its timeout'
        : `the function did not finish within its timeout of ${timeoutMs} ms`,
      {},
      options
    );
    this.name = 'FunctionTimeoutError';
  }
}
