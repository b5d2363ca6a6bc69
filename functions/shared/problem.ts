import { STATUS_CODES } from 'node:http';
import { HttpError } from '../../core/errors';
import type { OrbitResult } from './http';

/** The media type of every error body (RFC 9457). */
export const PROBLEM_JSON = 'application/problem+json';

/** The `type` URI of an Orbit problem; README lists them. */
export const problemType = (slug: string): string => `urn:orbit:problem:${slug}`;

/**
 * Turns any error into the response a client gets: an {@link HttpError} keeps its status,
 * detail and headers; anything else becomes a generic 500 that reveals nothing of it.
 */
export function problemResponse(error: unknown, requestId: string, instance: string): OrbitResult {
  const known = error instanceof HttpError ? error : undefined;
  const status = known?.statusCode ?? 500;
  const body = {
    type: problemType(known?.problem ?? 'internal'),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail:
      known?.message ?? 'an unexpected error occurred; quote the request id when reporting it',
    instance,
    requestId,
    ...known?.extensions,
  };
  return {
    statusCode: status,
    headers: { ...known?.headers, 'content-type': PROBLEM_JSON },
    body: JSON.stringify(body),
  };
}
