import type { MiddlewareObj, Request } from '@middy/core';
import type { DrainState } from '../drain-state';
import { DrainedError } from '../errors';
import type { OrbitEvent, OrbitResult } from '../http';
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
 * The kill switch: while the location, or this function fleet-wide, is drained, requests
 * get 503 with `Retry-After`. The flags come from {@link DrainState}'s cache, never from a
 * table read per request.
 */
export function drain(options: DrainOptions): MiddlewareObj<OrbitEvent, OrbitResult> {
  const before = async (request: Request<OrbitEvent, OrbitResult>): Promise<void> => {
    const current = await options.state.get();
    requestState(request.event).drain = current;
    if (current.drained && !options.reportOnly) {
      throw new DrainedError(current.scope ?? 'this location', current.retryAfterSeconds);
    }
  };
  return { before };
}
