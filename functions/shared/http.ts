import type {
  APIGatewayEventRequestContextJWTAuthorizer,
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2WithRequestContext,
} from 'aws-lambda';
import type { LocationContext } from '../../core/location-env';
import type { Drain } from './drain-state';

/**
 * The event every Orbit function receives: API Gateway HTTP API payload 2.0. In regions the
 * JWT authorizer fills `requestContext.authorizer.jwt`; satellites fill it the same way.
 */
export type OrbitEvent = APIGatewayProxyEventV2WithRequestContext<
  APIGatewayEventRequestContextV2 & {
    authorizer?: Partial<APIGatewayEventRequestContextJWTAuthorizer>;
  }
>;

/** The result every Orbit function returns: always structured, never a bare string. */
export interface OrbitResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

/** The JWT claims the authorizer verified, or `undefined` on a public route. */
export type Claims = APIGatewayEventRequestContextJWTAuthorizer['jwt']['claims'];

/** What a route's logic receives: validated inputs and where it runs. */
export interface RouteInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly claims: Claims | undefined;
  /** The request id clients see in problem bodies and API Gateway's access logs. */
  readonly requestId: string;
  readonly location: LocationContext;
  /** The kill switch state, for routes that report it instead of obeying it (`/health`). */
  readonly drain: Drain;
}

/** What a route's logic returns; `body` is sent as JSON unless it is already a string. */
export interface RouteResult {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/**
 * A validation schema: anything with zod's `safeParse` (zod and `zod/mini` schemas alike, so
 * a function can pick the smaller build).
 */
export interface Schema<T> {
  safeParse(data: unknown):
    | { readonly success: true; readonly data: T }
    | {
        readonly success: false;
        readonly error: {
          readonly issues: readonly {
            readonly path: readonly PropertyKey[];
            readonly message: string;
          }[];
        };
      };
}

/** One route's validation schemas and logic. */
export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  /** @default - path parameters passed through unvalidated */
  readonly params?: Schema<P>;
  /** @default - query parameters passed through unvalidated */
  readonly query?: Schema<Q>;
  /** The JSON body's schema; a route without one ignores any body. @default - no body */
  readonly body?: Schema<B>;
  /** Media types accepted for the body. @default ['application/json'] */
  readonly bodyTypes?: readonly string[];
  readonly handle: (input: RouteInput<P, Q, B>) => Promise<RouteResult>;
}

/** Declares a route with its schemas; the types of `handle`'s input follow from them. */
// biome-ignore lint/suspicious/noExplicitAny: defaults let a route omit any schema
export const route = <P = any, Q = any, B = any>(spec: RouteSpec<P, Q, B>): RouteSpec<P, Q, B> =>
  spec;

/** A request header by its lower-case name (API Gateway lower-cases them in payload 2.0). */
export const header = (event: OrbitEvent, name: string): string | undefined =>
  event.headers?.[name];

/**
 * The header that sends one request to a chosen release on purpose (smoke tests):
 * `candidate`, `stable`, or the id of a release staged at the location, serving or not.
 */
export const RELEASE_OVERRIDE_HEADER = 'x-orbit-target-release';
