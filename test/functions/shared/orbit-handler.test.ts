import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { defineFunction } from '../../../core/declaration';
import { keys } from '../../../core/records/keys';
import { route } from '../../../functions/shared/http';
import { orbitHandler } from '../../../functions/shared/orbit-handler';
import { captureEmf } from '../../support/emf';
import { httpEvent, type TestRequest } from '../../support/events';
import { invoke, testLocation, testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const declaration = defineFunction({
  routes: [
    { method: 'POST', path: '/notes/{slug}', auth: 'none' },
    { method: 'GET', path: '/notes/{slug}', auth: 'none' },
    { method: 'GET', path: '/secret' },
    { method: 'GET', path: '/boom', auth: 'none' },
  ],
  maxBodyBytes: 100,
});
const releaseRoutes = [
  ...declaration.routes.map((r) => ({ ...r, functionName: 'notes' })),
  { method: 'GET' as const, path: '/health', auth: 'none' as const, functionName: 'health' },
];

describe('the shared middleware stack', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const client = testTableClient();
  const make = (options: Parameters<typeof orbitHandler>[2] = {}) =>
    orbitHandler(
      declaration,
      {
        'POST /notes/{slug}': route({
          params: z.object({ slug: z.string().regex(/^[a-z]+$/) }),
          query: z.object({ tag: z.string().max(3).optional() }),
          body: z.strictObject({ text: z.string().min(1), stars: z.number().int().max(5) }),
          handle: async ({ params, body }) => ({
            status: 201,
            body: { slug: params.slug, ...body },
          }),
        }),
        'GET /notes/{slug}': route({
          handle: async ({ params }) => ({ status: 200, body: { slug: params.slug } }),
        }),
        'GET /secret': route({
          handle: async ({ claims }) => ({ status: 200, body: { sub: claims?.sub } }),
        }),
        'GET /boom': route({
          handle: async () => {
            throw new Error('database password is hunter2');
          },
        }),
      },
      {
        functionName: 'notes',
        location: testLocation(table.tableName),
        table: client,
        releaseRoutes,
        drainCacheMs: 0,
        ...options,
      }
    );
  let handler: ReturnType<typeof make>;
  const call = (request: TestRequest) => invoke(handler, httpEvent(request));
  const post = (body: unknown, extra: Partial<TestRequest> = {}) =>
    call({
      method: 'POST',
      path: '/notes/abc',
      routeKey: 'POST /notes/{slug}',
      pathParameters: { slug: 'abc' },
      body,
      ...extra,
    });

  beforeAll(async () => {
    table = await createTestTable();
    handler = make();
  });
  afterAll(() => table.drop());

  it('runs the route with validated input and answers JSON', async () => {
    const res = await post({ text: 'hi', stars: 3 });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json).toEqual({ slug: 'abc', text: 'hi', stars: 3 });
  });

  it('puts the location, release and security headers on every answer, errors included', async () => {
    for (const res of [await post({ text: 'hi', stars: 3 }), await post('{nope')]) {
      expect(res.headers).toMatchObject({
        'x-orbit-location': 'use1',
        'x-orbit-release': 'r-0123456789abcdef',
        'x-content-type-options': 'nosniff',
        'strict-transport-security': expect.stringContaining('max-age='),
        'cache-control': 'no-store',
      });
    }
  });

  it('answers a problem body with type, title, status, detail and request id', async () => {
    const event = httpEvent({ method: 'GET', path: '/nowhere' });
    const res = await invoke(handler, event);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json).toEqual({
      type: 'urn:orbit:problem:not-found',
      title: 'Not Found',
      status: 404,
      detail: 'no route matches /nowhere',
      instance: '/nowhere',
      requestId: event.requestContext.requestId,
    });
  });

  it('answers 405 with Allow for a known path and another method', async () => {
    const res = await call({ method: 'DELETE', path: '/notes/abc' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, POST');
    expect(res.json.allow).toEqual(['GET', 'POST']);
  });

  it('routes a $default request to the declared route it matches', async () => {
    const res = await call({ method: 'GET', path: '/notes/xyz' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ slug: 'xyz' });
  });

  it('fails with 500 when a request for another function reaches this one', async () => {
    const res = await call({ method: 'GET', path: '/health' });
    expect(res.status).toBe(500);
  });

  it.each<[string, unknown, Record<string, string>, number, string]>([
    ['malformed JSON', '{"text":', { 'content-type': 'application/json' }, 400, 'validation'],
    [
      'a wrong content type',
      '{"text":"a","stars":1}',
      { 'content-type': 'text/plain' },
      415,
      'unsupported-media-type',
    ],
    ['a missing content type', '{"text":"a","stars":1}', {}, 415, 'unsupported-media-type'],
    ['an oversize body', { text: 'x'.repeat(200), stars: 1 }, {}, 413, 'payload-too-large'],
    ['an empty body', '', { 'content-type': 'application/json' }, 400, 'validation'],
  ])('refuses %s', async (_, body, headers, status, problem) => {
    const res = await post(body, { headers });
    expect(res.status).toBe(status);
    expect(res.json.type).toBe(`urn:orbit:problem:${problem}`);
  });

  it('lists every failing field of path, query and body in one 400', async () => {
    const res = await post(
      { text: '', stars: 9, extra: true },
      { path: '/notes/ABC?tag=toolong', pathParameters: { slug: 'ABC' } }
    );
    expect(res.status).toBe(400);
    const fields = res.json.errors.map((e: { in: string; field: string }) => `${e.in}:${e.field}`);
    expect(fields).toEqual(
      expect.arrayContaining(['path:slug', 'query:tag', 'body:text', 'body:stars', 'body:'])
    );
    expect(res.json.detail).toMatch(/^invalid request: path\.slug, query\.tag, body\.text/);
  });

  it('answers unknown errors with a generic 500, no stack or message, and logs them', async () => {
    const logger = new Logger({ logLevel: 'ERROR' });
    const logged = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const res = await invoke(
      make({ logger }),
      httpEvent({ method: 'GET', path: '/boom', routeKey: 'GET /boom' })
    );
    expect(res.status).toBe(500);
    expect(res.json.type).toBe('urn:orbit:problem:internal');
    expect(res.body).not.toMatch(/hunter2|at .*\.ts|Error:/);
    expect(logged).toHaveBeenCalledWith('unhandled error', expect.any(Error));
  });

  it('refuses a jwt route that arrives without verified claims (fails closed)', async () => {
    const res = await call({ method: 'GET', path: '/secret', routeKey: 'GET /secret' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json.type).toBe('urn:orbit:problem:unauthorized');
  });

  it('hands the verified claims of a jwt route to the logic', async () => {
    const res = await call({
      method: 'GET',
      path: '/secret',
      routeKey: 'GET /secret',
      claims: { sub: 'alice' },
    });
    expect(res.json).toEqual({ sub: 'alice' });
  });

  describe('drain (kill switch)', () => {
    const setDrain = (key: { pk: string; sk: string }, drained: boolean) =>
      client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...key, drained, reason: 'test', retryAfterSeconds: 42 },
        })
      );
    const get = () => call({ method: 'GET', path: '/notes/a', routeKey: 'GET /notes/{slug}' });

    it('answers 503 with Retry-After while the location is drained, and serves again after', async () => {
      await setDrain(keys.locationDrain('use1'), true);
      const drained = await get();
      expect(drained.status).toBe(503);
      expect(drained.headers['retry-after']).toBe('42');
      expect(drained.json).toMatchObject({
        type: 'urn:orbit:problem:drained',
        detail: 'location use1 is drained and not serving requests',
      });
      await setDrain(keys.locationDrain('use1'), false);
      expect((await get()).status).toBe(200);
    });

    it('answers 503 while the function is drained fleet-wide', async () => {
      await setDrain(keys.functionDrain('notes'), true);
      expect((await get()).json.detail).toBe('function notes is drained and not serving requests');
      await setDrain(keys.functionDrain('notes'), false);
      expect((await get()).status).toBe(200);
    });

    it('reads the flags at most once per cache period, not per request', async () => {
      const cached = make({ drainCacheMs: 60_000 });
      const send = jest.spyOn(client, 'send');
      for (let i = 0; i < 20; i++) {
        await invoke(
          cached,
          httpEvent({ method: 'GET', path: '/notes/a', routeKey: 'GET /notes/{slug}' })
        );
      }
      expect(send).toHaveBeenCalledTimes(1);
      send.mockRestore();
    });
  });

  describe('CORS', () => {
    const cors = {
      allowOrigins: ['https://app.example.com'],
      allowHeaders: ['authorization', 'content-type'],
      exposeHeaders: ['etag'],
      maxAgeSeconds: 600,
    };

    it('answers a preflight for a known path with the allowed methods', async () => {
      const res = await invoke(
        make({ cors }),
        httpEvent({
          method: 'OPTIONS',
          path: '/notes/a',
          headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
        })
      );
      expect(res.status).toBe(204);
      expect(res.headers).toMatchObject({
        'access-control-allow-origin': 'https://app.example.com',
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
      });
    });

    it('adds no CORS headers for an origin that is not allowed', async () => {
      const res = await invoke(
        make({ cors }),
        httpEvent({
          method: 'GET',
          path: '/notes/a',
          routeKey: 'GET /notes/{slug}',
          headers: { origin: 'https://evil.example.com' },
        })
      );
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('answers 405 to OPTIONS when the environment has no CORS', async () => {
      expect((await call({ method: 'OPTIONS', path: '/notes/a' })).status).toBe(405);
    });
  });

  it('emits EMF metrics (requests, 4xx, 5xx, latency) per function, location and release', async () => {
    const previous = process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await invoke(make(), httpEvent({ method: 'GET', path: '/nowhere' }));
    } finally {
      write.mockRestore();
      process.env.POWERTOOLS_METRICS_DISABLED = previous;
    }
    const emf = lines.map((l) => JSON.parse(l)).find((l) => l._aws);
    expect(emf).toMatchObject({
      function: 'notes',
      location: 'use1',
      release: 'r-0123456789abcdef',
      Requests: 1,
      Errors4xx: 1,
      Errors5xx: 0,
      Drained: 0,
      Latency: expect.any(Number),
    });
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe('Orbit');
  });

  it.each([
    ['the location', () => keys.locationDrain('use1')],
    ['the function fleet-wide', () => keys.functionDrain('notes')],
  ])(
    'counts an answer refused because %s is drained as Drained only: no request, no 5xx, no latency',
    async (_scope, key) => {
      await client.send(
        new PutCommand({ TableName: table.tableName, Item: { ...key(), drained: true } })
      );
      try {
        let res: Awaited<ReturnType<typeof invoke>> | undefined;
        const blobs = await captureEmf(async () => {
          res = await invoke(
            make(),
            httpEvent({ method: 'GET', path: '/notes/a', routeKey: 'GET /notes/{slug}' })
          );
        });
        expect(res?.status).toBe(503);
        expect(res?.headers['x-orbit-drained']).toBe('1');
        expect(blobs).toHaveLength(1);
        expect(blobs[0]).toMatchObject({ Requests: 0, Errors4xx: 0, Errors5xx: 0, Drained: 1 });
        expect(blobs[0]).not.toHaveProperty('Latency');
      } finally {
        await client.send(
          new PutCommand({ TableName: table.tableName, Item: { ...key(), drained: false } })
        );
      }
    }
  );

  it('counts a 5xx the release gives itself as a 5xx, not as drained', async () => {
    let res: Awaited<ReturnType<typeof invoke>> | undefined;
    const blobs = await captureEmf(async () => {
      res = await invoke(
        make(),
        httpEvent({ method: 'GET', path: '/boom', routeKey: 'GET /boom' })
      );
    });
    expect(res?.status).toBe(500);
    expect(res?.headers['x-orbit-drained']).toBeUndefined();
    expect(blobs[0]).toMatchObject({ Requests: 1, Errors5xx: 1, Drained: 0 });
  });

  it('gathers no metrics when EMF is disabled (satellites count requests themselves)', async () => {
    const addMetric = jest.spyOn(Metrics.prototype, 'addMetric');
    const publish = jest.spyOn(Metrics.prototype, 'publishStoredMetrics');
    try {
      const res = await invoke(make(), httpEvent({ method: 'GET', path: '/nowhere' }));
      expect(res.status).toBe(404);
      expect(addMetric).not.toHaveBeenCalled();
      expect(publish).not.toHaveBeenCalled();
    } finally {
      addMetric.mockRestore();
      publish.mockRestore();
    }
  });

  it('throws at cold start when a declared route has no logic', () => {
    expect(() =>
      orbitHandler(
        declaration,
        {},
        { functionName: 'notes', location: testLocation('t'), table: client }
      )
    ).toThrow('notes: route POST /notes/{slug} is declared but has no logic');
  });
});
