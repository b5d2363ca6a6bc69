import { ValidationError } from '../../core/errors';

/**
 * Conditional requests (RFC 9110 §13) for resources that carry one strong entity tag.
 * `If-Match` and `If-None-Match` are parsed once, at the edge, and evaluated in the order
 * §13.2.2 requires. The date preconditions (`If-Unmodified-Since`, `If-Modified-Since`) are
 * not supported: these resources send no `Last-Modified`, and §13.1.3 and §13.1.4 tell a
 * recipient to ignore them when no modification date is available.
 */

/** An entity tag (RFC 9110 §8.8.3): the characters between its quotes, and its `W/` flag. */
export interface EntityTag {
  readonly opaque: string;
  readonly weak: boolean;
}

/** The value of `If-Match` or `If-None-Match`: `*`, or a list of entity tags. */
export type EntityTagCondition = '*' | readonly EntityTag[];

/** The entity-tag preconditions of one request; an absent header is an absent member. */
export interface Preconditions {
  readonly ifMatch?: EntityTagCondition;
  readonly ifNoneMatch?: EntityTagCondition;
}

/** The target resource as the server holds it now. */
export interface SelectedRepresentation {
  /** Whether the resource has a current representation (an item that exists). */
  readonly exists: boolean;
  /** Its strong entity tag, when it has one. @default - none: no listed tag can match */
  readonly etag?: string;
}

/** What evaluating the preconditions decided. */
export type PreconditionOutcome =
  | { readonly holds: true }
  | {
      readonly holds: false;
      /** 304 for a false `If-None-Match` on GET or HEAD; 412 for everything else. */
      readonly status: 304 | 412;
      readonly header: 'If-Match' | 'If-None-Match';
    };

// §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
// §5.6.1: list elements are separated by commas with optional whitespace, and a recipient
// accepts empty elements (`"a", , "b"`).
const ELEMENT = /^[ \t]*(?:(W\/)?"([\x21\x23-\x7E\x80-\uFFFF]*)"[ \t]*)?(?:,|$)/;

/**
 * Parses an `If-Match` / `If-None-Match` value (RFC 9110 §13.1.1, §13.1.2): `*` or a
 * comma-separated list of entity tags. A value that is neither is a 400 naming the header:
 * a precondition the server cannot read must not be silently skipped, or a client meaning
 * "only if unchanged" would overwrite someone else's write.
 */
export function parseEntityTagCondition(name: string, value: string): EntityTagCondition {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  let rest = value;
  while (rest.length > 0) {
    const match = ELEMENT.exec(rest);
    if (!match || match[0].length === 0) {
      const field = name.toLowerCase();
      throw new ValidationError(
        `${name} must be * or a comma-separated list of entity tags ("abc", W/"abc"); cannot read ${JSON.stringify(rest.trim())}`,
        [{ in: 'header', field, message: 'must be * or a list of quoted entity tags' }]
      );
    }
    if (match[2] !== undefined) tags.push({ opaque: match[2], weak: match[1] !== undefined });
    rest = rest.slice(match[0].length);
  }
  return tags;
}

/** Reads `If-Match` and `If-None-Match` from request headers (names lower-cased). */
export function preconditionsOf(
  headers: Readonly<Record<string, string | undefined>>
): Preconditions {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  return {
    ...(ifMatch === undefined ? {} : { ifMatch: parseEntityTagCondition('If-Match', ifMatch) }),
    ...(ifNoneMatch === undefined
      ? {}
      : { ifNoneMatch: parseEntityTagCondition('If-None-Match', ifNoneMatch) }),
  };
}

/** Whether the request carries any entity-tag precondition. */
export const isConditional = (p: Preconditions): boolean =>
  p.ifMatch !== undefined || p.ifNoneMatch !== undefined;

/** §8.8.3.2 strong comparison: neither tag is weak and the opaque tags are equal. */
export const strongMatch = (tag: EntityTag, current: string): boolean =>
  !tag.weak && tag.opaque === current;

/** §8.8.3.2 weak comparison: the opaque tags are equal, whatever their `W/` flags. */
export const weakMatch = (tag: EntityTag, current: string): boolean => tag.opaque === current;

const anyMatches = (
  condition: EntityTagCondition,
  selected: SelectedRepresentation,
  compare: (tag: EntityTag, current: string) => boolean
): boolean => {
  if (!selected.exists) return false;
  if (condition === '*') return true;
  const etag = selected.etag;
  return etag !== undefined && condition.some((tag) => compare(tag, etag));
};

/**
 * Evaluates the preconditions against the selected representation in the order of RFC 9110
 * §13.2.2: `If-Match` first (strong comparison, §13.1.1; false → 412), then `If-None-Match`
 * (weak comparison, §13.1.2; false → 304 for GET and HEAD, 412 for any other method).
 * `If-Match` on a resource without a current representation is false (§13.1.1), so it is a
 * 412 rather than the 404 the method would answer.
 */
export function evaluatePreconditions(
  preconditions: Preconditions,
  selected: SelectedRepresentation,
  method: string
): PreconditionOutcome {
  const { ifMatch, ifNoneMatch } = preconditions;
  if (ifMatch !== undefined && !anyMatches(ifMatch, selected, strongMatch)) {
    return { holds: false, status: 412, header: 'If-Match' };
  }
  if (ifNoneMatch !== undefined && anyMatches(ifNoneMatch, selected, weakMatch)) {
    const safe = method === 'GET' || method === 'HEAD';
    return { holds: false, status: safe ? 304 : 412, header: 'If-None-Match' };
  }
  return { holds: true };
}

/** An entity tag as sent in `ETag` (RFC 9110 §8.8.3): the opaque tag in double quotes. */
export const formatEntityTag = (opaque: string): string => `"${opaque}"`;
