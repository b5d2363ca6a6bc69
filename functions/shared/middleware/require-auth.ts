import type { MiddlewareObj, Request } from '@middy/core';
import { UnauthorizedError } from '../../../core/errors';
import type { OrbitEvent, OrbitResult } from '../http';
import { requestState } from '../request-state';

/**
 * Fails closed on `jwt` routes: the token itself is verified before the function runs (by
 * API Gateway's JWT authorizer in regions, by the runtime on satellites), which leaves its
 * claims in `requestContext.authorizer.jwt`. A `jwt` route reached without them — an API
 * wired without its authorizer — is refused, never served as if public.
 */
export function requireAuth(): MiddlewareObj<OrbitEvent, OrbitResult> {
  const before = (request: Request<OrbitEvent, OrbitResult>): void => {
    const route = requestState(request.event).route;
    if (route?.auth !== 'jwt') return;
    if (!request.event.requestContext.authorizer?.jwt?.claims) {
      throw new UnauthorizedError(
        "this route needs a bearer token from the environment's issuer",
        'Bearer'
      );
    }
  };
  return { before };
}
