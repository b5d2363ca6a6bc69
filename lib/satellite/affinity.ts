import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The header by which a client asks to stay on one release for the whole rollout. */
export const AFFINITY_HEADER = 'x-orbit-affinity';

/**
 * The longest affinity key the runtime honours. Header values reach Node as latin1 strings,
 * one character per byte on the wire, so this counts bytes. Longer keys are ignored rather
 * than refused: affinity is a preference, never a reason to fail a request.
 */
export const MAX_AFFINITY_KEY_BYTES = 256;

const usable = (key: string | undefined): key is string =>
  key !== undefined && key.length > 0 && key.length <= MAX_AFFINITY_KEY_BYTES;

/** The value of cookie `name` in a `cookie` header, unquoted; undefined when it is not there. */
function cookieValue(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
      ? value.slice(1, -1)
      : value;
  }
  return undefined;
}

/**
 * The request's affinity key: the {@link AFFINITY_HEADER} header, else the cookie `cookieName`
 * when one is configured. A key that is empty or longer than {@link MAX_AFFINITY_KEY_BYTES}
 * counts as not sent (the next source is tried); undefined when no usable key is left, and
 * the request takes the per-request split.
 */
export function affinityKeyOf(
  headers: IncomingHttpHeaders,
  cookieName?: string
): string | undefined {
  const header = headers[AFFINITY_HEADER];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (usable(fromHeader)) return fromHeader;
  if (!cookieName || !headers.cookie) return undefined;
  const fromCookie = cookieValue(headers.cookie, cookieName);
  return usable(fromCookie) ? fromCookie : undefined;
}

/**
 * Where a key falls in [0, 1) for a candidate release: SHA-256 of `candidate \0 key`, its
 * first 53 bits over 2^53. The candidate is in the hash so that each rollout draws a new
 * sample of clients rather than always burdening the same ones; 53 bits because a double
 * holds them exactly, so the point is uniform and strictly below 1 (64 bits over 2^64 can
 * round up to 1.0, which would keep a key off the candidate even at full weight).
 */
export function affinityPoint(candidateReleaseId: string, key: string): number {
  const digest = createHash('sha256').update(`${candidateReleaseId}\0${key}`).digest();
  return (digest.readUInt32BE(0) * 2 ** 21 + (digest.readUInt32BE(4) >>> 11)) / 2 ** 53;
}
