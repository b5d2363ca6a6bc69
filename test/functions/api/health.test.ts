import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { checkHealth } from '../../../functions/api/health/health';
import type { LocationContext } from '../../../functions/shared/env';
import { createTableClient } from '../../../functions/shared/table';
import { buildRelease } from '../../../lib/release/build';
import { createTestTable, testEndpoint } from '../../support/table';

const execFileAsync = promisify(execFile);

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
    const report = await checkHealth(context(table.tableName), client());
    expect(report).toEqual({
      status: 'ok',
      location: 'use1',
      kind: 'region',
      region: 'us-east-1',
      release: 'r-0123456789abcdef',
      dataRegion: 'us-east-1',
      table: { ok: true, latencyMs: expect.any(Number) },
    });
  });

  it('reports unhealthy, with the reason, when the table does not answer', async () => {
    const report = await checkHealth(context('orbit-missing'), client());
    expect(report.status).toBe('unhealthy');
    expect(report.table).toEqual({
      ok: false,
      latencyMs: expect.any(Number),
      error: expect.stringContaining('ResourceNotFoundException'),
    });
  });

  describe('the released bundle', () => {
    let bundlePath: string;
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
    const coldStart = async (tableName: string): Promise<APIGatewayProxyStructuredResultV2> => {
      const script = `require(${JSON.stringify(bundlePath)}).handler({}, {}).then((r) => process.stdout.write(JSON.stringify(r)))`;
      const { stdout } = await execFileAsync(process.execPath, ['-e', script], {
        env: env(tableName),
      });
      return JSON.parse(stdout);
    };

    beforeAll(async () => {
      const release = await buildRelease({
        outDir: mkdtempSync(path.join(tmpdir(), 'orbit-health-')),
      });
      releaseId = release.manifest.releaseId;
      bundlePath = path.join(release.dir, 'functions/health/index.js');
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
