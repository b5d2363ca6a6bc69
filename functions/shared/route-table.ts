import type { HttpMethod, Route } from '../../core/declaration';

/** A route as the release knows it: which function serves it. */
export interface ReleaseRoute extends Route {
  readonly functionName: string;
}

/** The outcome of matching a request against a route table. */
export type RouteMatch =
  | {
      readonly kind: 'route';
      readonly route: ReleaseRoute;
      /** The route's key (`GET /items/{id}`), built once per table rather than per request. */
      readonly routeKey: string;
      readonly pathParameters: Record<string, string>;
    }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly HttpMethod[] }
  | { readonly kind: 'not-found' };

interface CompiledRoute {
  readonly route: ReleaseRoute;
  readonly routeKey: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  /** Literal segments first, then parameters, greedy `{name+}` last: API Gateway's order. */
  readonly rank: number;
}

function compile(route: ReleaseRoute): CompiledRoute {
  const names: string[] = [];
  let rank = 0;
  const segments = route.path
    .split('/')
    .slice(1)
    .map((segment) => {
      const param = /^\{([A-Za-z][A-Za-z0-9_]*)(\+?)\}$/.exec(segment);
      if (!param) {
        rank += 1_000;
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
      names.push(param[1] as string);
      if (param[2]) return '(.+)';
      rank += 1;
      return '([^/]+)';
    });
  if (route.path.includes('+}')) rank -= 1_000_000;
  return {
    route,
    routeKey: routeKeyOf(route),
    pattern: new RegExp(`^/${segments.join('/')}$`),
    names,
    rank,
  };
}

/**
 * Matches requests to routes the way API Gateway HTTP APIs do, so that the satellite runtime
 * and the fallback function answer 404 and 405 exactly where a region would.
 */
export class RouteTable {
  private readonly compiled: readonly CompiledRoute[];

  constructor(routes: readonly ReleaseRoute[]) {
    this.compiled = routes.map(compile).sort((a, b) => b.rank - a.rank);
  }

  /** Every route, most specific first. */
  get routes(): readonly ReleaseRoute[] {
    return this.compiled.map((c) => c.route);
  }

  /** Finds the route for `method` and `path`, or says why there is none. */
  match(method: string, path: string): RouteMatch {
    // The methods the path allows are gathered only when the method has no route: the
    // answer is then a 405 (or a preflight), and the common case allocates nothing for it.
    for (const c of this.compiled) {
      if (c.route.method !== method) continue;
      const m = c.pattern.exec(path);
      if (!m) continue;
      const pathParameters: Record<string, string> = {};
      for (let i = 0; i < c.names.length; i++) {
        pathParameters[c.names[i] as string] = safeDecode(m[i + 1] as string);
      }
      return { kind: 'route', route: c.route, routeKey: c.routeKey, pathParameters };
    }
    const allow = new Set<HttpMethod>();
    for (const c of this.compiled) if (c.pattern.test(path)) allow.add(c.route.method);
    if (allow.size === 0) return { kind: 'not-found' };
    return { kind: 'method-not-allowed', allow: [...allow].sort() };
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The route key API Gateway puts in the event, e.g. `GET /items/{id}`. */
export const routeKeyOf = (route: Route): string => `${route.method} ${route.path}`;
