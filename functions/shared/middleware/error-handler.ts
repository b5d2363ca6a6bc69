import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj, Request } from '@middy/core';
import { FunctionTimeoutError, HttpError } from '../../../core/errors';
import type { OrbitEvent, OrbitResult } from '../http';
import { problemResponse } from '../problem';

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  readonly logger: Logger;
}

/** middy's own signal that the function is about to run out of time. */
const isMiddyTimeout = (err: unknown): boolean =>
  (err as Error)?.name === 'TimeoutError' &&
  ((err as Error).cause as { package?: string } | undefined)?.package === '@middy/core';

/**
 * The one error mapper: every error becomes an `application/problem+json` response. 4xx
 * errors carry their detail to the client; anything else is logged with its stack and
 * answered with a generic 500; running out of time is a 504. Register it last, so that its `onError` runs first.
 */
export function errorHandler(options: ErrorHandlerOptions): MiddlewareObj<OrbitEvent, OrbitResult> {
  const onError = (request: Request<OrbitEvent, OrbitResult>): void => {
    const { event } = request;
    const error = isMiddyTimeout(request.error) ? new FunctionTimeoutError() : request.error;
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
