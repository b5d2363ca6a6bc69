import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { OrbitHandler } from '../../../functions/shared/orbit-handler';
import { httpEvent, type TestRequest } from '../../support/events';
import { invoke, testTableClient } from '../../support/handlers';
import { createTestTable, testEndpoint } from '../../support/table';

const ALICE = { sub: 'alice' };
const TYPES: Record<string, string> = {
  PUT: 'application/json',
  PATCH: 'application/merge-patch+json',
};

/** Loads the items function as a location would: from its module, configured by ORBIT_* variables. */
function loadItems(tableName: string, locationId: string): OrbitHandler {
  Object.assign(process.env, {
    ORBIT_ENVIRONMENT: 'test',
    ORBIT_LOCATION_ID: locationId,
    ORBIT_LOCATION_KIND: 'region',
    ORBIT_REGION: 'us-east-1',
    ORBIT_RELEASE_ID: 'r-0123456789abcdef',
    ORBIT_TABLE_NAME: tableName,
    ORBIT_DATA_REGION: 'us-east-1',
    ORBIT_FUNCTION: 'items',
    ORBIT_DYNAMODB_ENDPOINT: testEndpoint(),
    ORBIT_DRAIN_CACHE_SECONDS: '0',
  });
  let handler: OrbitHandler | undefined;
  jest.isolateModules(() => {
    handler = require('../../../functions/api/items').handler;
  });
  return handler as OrbitHandler;
}

describe('the items API', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let east: OrbitHandler;
  let west: OrbitHandler;
  const client = testTableClient();

  /** A request to the items API as API Gateway would send it after the JWT authorizer. */
  const request = (
    handler: OrbitHandler,
    method: string,
    path: string,
    options: {
      body?: unknown;
      headers?: Record<string, string>;
      claims?: Record<string, string> | null;
    } = {}
  ) => {
    const [pathOnly = ''] = path.split('?');
    const id = /^\/items\/([^/]+)$/.exec(pathOnly)?.[1];
    const routeKey = id === undefined ? `${method} /items` : `${method} /items/{id}`;
    const body =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
    const req: TestRequest = {
      method,
      path,
      routeKey,
      pathParameters: id === undefined ? undefined : { id: decodeURIComponent(id) },
      body,
      headers: {
        ...(body !== undefined ? { 'content-type': TYPES[method] ?? 'application/json' } : {}),
        ...options.headers,
      },
      claims: options.claims === null ? undefined : (options.claims ?? ALICE),
    };
    return invoke(handler, httpEvent(req));
  };
  const put = (id: string, value: unknown, headers: Record<string, string> = {}, at = east) =>
    request(at, 'PUT', `/items/${id}`, { body: value, headers });
  const get = (id: string, headers: Record<string, string> = {}, at = east) =>
    request(at, 'GET', `/items/${id}`, { headers });
  const patch = (id: string, value: unknown, headers: Record<string, string> = {}) =>
    request(east, 'PATCH', `/items/${id}`, { body: value, headers });
  const del = (id: string, headers: Record<string, string> = {}) =>
    request(east, 'DELETE', `/items/${id}`, { headers });
  const list = (query: string) => request(east, 'GET', `/items${query}`);
  const snapshot = async () =>
    (await client.send(new ScanCommand({ TableName: table.tableName }))).Items?.sort((a, b) =>
      `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`)
    );

  beforeAll(async () => {
    table = await createTestTable();
    east = loadItems(table.tableName, 'us-east-1');
    west = loadItems(table.tableName, 'eu-west-1');
  });
  afterAll(() => table.drop());

  describe('CRUD', () => {
    it('creates with 201, Location and ETag, then reads it back', async () => {
      const created = await put('crud-1', { color: 'red' });
      expect(created.status).toBe(201);
      expect(created.headers.location).toBe('/items/crud-1');
      expect(created.headers.etag).toMatch(/^"[\w-]{22}"$/);
      expect(created.json).toEqual({
        id: 'crud-1',
        value: { color: 'red' },
        version: 1,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        updatedIn: 'us-east-1',
      });
      const read = await get('crud-1');
      expect(read.status).toBe(200);
      expect(read.headers.etag).toBe(created.headers.etag);
      expect(read.json).toEqual(created.json);
    });

    it('replaces with 200, a new version and a new ETag', async () => {
      const first = await put('crud-2', { n: 1 });
      const second = await put('crud-2', { m: 2 });
      expect(second.status).toBe(200);
      expect(second.json).toMatchObject({ value: { m: 2 }, version: 2 });
      expect(second.headers.etag).not.toBe(first.headers.etag);
      expect(second.json.createdAt).toBe(first.json.createdAt);
    });

    it('deletes with 204, then answers 404 for it', async () => {
      await put('crud-3', { a: 1 });
      expect((await del('crud-3')).status).toBe(204);
      const gone = await get('crud-3');
      expect(gone.status).toBe(404);
      expect(gone.json.type).toBe('urn:orbit:problem:not-found');
      expect((await del('crud-3')).status).toBe(404);
    });

    it('answers 304 to a read whose If-None-Match is the current ETag', async () => {
      const created = await put('crud-4', { a: 1 });
      const cached = await get('crud-4', { 'if-none-match': created.headers.etag as string });
      expect(cached.status).toBe(304);
      expect(cached.body).toBe('');
    });

    it('shares state across locations and shows where the last write happened', async () => {
      await put('shared-1', { from: 'east' });
      const seen = await get('shared-1', {}, west);
      expect(seen.json).toMatchObject({ value: { from: 'east' }, updatedIn: 'us-east-1' });
      await put('shared-1', { from: 'west' }, {}, west);
      expect((await get('shared-1')).json).toMatchObject({
        value: { from: 'west' },
        version: 2,
        updatedIn: 'eu-west-1',
      });
    });
  });

  describe('optimistic concurrency', () => {
    it('writes with the current ETag in If-Match', async () => {
      const created = await put('occ-1', { a: 1 });
      const updated = await put('occ-1', { a: 2 }, { 'if-match': created.headers.etag as string });
      expect(updated.status).toBe(200);
    });

    it('fails with 412 and changes nothing when If-Match is stale', async () => {
      const created = await put('occ-2', { a: 1 });
      await put('occ-2', { a: 2 });
      const before = await snapshot();
      const stale = await put('occ-2', { a: 3 }, { 'if-match': created.headers.etag as string });
      expect(stale.status).toBe(412);
      expect(stale.json.type).toBe('urn:orbit:problem:precondition-failed');
      expect(await snapshot()).toEqual(before);
    });

    it('creates only once with If-None-Match: *', async () => {
      expect((await put('occ-3', { a: 1 }, { 'if-none-match': '*' })).status).toBe(201);
      const again = await put('occ-3', { a: 2 }, { 'if-none-match': '*' });
      expect(again.status).toBe(412);
      expect((await get('occ-3')).json.value).toEqual({ a: 1 });
    });

    it('fails with 412 for If-Match: * on an item that does not exist', async () => {
      expect((await put('occ-none', { a: 1 }, { 'if-match': '*' })).status).toBe(412);
      expect((await get('occ-none')).status).toBe(404);
    });

    it('lets exactly one of two concurrent writers with the same ETag win; the other gets 412 and loses nothing stored', async () => {
      const created = await put('race-1', { writer: 'none' });
      const etag = created.headers.etag as string;
      const results = await Promise.all([
        put('race-1', { writer: 'a' }, { 'if-match': etag }),
        put('race-1', { writer: 'b' }, { 'if-match': etag }, west),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 412]);
      const winner = results.find((r) => r.status === 200);
      const stored = await get('race-1');
      expect(stored.json).toMatchObject({ value: winner?.json.value, version: 2 });
      expect(stored.headers.etag).toBe(winner?.headers.etag);
    });

    it('applies concurrent PATCHes without If-Match to different fields without losing either', async () => {
      await put('race-2', { base: true });
      const results = await Promise.all(
        ['a', 'b', 'c'].map((field) => patch('race-2', { [field]: 1 }))
      );
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      expect((await get('race-2')).json).toMatchObject({
        value: { base: true, a: 1, b: 1, c: 1 },
        version: 4,
      });
    });

    it('deletes only with the current ETag when If-Match is given', async () => {
      const created = await put('occ-del', { a: 1 });
      await put('occ-del', { a: 2 });
      expect((await del('occ-del', { 'if-match': created.headers.etag as string })).status).toBe(
        412
      );
      expect((await get('occ-del')).status).toBe(200);
    });
  });

  // RFC 9110 §13.1.1 (If-Match: strong comparison), §13.1.2 (If-None-Match: weak comparison),
  // §13.2.2 (If-Match first, then If-None-Match; the date preconditions are not supported:
  // no Last-Modified is sent, so §13.1.3 and §13.1.4 have them ignored), §8.8.3 (entity tags).
  describe('conditional requests (RFC 9110 §13)', () => {
    let counter = 0;
    /**
     * A fresh item written twice, so it has a stale ETag (`{old}`) and a current one
     * (`{cur}`, both without quotes); `missing` gives an id that was never written.
     */
    const fixture = async (missing: boolean) => {
      const id = `cr-${++counter}`;
      if (missing) return { id, cur: 'never-written', old: 'never-written' };
      const first = await put(id, { n: 1 });
      const second = await put(id, { n: 2 });
      const unquote = (etag: unknown) => String(etag).slice(1, -1);
      return { id, old: unquote(first.headers.etag), cur: unquote(second.headers.etag) };
    };
    const fill = (headers: Record<string, string>, tags: { cur: string; old: string }) =>
      Object.fromEntries(
        Object.entries(headers).map(([name, value]) => [
          name,
          value.replaceAll('{cur}', tags.cur).replaceAll('{old}', tags.old),
        ])
      );
    const stored = async (id: string) =>
      (await snapshot())?.find((r) => r.pk === 'ITEMS' && r.id === id);

    type Case = [string, Record<string, string>, 'existing' | 'missing', number];
    const bodies: Record<string, unknown> = { PUT: { n: 3 }, PATCH: { m: 1 } };

    it.each<Case>([
      // GET: a false If-None-Match is 304, a false If-Match 412.
      ['GET', { 'if-none-match': '"{old}", "{cur}"' }, 'existing', 304],
      ['GET', { 'if-none-match': 'W/"{cur}"' }, 'existing', 304],
      ['GET', { 'if-none-match': '*' }, 'existing', 304],
      ['GET', { 'if-none-match': '"{old}"' }, 'existing', 200],
      ['GET', { 'if-none-match': '*' }, 'missing', 404],
      ['GET', { 'if-match': '"{cur}"' }, 'existing', 200],
      ['GET', { 'if-match': '"{old}", "{cur}"' }, 'existing', 200],
      ['GET', { 'if-match': '"{old}"' }, 'existing', 412],
      ['GET', { 'if-match': 'W/"{cur}"' }, 'existing', 412],
      ['GET', { 'if-match': '*' }, 'missing', 412],
      ['GET', { 'if-match': '"{cur}"' }, 'missing', 412],
      // §13.2.2: If-Match is evaluated first.
      ['GET', { 'if-match': '"{old}"', 'if-none-match': '"{cur}"' }, 'existing', 412],
      ['GET', { 'if-match': '"{cur}"', 'if-none-match': '"{cur}"' }, 'existing', 304],
      ['GET', { 'if-modified-since': 'Fri, 01 Jan 2100 00:00:00 GMT' }, 'existing', 200],
      // PUT: any false precondition is 412, and nothing is written.
      ['PUT', { 'if-match': '"{old}", "{cur}"' }, 'existing', 200],
      ['PUT', { 'if-match': 'W/"{old}", W/"{cur}", "{cur}"' }, 'existing', 200],
      ['PUT', { 'if-match': 'W/"{cur}"' }, 'existing', 412],
      ['PUT', { 'if-match': '"{old}", "other"' }, 'existing', 412],
      ['PUT', { 'if-match': '"{cur}"' }, 'missing', 412],
      ['PUT', { 'if-none-match': '"{cur}"' }, 'existing', 412],
      ['PUT', { 'if-none-match': 'W/"{cur}"' }, 'existing', 412],
      ['PUT', { 'if-none-match': '"{old}", W/"other"' }, 'existing', 200],
      ['PUT', { 'if-none-match': '*' }, 'existing', 412],
      ['PUT', { 'if-none-match': '"{cur}"' }, 'missing', 201],
      ['PUT', { 'if-match': '*', 'if-none-match': '"{cur}"' }, 'existing', 412],
      ['PUT', { 'if-match': '"{cur}"', 'if-none-match': '"{old}"' }, 'existing', 200],
      ['PUT', { 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' }, 'existing', 200],
      // PATCH
      ['PATCH', { 'if-match': '"{old}", "{cur}"' }, 'existing', 200],
      ['PATCH', { 'if-match': 'W/"{cur}"' }, 'existing', 412],
      ['PATCH', { 'if-match': '*' }, 'missing', 412],
      ['PATCH', { 'if-none-match': '*' }, 'existing', 412],
      ['PATCH', { 'if-none-match': 'W/"{cur}"' }, 'existing', 412],
      ['PATCH', { 'if-none-match': '"{old}"' }, 'existing', 200],
      ['PATCH', { 'if-none-match': '*' }, 'missing', 404],
      ['PATCH', { 'if-match': '"{old}"', 'if-none-match': '"{old}"' }, 'existing', 412],
      // DELETE
      ['DELETE', { 'if-match': '"{old}", "{cur}"' }, 'existing', 204],
      ['DELETE', { 'if-match': 'W/"{cur}"' }, 'existing', 412],
      ['DELETE', { 'if-match': '*' }, 'missing', 412],
      ['DELETE', { 'if-match': '"{cur}"' }, 'missing', 412],
      ['DELETE', { 'if-none-match': '"{cur}"' }, 'existing', 412],
      ['DELETE', { 'if-none-match': 'W/"{cur}"' }, 'existing', 412],
      ['DELETE', { 'if-none-match': '*' }, 'existing', 412],
      ['DELETE', { 'if-none-match': '"{old}"' }, 'existing', 204],
      ['DELETE', { 'if-none-match': '*' }, 'missing', 404],
    ])('%s with %j on the %s item answers %i', async (method, template, state, status) => {
      const tags = await fixture(state === 'missing');
      const before = await stored(tags.id);
      const res = await request(east, method, `/items/${tags.id}`, {
        body: bodies[method],
        headers: fill(template, tags),
      });
      expect(res.status).toBe(status);
      const after = await stored(tags.id);
      if (status >= 300) expect(after).toEqual(before);
      else if (method === 'DELETE') expect(after).toBeUndefined();
      else if (method !== 'GET') expect(after?.version).toBe((before?.version ?? 0) + 1);
      if (status === 304) {
        expect(res.headers.etag).toBe(`"${tags.cur}"`);
        expect(res.body).toBe('');
      }
      if (status === 412) expect(res.json.type).toBe('urn:orbit:problem:precondition-failed');
    });

    it('answers a GET whose If-Match fails on an existing item with 412 and its current ETag', async () => {
      const tags = await fixture(false);
      const res = await get(tags.id, { 'if-match': `"${tags.old}"` });
      expect(res.status).toBe(412);
      expect(res.headers.etag).toBe(`"${tags.cur}"`);
    });

    it('fails a PATCH with 412 when the item changes between its read and its write, If-Match re-evaluated', async () => {
      const tags = await fixture(false);
      // Ten PATCHes race with the same If-Match: the first write changes the ETag, so every
      // other one, read again, no longer meets its precondition.
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          patch(tags.id, { [`f${i}`]: i }, { 'if-match': `"${tags.cur}"` })
        )
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 412)).toHaveLength(9);
      expect((await get(tags.id)).json.version).toBe(3);
    });

    it.each([
      ['If-Match: *', { 'if-match': '*' }, 200],
      ['a listed If-Match (a listing has no ETag)', { 'if-match': '"x"' }, 412],
      ['If-None-Match: *', { 'if-none-match': '*' }, 304],
      ['a listed If-None-Match', { 'if-none-match': '"x"' }, 200],
    ])('answers a listing with %s: %j → %i', async (_, headers, status) => {
      expect((await request(east, 'GET', '/items?limit=1', { headers })).status).toBe(status);
    });
  });

  describe('a member named __proto__', () => {
    it('is stored as data by PUT and read back, at every location, without touching a prototype', async () => {
      const body = '{"__proto__":{"polluted":true},"nested":{"__proto__":[1]},"a":1}';
      const created = await request(east, 'PUT', '/items/proto-1', { body });
      expect(created.status).toBe(201);
      for (const at of [east, west]) {
        const read = await get('proto-1', {}, at);
        const value = read.json.value;
        expect(Object.keys(value).sort()).toEqual(['__proto__', 'a', 'nested']);
        expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({
          polluted: true,
        });
        expect(Object.getOwnPropertyDescriptor(value.nested, '__proto__')?.value).toEqual([1]);
        expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
        expect(read.body).toContain('"__proto__":{"polluted":true}');
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('keeps a member named ~__proto__ apart from one named __proto__', async () => {
      const body = '{"__proto__":1,"~__proto__":2,"~~__proto__":3}';
      await request(east, 'PUT', '/items/proto-2', { body });
      const read = await get('proto-2');
      expect(read.body).toContain('"__proto__":1');
      expect(read.json.value['~__proto__']).toBe(2);
      expect(read.json.value['~~__proto__']).toBe(3);
    });

    it('merges as data in a JSON merge patch (RFC 7396): added, merged, then removed', async () => {
      await put('proto-3', { a: 1 });
      const added = await patch('proto-3', JSON.parse('{"__proto__":{"x":1}}'));
      expect(added.status).toBe(200);
      expect(Object.getOwnPropertyDescriptor(added.json.value, '__proto__')?.value).toEqual({
        x: 1,
      });
      const merged = await request(east, 'PATCH', '/items/proto-3', {
        body: '{"__proto__":{"y":2,"x":null}}',
      });
      expect(JSON.parse(merged.body).value).toEqual(JSON.parse('{"a":1,"__proto__":{"y":2}}'));
      expect(Object.hasOwn((await get('proto-3')).json.value, '__proto__')).toBe(true);
      const removed = await request(east, 'PATCH', '/items/proto-3', {
        body: '{"__proto__":null}',
      });
      expect(Object.hasOwn(removed.json.value, '__proto__')).toBe(false);
      expect(removed.json.value).toEqual({ a: 1 });
    });
  });

  describe('PATCH (JSON merge patch)', () => {
    it('merges objects, removes keys set to null and replaces arrays', async () => {
      await put('mp-1', { title: 'x', tags: ['a'], author: { name: 'A', mail: 'a@x' }, gone: 1 });
      const patched = await patch('mp-1', {
        tags: ['b'],
        author: { mail: null },
        gone: null,
        added: true,
      });
      expect(patched.status).toBe(200);
      expect(patched.json.value).toEqual({
        title: 'x',
        tags: ['b'],
        author: { name: 'A' },
        added: true,
      });
      expect(patched.json.version).toBe(2);
    });

    it('accepts application/json as well as application/merge-patch+json', async () => {
      await put('mp-2', { a: 1 });
      const res = await request(east, 'PATCH', '/items/mp-2', {
        body: { b: 2 },
        headers: { 'content-type': 'application/json' },
      });
      expect(res.json.value).toEqual({ a: 1, b: 2 });
    });

    it('answers 404 for an item that does not exist', async () => {
      expect((await patch('mp-none', { a: 1 })).status).toBe(404);
    });

    it('fails with 412 when If-Match is stale, with the current ETag', async () => {
      const created = await put('mp-3', { a: 1 });
      const current = await put('mp-3', { a: 2 });
      const res = await patch('mp-3', { b: 1 }, { 'if-match': created.headers.etag as string });
      expect(res.status).toBe(412);
      expect(res.headers.etag).toBe(current.headers.etag);
    });
  });

  describe('listing', () => {
    beforeAll(async () => {
      for (const id of ['ls-a1', 'ls-a2', 'ls-a3', 'ls-a4', 'ls-a5', 'ls-b1', 'ls-b2']) {
        await put(id, { id });
      }
    });

    it('pages through a prefix in id order with an opaque cursor, and ends without one', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      const pages: number[] = [];
      do {
        const res = await list(`?prefix=ls-a&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        seen.push(...res.json.items.map((i: { id: string }) => i.id));
        pages.push(res.json.items.length);
        cursor = res.json.cursor;
      } while (cursor);
      expect(seen).toEqual(['ls-a1', 'ls-a2', 'ls-a3', 'ls-a4', 'ls-a5']);
      expect(pages).toEqual([2, 2, 1]);
    });

    it('returns no cursor when a page ends exactly at the last item', async () => {
      const res = await list('?prefix=ls-b&limit=2');
      expect(res.json.items).toHaveLength(2);
      expect(res.json.cursor).toBeUndefined();
    });

    it('defaults to 20 items and an empty prefix', async () => {
      const res = await list('');
      expect(res.status).toBe(200);
      expect(res.json.items.length).toBeGreaterThan(0);
      expect(res.json.items.length).toBeLessThanOrEqual(20);
    });

    it('fails with 400 for a cursor from a listing with another prefix', async () => {
      const first = await list('?prefix=ls-a&limit=1');
      const res = await list(`?prefix=ls-b&cursor=${first.json.cursor}`);
      expect(res.status).toBe(400);
      expect(res.json.detail).toMatch(/another prefix/);
    });
  });

  describe('bad input: 4xx with a problem body, and nothing changes in the table', () => {
    const big = { blob: 'x'.repeat(70 * 1024) };
    it.each<
      [
        string,
        string,
        string,
        { body?: unknown; headers?: Record<string, string>; claims?: null },
        number,
      ]
    >([
      ['PUT', '/items/ok-1', 'malformed JSON', { body: '{"a":' }, 400],
      [
        'PUT',
        '/items/ok-1',
        'a wrong content type',
        { body: '{"a":1}', headers: { 'content-type': 'text/plain' } },
        415,
      ],
      ['PUT', '/items/ok-1', 'an oversize body', { body: big }, 413],
      ['PUT', '/items/bad%20id', 'a bad id', { body: { a: 1 } }, 400],
      ['PUT', `/items/${'x'.repeat(201)}`, 'a too long id', { body: { a: 1 } }, 400],
      ['PUT', '/items/ok-1', 'a body that is not an object', { body: [1, 2] }, 400],
      ['PUT', '/items/ok-1', 'a missing body', { body: '' }, 400],
      [
        'PUT',
        '/items/ok-1',
        'a weak If-Match',
        { body: { a: 1 }, headers: { 'if-match': 'W/"x"' } },
        412,
      ],
      [
        'PUT',
        '/items/ok-1',
        'an unquoted If-Match',
        { body: { a: 1 }, headers: { 'if-match': 'abc' } },
        400,
      ],
      ['PUT', '/items/ok-1', 'no token', { body: { a: 1 }, claims: null }, 401],
      ['PATCH', '/items/ok-1', 'malformed JSON', { body: '{' }, 400],
      [
        'PATCH',
        '/items/ok-1',
        'a wrong content type',
        { body: '{"a":1}', headers: { 'content-type': 'application/xml' } },
        415,
      ],
      ['PATCH', '/items/ok-1', 'an oversize body', { body: big }, 413],
      ['PATCH', '/items/bad!id', 'a bad id', { body: { a: 1 } }, 400],
      ['PATCH', '/items/ok-1', 'a patch that is not an object', { body: 'null' }, 400],
      [
        'PATCH',
        '/items/ok-1',
        'an If-None-Match that is not a list of entity tags',
        { body: { a: 1 }, headers: { 'if-none-match': 'abc' } },
        400,
      ],
      ['GET', '/items/bad!id', 'a bad id', {}, 400],
      ['DELETE', '/items/bad!id', 'a bad id', {}, 400],
      [
        'DELETE',
        '/items/ok-1',
        'an If-Match that is not a list of entity tags',
        { headers: { 'if-match': '"a" "b"' } },
        400,
      ],
      [
        'GET',
        '/items/ok-1',
        'an If-None-Match that is not a list of entity tags',
        { headers: { 'if-none-match': 'w/"a"' } },
        400,
      ],
      [
        'GET',
        '/items',
        'an If-Match that is not a list of entity tags',
        { headers: { 'if-match': '"a", *' } },
        400,
      ],
      [
        'PUT',
        '/items/ok-1',
        'more than 50 entity tags in If-Match',
        {
          body: { a: 1 },
          headers: { 'if-match': Array.from({ length: 51 }, (_, i) => `"t${i}"`).join(', ') },
        },
        400,
      ],
      ['GET', '/items?limit=0', 'a limit below 1', {}, 400],
      ['GET', '/items?limit=101', 'a limit above 100', {}, 400],
      ['GET', '/items?limit=ten', 'a limit that is not a number', {}, 400],
      ['GET', '/items?prefix=a%20b', 'a prefix outside the id alphabet', {}, 400],
      ['GET', '/items?sort=desc', 'an unknown query parameter', {}, 400],
      ['GET', '/items?cursor=not-a-cursor', 'a bad cursor', {}, 400],
      ['GET', '/items?cursor=eyJ2IjoxfQ', 'a tampered cursor', {}, 400],
    ])('%s %s with %s', async (method, path, _, options, status) => {
      await put('ok-1', { a: 1 });
      const before = await snapshot();
      const res = await request(east, method, path, options);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.json).toMatchObject({
        status,
        type: expect.stringMatching(/^urn:orbit:problem:/),
      });
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      ['an unknown route', 'GET', '/itemz', 404],
      ['a wrong method', 'POST', '/items/ok-1', 405],
      ['a wrong method on the collection', 'DELETE', '/items', 405],
    ])('%s', async (_, method, path, status) => {
      const before = await snapshot();
      const res = await invoke(east, httpEvent({ method, path, claims: ALICE }));
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(await snapshot()).toEqual(before);
    });

    it('lists every failing field at once', async () => {
      const res = await list('?limit=0&prefix=a%20b&extra=1');
      expect(res.json.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        '',
        'limit',
        'prefix',
      ]);
    });
  });
});
