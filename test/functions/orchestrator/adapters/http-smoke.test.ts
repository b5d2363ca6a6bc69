import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Records } from '../../../../core/records';
import {
  HttpSmokeRunner,
  registeredUrl,
} from '../../../../functions/orchestrator/adapters/http-smoke';
import type { SmokeCheck } from '../../../../functions/orchestrator/adapters/smoke-check';
import { testTableClient } from '../../../support/handlers';
import { createTestTable } from '../../../support/table';

const CANDIDATE = 'r-cccccccccccccccc';
const STABLE = 'r-5555555555555555';

const check = (overrides: Partial<SmokeCheck> = {}): SmokeCheck => ({
  method: 'GET',
  path: '/health',
  expectStatus: 200,
  timeoutMs: 5_000,
  ...overrides,
});

/** A runtime stand-in: answers as `respond` says, as the release the request names. */
describe('smoke checks over HTTP (satellites, the local fleet)', () => {
  let server: Server;
  let url: string;
  let respond: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  const seen: {
    method?: string;
    url?: string;
    headers: IncomingMessage['headers'];
    body: string;
  }[] = [];
  const json = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const asRequested = (req: IncomingMessage) => ({
    'x-orbit-release': String(req.headers['x-orbit-target-release']),
  });
  const run = (...checks: SmokeCheck[]) =>
    new HttpSmokeRunner({ checks, urlOf: () => url }).run('lab', CANDIDATE);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        respond(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
    respond = (req, res) => json(res, 200, { status: 'ok' }, asRequested(req));
  });

  it('passes when the release under test answers the expected status, asking for it by header', async () => {
    const [result] = await run(check());
    expect(result).toEqual({
      check: 'GET /health',
      ok: true,
      detail: expect.stringMatching(/^200 in \d+ ms$/),
    });
    expect(seen[0]).toMatchObject({
      method: 'GET',
      url: '/health',
      headers: { 'x-orbit-target-release': CANDIDATE },
    });
  });

  it('sends a check’s method and JSON body, and names the result by the check’s name', async () => {
    respond = (req, res) => json(res, 201, { id: 'x' }, asRequested(req));
    const [result] = await run(
      check({ name: 'create', method: 'POST', path: '/items', body: { a: 1 }, expectStatus: 201 })
    );
    expect(result).toMatchObject({ check: 'create', ok: true });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
  });

  it('fails naming the expected and the actual status', async () => {
    respond = (req, res) => json(res, 503, { status: 'unhealthy' }, asRequested(req));
    expect(await run(check())).toEqual([
      { check: 'GET /health', ok: false, detail: 'expected 200, got 503' },
    ]);
  });

  it('fails quoting the problem detail of an error answer, and says when a drain refused it', async () => {
    respond = (req, res) =>
      json(
        res,
        401,
        { type: 'urn:orbit:problem:unauthorized', detail: 'this route needs a bearer token' },
        asRequested(req)
      );
    expect((await run(check()))[0]?.detail).toBe(
      'expected 200, got 401: this route needs a bearer token'
    );
    respond = (req, res) =>
      json(
        res,
        503,
        { type: 'urn:orbit:problem:drained' },
        {
          ...asRequested(req),
          'x-orbit-drained': '1',
        }
      );
    expect((await run(check()))[0]?.detail).toBe('expected 200, got 503 (drained)');
  });

  it.each([
    [{ status: 'ok', checks: { table: { ok: true } } }, true, '200 in'],
    [
      { status: 'ok', checks: { table: { ok: false } } },
      false,
      'checks.table.ok: expected true, got false',
    ],
    [
      { status: 'degraded', checks: {} },
      false,
      'status: expected "ok", got "degraded"; checks.table.ok: expected true, got nothing',
    ],
  ])('judges the expectJson fields of %j by dotted path (ok: %s)', async (body, ok, detail) => {
    respond = (req, res) => json(res, 200, body, asRequested(req));
    const [result] = await run(check({ expectJson: { status: 'ok', 'checks.table.ok': true } }));
    expect(result?.ok).toBe(ok);
    expect(result?.detail).toContain(detail);
  });

  it('fails a check with expectJson whose answer is not JSON', async () => {
    respond = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', ...asRequested(req) });
      res.end('fine');
    };
    expect((await run(check({ expectJson: { status: 'ok' } })))[0]?.detail).toBe(
      'expected a JSON body, got fine'
    );
  });

  it('fails when another release answered, even with the expected status and body', async () => {
    respond = (_, res) => json(res, 200, { status: 'ok' }, { 'x-orbit-release': STABLE });
    expect((await run(check({ expectJson: { status: 'ok' } })))[0]).toEqual({
      check: 'GET /health',
      ok: false,
      detail: `answered by ${STABLE}, not ${CANDIDATE}`,
    });
  });

  it('fails when no release answered, with the runtime’s reason', async () => {
    respond = (_, res) =>
      json(res, 404, {
        type: 'urn:orbit:problem:release-not-staged',
        detail: `release ${CANDIDATE} is not staged at lab`,
      });
    expect((await run(check()))[0]?.detail).toBe(
      `answered by no release: 404 release-not-staged: release ${CANDIDATE} is not staged at lab`
    );
  });

  it('fails after timeoutMs when the answer does not come, without waiting for it', async () => {
    let late: NodeJS.Timeout | undefined;
    respond = (req, res) => {
      late = setTimeout(() => json(res, 200, { status: 'ok' }, asRequested(req)), 2_000);
    };
    const started = Date.now();
    expect((await run(check({ timeoutMs: 150 })))[0]).toEqual({
      check: 'GET /health',
      ok: false,
      detail: 'timed out after 150 ms',
    });
    expect(Date.now() - started).toBeLessThan(1_500);
    clearTimeout(late);
  });

  it('fails saying the runtime is unreachable when nothing listens at its URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const [result] = await new HttpSmokeRunner({
      checks: [check()],
      urlOf: () => `http://127.0.0.1:${port}/`,
    }).run('lab', CANDIDATE);
    expect(result?.ok).toBe(false);
    expect(result?.detail).toMatch(
      new RegExp(`^unreachable at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`)
    );
  });

  it('runs every check and reports each', async () => {
    const results = await run(check(), check({ path: '/items', expectStatus: 401 }));
    expect(results.map((r) => [r.check, r.ok])).toEqual([
      ['GET /health', true],
      ['GET /items', false],
    ]);
  });
});

describe('a satellite’s URL from its registration', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const client = testTableClient();
  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(async () => {
    await table.drop();
    client.destroy();
  });

  it('is the apiUrl its deploy registered (a Local Zone or Outpost load balancer)', async () => {
    await records.registrations.register({
      locationId: 'lax',
      facts: { kind: 'local-zone', apiUrl: 'https://lax.example.com/' },
      latestStaged: CANDIDATE,
    });
    await expect(registeredUrl(records)('lax')).resolves.toBe('https://lax.example.com/');
  });

  it('fails every check of a location that registered no URL (on-prem), saying why', async () => {
    await records.registrations.register({
      locationId: 'factory',
      facts: { kind: 'on-prem' },
      latestStaged: CANDIDATE,
    });
    const results = await new HttpSmokeRunner({
      checks: [check(), check({ path: '/items' })],
      urlOf: registeredUrl(records),
    }).run('factory', CANDIDATE);
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(r.detail).toMatch(/^no URL reaches factory: its registration names no apiUrl/);
    }
  });
});
