/**
 * How a function under `functions/api/<name>/` declares itself to the platform. The release
 * build reads `function.ts` of each folder; the location stacks, the manifest and (later) the
 * satellite runtime are all built from these declarations, so nothing else needs wiring.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One route a function serves. */
export interface RouteDeclaration {
  readonly method: HttpMethod;
  /** API Gateway path syntax, e.g. `/items/{id}`. */
  readonly path: string;
  /** `jwt` needs a bearer token from the environment's issuer; `none` is public. @default 'jwt' */
  readonly auth?: 'jwt' | 'none';
}

/** What the function may do with the global table. */
export type TableAccess = 'none' | 'read' | 'read-write';

/** A function's declaration: its routes and the few runtime settings that differ per function. */
export interface FunctionDeclaration {
  readonly routes: readonly RouteDeclaration[];
  /** @default 'none' */
  readonly table?: TableAccess;
  /** @default 256 */
  readonly memoryMb?: number;
  /** @default 10 */
  readonly timeoutSeconds?: number;
}

/** A route with its defaults applied. */
export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  readonly auth: 'jwt' | 'none';
}

/** A declaration with its defaults applied. */
export interface ResolvedDeclaration {
  readonly routes: readonly Route[];
  readonly table: TableAccess;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

const PATH =
  /^\/(?:[A-Za-z0-9._~-]+|\{[A-Za-z][A-Za-z0-9_]*\+?\})(?:\/(?:[A-Za-z0-9._~-]+|\{[A-Za-z][A-Za-z0-9_]*\+?\}))*$|^\/$/;

/**
 * Declares a function; checks it at once so that a bad route fails the build with the
 * function's name in the message rather than at deploy time.
 */
export function defineFunction(declaration: FunctionDeclaration): ResolvedDeclaration {
  for (const route of declaration.routes) {
    if (!HTTP_METHODS.includes(route.method)) {
      throw new Error(
        `route ${route.method} ${route.path}: method must be one of ${HTTP_METHODS.join(', ')}`
      );
    }
    if (!PATH.test(route.path)) {
      throw new Error(
        `route ${route.method} ${route.path}: path must start with / and use {name} for parameters, e.g. /items/{id}`
      );
    }
  }
  return {
    routes: declaration.routes.map((r) => ({
      method: r.method,
      path: r.path,
      auth: r.auth ?? 'jwt',
    })),
    table: declaration.table ?? 'none',
    memoryMb: declaration.memoryMb ?? 256,
    timeoutSeconds: declaration.timeoutSeconds ?? 10,
  };
}
