import type { MiddlewareObj, Request } from '@middy/core';
import type { LocationContext } from '../../../core/location-env';
import { header, type OrbitEvent, type OrbitResult } from '../http';
import { requestState } from '../request-state';

/** Cross-origin settings of an environment's API (none: browsers get no CORS headers). */
export interface CorsSettings {
  /** Origins allowed, e.g. `https://app.example.com`; `*` allows any (without credentials). */
  readonly allowOrigins: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds: number;
}

/** Options of {@link responseHeaders}. */
export interface ResponseHeadersOptions {
  readonly location: LocationContext;
  /** @default - no CORS headers */
  readonly cors?: CorsSettings;
}

/** The security headers on every answer, from functions and from the satellite runtime. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * Adds the headers every answer carries, errors included: where it was served
 * (`x-orbit-location`, `x-orbit-release`), the usual security headers (a route may set its
 * own `cache-control`), and CORS headers for allowed origins.
 */
export function responseHeaders(
  options: ResponseHeadersOptions
): MiddlewareObj<OrbitEvent, OrbitResult> {
  const orbit = {
    'x-orbit-location': options.location.locationId,
    'x-orbit-release': options.location.releaseId,
  };
  const cors = options.cors;
  const corsHeaders = (event: OrbitEvent): Record<string, string> => {
    const origin = header(event, 'origin');
    if (!cors || !origin) return {};
    const any = cors.allowOrigins.includes('*');
    if (!any && !cors.allowOrigins.includes(origin)) return {};
    const base: Record<string, string> = {
      'access-control-allow-origin': any ? '*' : origin,
      vary: 'Origin',
    };
    if (cors.exposeHeaders.length > 0) {
      base['access-control-expose-headers'] = cors.exposeHeaders.join(', ');
    }
    const state = requestState(event);
    if (state.preflight) {
      base['access-control-allow-methods'] = (state.allow ?? []).join(', ');
      base['access-control-allow-headers'] = cors.allowHeaders.join(', ');
      base['access-control-max-age'] = String(cors.maxAgeSeconds);
    }
    return base;
  };
  const securityNames = Object.keys(SECURITY_HEADERS);
  // Into the response's own headers (every response has a fresh object), in the order the
  // answer's headers win over: the security headers unless the route set its own, then CORS
  // and Orbit's over anything the route set.
  const apply = (request: Request<OrbitEvent, OrbitResult>): void => {
    const response = request.response;
    if (!response) return;
    const headers = response.headers ?? {};
    for (const name of securityNames) {
      if (!Object.hasOwn(headers, name)) headers[name] = SECURITY_HEADERS[name] as string;
    }
    if (cors) Object.assign(headers, corsHeaders(request.event));
    headers['x-orbit-location'] = orbit['x-orbit-location'];
    headers['x-orbit-release'] = orbit['x-orbit-release'];
    response.headers = headers;
  };
  return { after: apply, onError: apply };
}
