import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import { DrainedError, NotFoundError } from '../../../core/errors';
import type { Drain, DrainState } from '../drain-state';
import type { OrbitEvent, OrbitResult } from '../http';
import { DRAINED_HEADER } from '../metric-contract';
import { requestState } from '../request-state';

/** Options of {@link drain}. */
export interface DrainOptions {
  readonly state: DrainState;
  /**
   * Report the drain to the route's logic instead of refusing the request (`/health`).
   * @default false
   */
  readonly reportOnly?: boolean;
}

/**
 * Whether Lambda ran the request through a version's own ARN (`function:NAME:7`) rather than
 * the `live` alias API Gateway invokes: the orchestrator's smoke checks of a release before
 * it gets traffic. Lambda sets the ARN, and only principals allowed to invoke versions can.
 */
export const invokedByVersion = (context: Context | undefined): boolean =>
  /:function:[^:]+:\d+$/.test(context?.invokedFunctionArn ?? '');

/**
 * The kill switch: while the location, or this function fleet-wide, is drained, requests
 * get 503 with `Retry-After`. Code of a release the location does not serve (see
 * {@link DrainState}'s `releaseId`) answers 404, as the served release would, except to a
 * smoke check ({@link invokedByVersion}). The flags come from {@link DrainState}'s cache, never from a
 * table read per request.
 */
export function drain(options: DrainOptions): MiddlewareObj<OrbitEvent, OrbitResult> {
  const decide = (request: Request<OrbitEvent, OrbitResult>, current: Drain): void => {
    requestState(request.event).drain = current;
    if (options.reportOnly) return;
    if (current.drained) {
      throw new DrainedError(current.scope ?? 'this location', current.retryAfterSeconds);
    }
    // What the served releases' routes would answer: this route is not in them. A smoke
    // check invokes the version itself, before its release serves: it gets the code's answer.
    if (current.released === false && !invokedByVersion(request.context)) {
      throw new NotFoundError(`no route matches ${request.event.rawPath}`);
    }
  };
  const before = (request: Request<OrbitEvent, OrbitResult>): void | Promise<void> => {
    // While the cache is fresh and names no refusal to recheck, nothing is awaited.
    const cached = options.state.cached();
    if (cached !== undefined && cached.released !== false) return decide(request, cached);
    return (async () => {
      let current = await options.state.get();
      // A refusal is checked against a fresh read: the orchestrator may have just added this
      // release (it records that before routing here, see SERVED_RECHECK_MS).
      if (current.released === false) current = await options.state.recheckServed();
      decide(request, current);
    })();
  };
  // Marks the refusal (after the error handler made it a response), so that it is counted
  // as drained, not as an error of the release.
  const onError = (request: Request<OrbitEvent, OrbitResult>): void => {
    if (!(request.error instanceof DrainedError) || !request.response) return;
    request.response.headers = { ...request.response.headers, [DRAINED_HEADER]: '1' };
  };
  return { before, onError };
}
