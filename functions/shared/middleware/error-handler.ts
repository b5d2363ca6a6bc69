import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj, Request } from '@middy/core';
import { HttpError } from '../errors';
import type { OrbitEvent, OrbitResult } from '../http';
import { problemResponse } from '../problem';

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  readonly logger: Logger;
}

/**
 * The one error mapper: every error becomes an `application/problem+json` response. 4xx
 * errors carry their detail to the client; anything else is logged with its stack and
 * answered with a generic 500. Register it last, so that its `onError` runs first.
 */
export function errorHandler(options: ErrorHandlerOptions): MiddlewareObj<OrbitEvent, OrbitResult> {
  const onError = (request: Request<OrbitEvent, OrbitResult>): void => {
    const { error, event } = request;
    if (!(error instanceof HttpError) || error.statusCode >= 500) {
      const expected = error instanceof HttpError;
      options.logger[expected ? 'warn' : 'error'](
        expected ? 'request refused' : 'unhandled error',
        error as Error
      );
    }
    request.response = problemResponse(
      error,
      event.requestContext?.requestId ?? 'unknown',
      event.rawPath ?? '/'
    );
  };
  return { onError };
}
