import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.cjs';
import {
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ValidationError,
} from '../../shared/errors';
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
export const itemValue = z.record(z.string(), z.json(), {
  error: 'must be a JSON object',
});
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

const quote = (etag: string) => `"${etag}"`;

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

/**
 * Reads `If-Match` / `If-None-Match` into a write condition. Only strong ETags can match
 * (RFC 9110); several ETags in one header are refused rather than half honoured.
 */
export function writeCondition(
  headers: Readonly<Record<string, string | undefined>>
): WriteCondition {
  const ifMatch = headers['if-match']?.trim();
  const ifNoneMatch = headers['if-none-match']?.trim();
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') {
    throw new ValidationError('If-None-Match on a write must be *', [
      { in: 'header', field: 'if-none-match', message: 'must be *' },
    ]);
  }
  if (ifMatch === undefined) return ifNoneMatch === '*' ? { ifNoneMatch: '*' } : {};
  if (ifMatch === '*') return { ifMatch: '*' };
  const strong = /^"([^"]*)"$/.exec(ifMatch);
  if (!strong) {
    if (/^W\/"[^"]*"$/.test(ifMatch)) {
      throw new PreconditionFailedError('a weak ETag never matches If-Match; send the strong ETag');
    }
    throw new ValidationError('If-Match must be * or one quoted ETag', [
      { in: 'header', field: 'if-match', message: 'must be * or one quoted ETag' },
    ]);
  }
  return { ifMatch: strong[1] as string };
}

const sizeOf = (value: Json) => Buffer.byteLength(JSON.stringify(value));

/** The logic of the items API, one function per route; `store` is the table adapter. */
export const items = {
  async get(store: ItemStore, id: string, ifNoneMatch: string | undefined): Promise<RouteResult> {
    const item = await store.get(id);
    if (!item) return notFound(id);
    if (ifNoneMatch?.split(',').some((t) => t.trim().replace(/^W\//, '') === quote(item.etag))) {
      return { status: 304, headers: { etag: quote(item.etag) } };
    }
    return withEtag(200, item);
  },

  async put(
    store: ItemStore,
    id: string,
    value: Record<string, Json>,
    condition: WriteCondition
  ): Promise<RouteResult> {
    const { item, created } = await store.put(id, value, condition);
    return created ? withEtag(201, item, { location: `/items/${id}` }) : withEtag(200, item);
  },

  /** JSON merge patch as read-modify-write, retried when another writer slipped in between. */
  async patch(
    store: ItemStore,
    id: string,
    patch: Record<string, Json>,
    condition: WriteCondition
  ): Promise<RouteResult> {
    if (condition.ifNoneMatch) {
      throw new ValidationError('PATCH changes an existing item; If-None-Match does not apply', [
        { in: 'header', field: 'if-none-match', message: 'not allowed on PATCH' },
      ]);
    }
    for (let attempt = 1; ; attempt++) {
      const current = await store.get(id);
      if (!current) {
        if (condition.ifMatch !== undefined) {
          throw new PreconditionFailedError(`item '${id}' does not exist (If-Match)`);
        }
        return notFound(id);
      }
      if (
        condition.ifMatch !== undefined &&
        condition.ifMatch !== '*' &&
        condition.ifMatch !== current.etag
      ) {
        throw new PreconditionFailedError(
          'the item has changed since the ETag in If-Match was read; read it again and retry',
          quote(current.etag)
        );
      }
      const value = applyMergePatch(current.value, patch) as Record<string, Json>;
      const bytes = sizeOf(value);
      if (bytes > MAX_ITEM_BYTES) throw new PayloadTooLargeError(MAX_ITEM_BYTES, bytes);
      try {
        return withEtag(200, await store.replaceIf(id, value, current.etag));
      } catch (err) {
        // With the client's own If-Match, a lost race is the client's 412; without one,
        // the server read the ETag itself and may simply read again.
        const explicit = condition.ifMatch !== undefined && condition.ifMatch !== '*';
        if (!(err instanceof VersionConflictError) || explicit || attempt >= PATCH_ATTEMPTS)
          throw err;
      }
    }
  },

  async delete(store: ItemStore, id: string, condition: WriteCondition): Promise<RouteResult> {
    if (condition.ifNoneMatch) {
      throw new ValidationError('If-None-Match does not apply to DELETE', [
        { in: 'header', field: 'if-none-match', message: 'not allowed on DELETE' },
      ]);
    }
    await store.delete(id, condition);
    return { status: 204 };
  },

  async list(store: ItemStore, query: z.infer<typeof listQuery>): Promise<RouteResult> {
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
      handle: ({ query }) => items.list(store, query),
    }),
    'GET /items/{id}': route({
      params: idParams,
      handle: ({ params, headers }) => items.get(store, params.id, headers['if-none-match']),
    }),
    'PUT /items/{id}': route({
      params: idParams,
      body: itemValue,
      handle: ({ params, body, headers }) =>
        items.put(store, params.id, body, writeCondition(headers)),
    }),
    'PATCH /items/{id}': route({
      params: idParams,
      body: itemValue,
      bodyTypes: PATCH_TYPES,
      handle: ({ params, body, headers }) =>
        items.patch(store, params.id, body, writeCondition(headers)),
    }),
    'DELETE /items/{id}': route({
      params: idParams,
      handle: ({ params, headers }) => items.delete(store, params.id, writeCondition(headers)),
    }),
  };
}
