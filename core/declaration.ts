/**
 * How a function under `functions/api/<name>/` declares itself to the platform. The release
 * build reads `function.ts` of each folder; the location stacks, the manifest and (later) the
 * satellite runtime are all built from these declarations, so nothing else needs wiring.
 */

/**
 * A function's name: its folder under `functions/api/`, and part of its Lambda function name
 * (`orbit-<env>-<name>`) and metric dimensions. The release build and `orbit new function`
 * both hold names to it.
 */
export const FUNCTION_NAME = /^[a-z][a-z0-9-]{0,31}$/;

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

/**
 * The application data a function reads or writes in the global table, by partition key.
 * Its IAM policy allows exactly these partitions (`dynamodb:LeadingKeys`); the platform adds
 * read access to the function's own drain and location records by itself.
 */
export interface TableAccess {
  readonly access: 'read' | 'read-write';
  /** Partition keys (or `PREFIX#*` patterns) of the records it touches, e.g. `ITEMS`. */
  readonly partitions: readonly string[];
}

/** A function's declaration: its routes and the few runtime settings that differ per function. */
export interface FunctionDeclaration {
  readonly routes: readonly RouteDeclaration[];
  /**
   * Serves every request that matches no route (API Gateway's `$default` route), to answer
   * 404, 405 and CORS preflights the same way at every location. One function per release.
   * @default false
   */
  readonly fallback?: boolean;
  /** @default - no application data, only the platform's own records */
  readonly table?: TableAccess;
  /**
   * Largest request body accepted, in bytes (413 above it).
   * @default 1048576 (1 MiB)
   */
  readonly maxBodyBytes?: number;
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
  readonly fallback: boolean;
  readonly table: TableAccess | null;
  readonly maxBodyBytes: number;
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
  if (declaration.fallback && declaration.routes.length > 0) {
    throw new Error(
      'a fallback function serves every unmatched request; it declares no routes of its own'
    );
  }
  if (declaration.table && declaration.table.partitions.length === 0) {
    throw new Error(
      "table.partitions is empty: list the partition keys the function touches, e.g. ['ITEMS']"
    );
  }
  const maxBodyBytes = declaration.maxBodyBytes;
  if (maxBodyBytes !== undefined && !(maxBodyBytes > 0 && maxBodyBytes <= 6 * 1024 * 1024)) {
    throw new Error(
      `maxBodyBytes ${maxBodyBytes}: must be between 1 and 6291456 (Lambda's 6 MB payload limit)`
    );
  }
  return {
    routes: declaration.routes.map((r) => ({
      method: r.method,
      path: r.path,
      auth: r.auth ?? 'jwt',
    })),
    fallback: declaration.fallback ?? false,
    table: declaration.table ?? null,
    maxBodyBytes: declaration.maxBodyBytes ?? 1_048_576,
    memoryMb: declaration.memoryMb ?? 256,
    timeoutSeconds: declaration.timeoutSeconds ?? 10,
  };
}
