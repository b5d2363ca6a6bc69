import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.cjs';
import {
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ValidationError,
} from '../../../core/errors';
import {
  type EntityTag,
  evaluatePreconditions,
  formatEntityTag,
  type Preconditions,
  preconditionsOf,
} from '../../shared/conditional-request';
import { type RouteResult, route } from '../../shared/http';
import type { RouteSpecs } from '../../shared/orbit-handler';
import { decodeCursor, encodeCursor } from './cursor';
import { MAX_ITEM_BYTES } from './function';
import { applyMergePatch, type Json } from './merge-patch';
import { type Item, type ItemStore, VersionConflictError, type WriteCondition } from './store';

// zod/mini (a third of zod's size) ships without messages; English ones tell clients what to fix.
z.config(en());

/** Item ids: 1-200 characters of letters, digits, `.`, `_` and `-`. */
export const itemId = z.string().check(
  z.regex(/^[A-Za-z0-9._-]{1,200}$/, {
    error: 'must be 1-200 characters of letters, digits, ., _ or -',
  })
);
export const idParams = z.strictObject({ id: itemId });
/**
 * A JSON object body, kept as `JSON.parse` made it. The body is valid JSON by the time it is
 * checked; rebuilding it member by member (as `z.record` does) would drop a member named
 * `__proto__`, which clients may send and read back like any other.
 */
export const itemValue = z.custom<Record<string, Json>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  { error: 'must be a JSON object' }
);
export const listQuery = z.strictObject({
  prefix: z._default(
    z
      .string()
      .check(
        z.regex(/^[A-Za-z0-9._-]{0,200}$/, { error: 'must be up to 200 characters of an item id' })
      ),
    ''
  ),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 20),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});

/** How often PATCH re-reads and retries when another writer changed the item meanwhile. */
const PATCH_ATTEMPTS = 3;

/** The most entity tags one `If-Match` or `If-None-Match` may list (DynamoDB's IN takes 100). */
export const MAX_LISTED_ETAGS = 50;

const quote = formatEntityTag;

/** The representation clients get: everything but the ETag, which travels as a header. */
export const representation = ({ etag: _etag, ...rest }: Item) => rest;

const withEtag = (
  status: number,
  item: Item,
  headers: Record<string, string> = {}
): RouteResult => ({
  status,
  headers: { etag: quote(item.etag), ...headers },
  body: representation(item),
});

/** The request's `If-Match` / `If-None-Match` (RFC 9110 §13.1.1, §13.1.2); 400 when unreadable. */
export function itemPreconditions(
  headers: Readonly<Record<string, string | undefined>>
): Preconditions {
  const preconditions = preconditionsOf(headers);
  for (const [name, condition] of [
    ['if-match', preconditions.ifMatch],
    ['if-none-match', preconditions.ifNoneMatch],
  ] as const) {
    if (Array.isArray(condition) && condition.length > MAX_LISTED_ETAGS) {
      throw new ValidationError(`${name} lists more than ${MAX_LISTED_ETAGS} entity tags`, [
        { in: 'header', field: name, message: `at most ${MAX_LISTED_ETAGS} entity tags` },
      ]);
    }
  }
  return preconditions;
}

/**
 * The preconditions as a condition DynamoDB checks in the write itself, so they hold at the
 * moment the write applies. `If-Match` compares strongly (a weak tag never matches, §13.1.1),
 * `If-None-Match` weakly (the `W/` flag is ignored, §13.1.2); both must hold (§13.2.2).
 */
export function writeConditionOf(preconditions: Preconditions): WriteCondition {
  const { ifMatch, ifNoneMatch } = preconditions;
  if (Array.isArray(ifMatch) && ifMatch.length > 0 && ifMatch.every((t) => t.weak)) {
    throw new PreconditionFailedError(
      'a weak ETag never matches If-Match (strong comparison, RFC 9110 §13.1.1); send the strong ETag'
    );
  }
  const strongOnly = (tags: readonly EntityTag[]) =>
    tags.filter((t) => !t.weak).map((t) => t.opaque);
  return {
    ...(ifMatch === undefined ? {} : { ifMatch: ifMatch === '*' ? '*' : strongOnly(ifMatch) }),
    ...(ifNoneMatch === undefined
      ? {}
      : { ifNoneMatch: ifNoneMatch === '*' ? '*' : ifNoneMatch.map((t) => t.opaque) }),
  };
}

/** The 412 for a precondition that is false, with the item's current ETag when it has one. */
function preconditionFailed(
  id: string,
  header: 'If-Match' | 'If-None-Match',
  preconditions: Preconditions,
  item: Item | undefined
): PreconditionFailedError {
  if (!item) return new PreconditionFailedError(`item '${id}' does not exist (${header})`);
  const detail =
    header === 'If-Match'
      ? 'the item has changed since the ETag in If-Match was read (strong comparison); read it again and retry'
      : preconditions.ifNoneMatch === '*'
        ? `item '${id}' already exists (If-None-Match: *)`
        : "the item's current ETag is listed in If-None-Match";
  return new PreconditionFailedError(detail, quote(item.etag));
}

/**
 * Evaluates the preconditions against the item as it is now (RFC 9110 §13.2.2): a 304 to
 * answer, a 412 thrown, or `undefined` when they hold and the method goes ahead.
 */
function checkPreconditions(
  preconditions: Preconditions,
  method: string,
  id: string,
  item: Item | undefined
): RouteResult | undefined {
  const selected = item ? { exists: true, etag: item.etag } : { exists: false };
  const outcome = evaluatePreconditions(preconditions, selected, method);
  if (outcome.holds) return undefined;
  // A false If-None-Match means the item exists; §15.4.5 wants its ETag on the 304.
  if (outcome.status === 304 && item) return { status: 304, headers: { etag: quote(item.etag) } };
  throw preconditionFailed(id, outcome.header, preconditions, item);
}

const sizeOf = (value: Json) => Buffer.byteLength(JSON.stringify(value));

/** The logic of the items API, one function per route; `store` is the table adapter. */
export const items = {
  async get(store: ItemStore, id: string, preconditions: Preconditions): Promise<RouteResult> {
    const item = await store.get(id);
    const answer = checkPreconditions(preconditions, 'GET', id, item);
    if (answer) return answer;
    if (!item) return notFound(id);
    return withEtag(200, item);
  },

  /** Conditions go to DynamoDB with the write: one request, and no writer slips in between. */
  async put(
    store: ItemStore,
    id: string,
    value: Record<string, Json>,
    preconditions: Preconditions
  ): Promise<RouteResult> {
    const { item, created } = await store.put(id, value, writeConditionOf(preconditions));
    return created ? withEtag(201, item, { location: `/items/${id}` }) : withEtag(200, item);
  },

  /**
   * JSON merge patch as read-modify-write: the preconditions are evaluated against the item
   * read, and the write applies only if the item is still that one; when another writer
   * slipped in between, the item is read again and the preconditions evaluated again.
   */
  async patch(
    store: ItemStore,
    id: string,
    patch: Record<string, Json>,
    preconditions: Preconditions
  ): Promise<RouteResult> {
    for (let attempt = 1; ; attempt++) {
      const current = await store.get(id);
      checkPreconditions(preconditions, 'PATCH', id, current);
      if (!current) return notFound(id);
      const value = applyMergePatch(current.value, patch) as Record<string, Json>;
      const bytes = sizeOf(value);
      if (bytes > MAX_ITEM_BYTES) throw new PayloadTooLargeError(MAX_ITEM_BYTES, bytes);
      try {
        return withEtag(200, await store.replaceIf(id, value, current.etag));
      } catch (err) {
        if (!(err instanceof VersionConflictError) || attempt >= PATCH_ATTEMPTS) throw err;
      }
    }
  },

  async delete(store: ItemStore, id: string, preconditions: Preconditions): Promise<RouteResult> {
    await store.delete(id, writeConditionOf(preconditions));
    return { status: 204 };
  },

  /** The listing has no entity tag: only `*` can match it (it always exists). */
  async list(
    store: ItemStore,
    query: z.infer<typeof listQuery>,
    preconditions: Preconditions
  ): Promise<RouteResult> {
    const outcome = evaluatePreconditions(preconditions, { exists: true }, 'GET');
    if (!outcome.holds) {
      if (outcome.status === 304) return { status: 304 };
      throw new PreconditionFailedError(
        `a listing has no ETag, so ${outcome.header} can only be *`
      );
    }
    const after =
      query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.prefix).after;
    const page = await store.list(query.prefix, query.limit, after);
    return {
      status: 200,
      body: {
        items: page.items.map(representation),
        ...(page.lastId === undefined
          ? {}
          : { cursor: encodeCursor({ after: page.lastId, prefix: query.prefix }) }),
      },
    };
  },
};

function notFound(id: string): never {
  throw new NotFoundError(`item '${id}' does not exist`);
}

/** Media types a PATCH body may have: merge patch (RFC 7396), or plain JSON. */
const PATCH_TYPES = ['application/merge-patch+json', 'application/json'];

/** The routes of the items API, each with its schemas, over `store`. */
export function itemRoutes(store: ItemStore): RouteSpecs {
  return {
    'GET /items': route({
      query: listQuery,
      handle: ({ query, headers }) => items.list(store, query, itemPreconditions(headers)),
    }),
    'GET /items/{id}': route({
      params: idParams,
      handle: ({ params, headers }) => items.get(store, params.id, itemPreconditions(headers)),
    }),
    'PUT /items/{id}': route({
      params: idParams,
      body: itemValue,
      handle: ({ params, body, headers }) =>
        items.put(store, params.id, body, itemPreconditions(headers)),
    }),
    'PATCH /items/{id}': route({
      params: idParams,
      body: itemValue,
      bodyTypes: PATCH_TYPES,
      handle: ({ params, body, headers }) =>
        items.patch(store, params.id, body, itemPreconditions(headers)),
    }),
    'DELETE /items/{id}': route({
      params: idParams,
      handle: ({ params, headers }) => items.delete(store, params.id, itemPreconditions(headers)),
    }),
  };
}
