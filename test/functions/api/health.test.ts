import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LocationContext } from '../../../core/location-env';
import { keys } from '../../../core/records/keys';
import { createTableClient } from '../../../core/records/table';
import {
  cachedProbe,
  checkHealth,
  probeTable,
  readFunctionDrains,
} from '../../../functions/api/health/health';
import { buildRelease } from '../../../lib/release/build';
import { httpEvent } from '../../support/events';
import { createTestTable, testEndpoint } from '../../support/table';

const execFileAsync = promisify(execFile);
const NOT_DRAINED = { drained: false, retryAfterSeconds: 0 };

describe('GET /health', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const context = (tableName: string): LocationContext => ({
    environment: 'test',
    locationId: 'use1',
    locationKind: 'region',
    region: 'us-east-1',
    releaseId: 'r-0123456789abcdef',
    tableName,
    dataRegion: 'us-east-1',
  });
  const client = () => createTableClient({ region: 'us-east-1', endpoint: testEndpoint() });

  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(() => table.drop());

  it('reports the location, release and data region, and that the table answers', async () => {
    const report = await checkHealth(
      context(table.tableName),
      () => probeTable(context(table.tableName), client()),
      NOT_DRAINED
    );
    expect(report).toEqual({
      status: 'ok',
      connected: true,
      location: 'use1',
      kind: 'region',
      region: 'us-east-1',
      release: 'r-0123456789abcdef',
      dataRegion: 'us-east-1',
      table: { ok: true, latencyMs: expect.any(Number) },
      drain: { drained: false, functions: [] },
    });
  });

  it('lists the functions of the release drained fleet-wide, with their reasons', async () => {
    const put = (Item: Record<string, unknown>) =>
      client().send(new PutCommand({ TableName: table.tableName, Item }));
    await put({ ...keys.functionDrain('items'), drained: true, reason: 'bad writes' });
    await put({ ...keys.functionDrain('echo'), drained: false });
    await put({ ...keys.functionDrain('other'), drained: true });
    try {
      const report = await checkHealth(
        context(table.tableName),
        () => probeTable(context(table.tableName), client()),
        NOT_DRAINED,
        () => readFunctionDrains(context(table.tableName), client(), ['health', 'items', 'echo'])
      );
      expect(report.status).toBe('ok');
      expect(report.drain).toEqual({
        drained: false,
        functions: [{ name: 'items', reason: 'bad writes' }],
      });
    } finally {
      for (const name of ['items', 'echo', 'other']) {
        await client().send(
          new DeleteCommand({ TableName: table.tableName, Key: keys.functionDrain(name) })
        );
      }
    }
  });

  it('reports why the function drains could not be read, without failing the location', async () => {
    const report = await checkHealth(
      context(table.tableName),
      async () => ({ ok: true, latencyMs: 1 }),
      NOT_DRAINED,
      () => readFunctionDrains(context('orbit-missing'), client(), ['items'])
    );
    expect(report.status).toBe('ok');
    expect(report.drain).toEqual({
      drained: false,
      functions: [],
      functionsError: expect.stringContaining('ResourceNotFoundException'),
    });
  });

  it('reports drained, with scope and reason, while the location is drained', async () => {
    const report = await checkHealth(
      context(table.tableName),
      () => probeTable(context(table.tableName), client()),
      {
        drained: true,
        scope: 'location use1',
        reason: 'maintenance',
        retryAfterSeconds: 30,
      }
    );
    expect(report.status).toBe('drained');
    expect(report.drain).toEqual({
      drained: true,
      scope: 'location use1',
      reason: 'maintenance',
      functions: [],
    });
  });

  it('reports unhealthy, with the reason, when the table does not answer', async () => {
    const report = await checkHealth(
      context('orbit-missing'),
      () => probeTable(context('orbit-missing'), client()),
      NOT_DRAINED
    );
    expect(report.status).toBe('unhealthy');
    expect(report.table).toEqual({
      ok: false,
      latencyMs: expect.any(Number),
      error: expect.stringContaining('ResourceNotFoundException'),
    });
  });

  it('reports a satellite cut off from its table as disconnected since then, still serving', async () => {
    const since = '2026-12-02T01:00:00.000Z';
    const report = await checkHealth(
      context('orbit-missing'),
      () => probeTable(context('orbit-missing'), client()),
      NOT_DRAINED,
      undefined,
      since
    );
    expect(report).toMatchObject({
      status: 'disconnected',
      connected: false,
      disconnectedSince: since,
    });
  });

  it('reports drained over disconnected: a drain is on purpose', async () => {
    const report = await checkHealth(
      context(table.tableName),
      () => probeTable(context(table.tableName), client()),
      { drained: true, scope: 'location', reason: 'maintenance', retryAfterSeconds: 30 },
      undefined,
      '2026-12-02T01:00:00.000Z'
    );
    expect(report.status).toBe('drained');
  });

  it('probes the table once per second however often it is asked', async () => {
    let probes = 0;
    let clock = 0;
    const probe = cachedProbe(
      async () => {
        probes += 1;
        return { ok: true, latencyMs: 1 };
      },
      1000,
      () => clock
    );
    for (let i = 0; i < 50; i++) await probe();
    expect(probes).toBe(1);
    clock = 1000;
    await probe();
    expect(probes).toBe(2);
  });

  describe('the released bundle', () => {
    let releaseDir: string;
    let releaseId: string;
    const env = (tableName: string) => ({
      ...process.env,
      ORBIT_ENVIRONMENT: 'test',
      ORBIT_LOCATION_ID: 'lab',
      ORBIT_LOCATION_KIND: 'on-prem',
      ORBIT_REGION: 'us-east-1',
      ORBIT_RELEASE_ID: releaseId,
      ORBIT_TABLE_NAME: tableName,
      ORBIT_DATA_REGION: 'us-east-1',
      ORBIT_DYNAMODB_ENDPOINT: testEndpoint(),
    });
    /** Runs the very bytes every location runs, in a fresh Node process: a cold start. */
    const coldStart = async (
      tableName: string,
      fn = 'health',
      event: unknown = httpEvent({ method: 'GET', path: '/health', routeKey: 'GET /health' })
    ): Promise<APIGatewayProxyStructuredResultV2> => {
      const bundle = path.join(releaseDir, `functions/${fn}/index.js`);
      const script = `require(${JSON.stringify(bundle)}).handler(${JSON.stringify(event)}, {}).then((r) => console.log('RESULT ' + JSON.stringify(r)))`;
      const { stdout } = await execFileAsync(process.execPath, ['-e', script], {
        env: { ...env(tableName), ORBIT_FUNCTION: fn },
      });
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      return JSON.parse((line as string).slice('RESULT '.length));
    };

    beforeAll(async () => {
      const release = await buildRelease({
        outDir: mkdtempSync(path.join(tmpdir(), 'orbit-health-')),
      });
      releaseId = release.manifest.releaseId;
      releaseDir = release.dir;
    });

    it('answers 200 with JSON and the location headers', async () => {
      const result = await coldStart(table.tableName);
      expect(result.statusCode).toBe(200);
      expect(result.headers).toMatchObject({
        'content-type': 'application/json',
        'x-orbit-location': 'lab',
        'x-orbit-release': releaseId,
      });
      expect(JSON.parse(result.body as string)).toMatchObject({
        status: 'ok',
        location: 'lab',
        kind: 'on-prem',
        table: { ok: true },
      });
    });

    it('answers 503 reporting the drain while the location is drained', async () => {
      await client().send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.locationDrain('lab'), drained: true, reason: 'rack move' },
        })
      );
      try {
        const result = await coldStart(table.tableName);
        expect(result.statusCode).toBe(503);
        // Marked as the kill switch's answer: counted as drained, not as a release error.
        expect(result.headers).toMatchObject({ 'x-orbit-drained': '1' });
        expect(JSON.parse(result.body as string)).toMatchObject({
          status: 'drained',
          drain: { drained: true, scope: 'location lab', reason: 'rack move' },
        });
      } finally {
        await client().send(
          new DeleteCommand({ TableName: table.tableName, Key: keys.locationDrain('lab') })
        );
      }
    });

    it('answers 200 listing a function of the release drained fleet-wide', async () => {
      await client().send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.functionDrain('items'), drained: true, reason: 'bad writes' },
        })
      );
      try {
        const result = await coldStart(table.tableName);
        expect(result.statusCode).toBe(200);
        expect(result.headers).not.toHaveProperty('x-orbit-drained');
        expect(JSON.parse(result.body as string)).toMatchObject({
          status: 'ok',
          drain: { drained: false, functions: [{ name: 'items', reason: 'bad writes' }] },
        });
      } finally {
        await client().send(
          new DeleteCommand({ TableName: table.tableName, Key: keys.functionDrain('items') })
        );
      }
    });

    it('answers unknown paths from the fallback bundle with 404 and 405, using the release route table', async () => {
      const notFound = await coldStart(
        table.tableName,
        'fallback',
        httpEvent({ method: 'GET', path: '/nope' })
      );
      expect(notFound.statusCode).toBe(404);
      expect(notFound.headers).toMatchObject({ 'content-type': 'application/problem+json' });
      const wrongMethod = await coldStart(
        table.tableName,
        'fallback',
        httpEvent({ method: 'POST', path: '/items/abc' })
      );
      expect(wrongMethod.statusCode).toBe(405);
      expect(wrongMethod.headers).toMatchObject({ allow: 'DELETE, GET, PATCH, PUT' });
    });

    it('answers 503 when its table is gone', async () => {
      const result = await coldStart('orbit-dropped');
      expect(result.statusCode).toBe(503);
      expect(JSON.parse(result.body as string)).toMatchObject({
        status: 'unhealthy',
        table: { ok: false },
      });
    });
  });
});
