import type { MiddlewareObj, Request } from '@middy/core';
import type { Route } from '../../../core/declaration';
import { MethodNotAllowedError, NotFoundError } from '../../../core/errors';
import type { OrbitEvent, OrbitResult, RouteSpec } from '../http';
import { requestState } from '../request-state';
import type { RouteTable } from '../route-table';

/** Options of {@link routing}. */
export interface RoutingOptions {
  /** The function's name, for the message when a request reaches the wrong function. */
  readonly functionName: string;
  /** This function's routes with their specs, by route key (`GET /items/{id}`). */
  readonly routes: ReadonlyMap<string, { route: Route; spec: RouteSpec }>;
  /** Every route of the release: what 404 and 405 are decided against. */
  readonly table: RouteTable;
  /** Whether CORS preflights are answered (the environment configures CORS). */
  readonly cors: boolean;
}

/**
 * Picks the route a request is for. API Gateway names it in `routeKey`; a request that
 * reached the function through the `$default` route (the fallback function) is matched
 * against the release's route table instead, to answer 404, or 405 with `Allow`, or a CORS
 * preflight — the same answers at every kind of location.
 */
export function routing(options: RoutingOptions): MiddlewareObj<OrbitEvent, OrbitResult> {
  const before = (request: Request<OrbitEvent, OrbitResult>): void => {
    const { event } = request;
    const state = requestState(event);
    const own = options.routes.get(event.routeKey);
    if (own) {
      state.route = own.route;
      state.spec = own.spec;
      state.params = event.pathParameters ?? {};
      return;
    }
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath;
    const match = options.table.match(method, path);
    if (match.kind === 'route') {
      const mine = options.routes.get(match.routeKey);
      if (!mine) {
        throw new Error(
          `${match.routeKey} is served by '${match.route.functionName}', but the request reached '${options.functionName}'`
        );
      }
      state.route = mine.route;
      state.spec = mine.spec;
      state.params = match.pathParameters;
      return;
    }
    if (match.kind === 'not-found') throw new NotFoundError(`no route matches ${path}`);
    if (method === 'OPTIONS' && options.cors) {
      state.preflight = true;
      state.allow = match.allow;
      return;
    }
    throw new MethodNotAllowedError(method, path, match.allow);
  };
  return { before };
}
