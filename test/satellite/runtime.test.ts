import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Release } from '../../core/manifest';
import { type Heartbeat, isStale, locationHeartbeat } from '../../core/records/heartbeats';
import { keys } from '../../core/records/keys';
import { type DevIssuer, startDevIssuer } from '../../lib/local/dev-issuer';
import { buildRelease } from '../../lib/release/build';
import { testTableClient } from '../support/handlers';
import { createTestTable, testEndpoint } from '../support/table';

const PULL_SECONDS = 0.2;

/** A copy of a release under another id: same bytes, a distinguishable release. */
function copyAs(release: Release, releaseId: string): string {
  const dir = path.join(path.dirname(release.dir), releaseId);
  cpSync(release.dir, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, releaseId }));
  return releaseId;
}

describe('the satellite runtime', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let release: Release;
  let r2: string;
  let issuer: DevIssuer;
  let child: ChildProcess;
  let url: string;
  const client = testTableClient();
  const setDesired = (desired: { stable: string; candidate?: string; weight: number }) =>
    client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.desiredTraffic('sat1'), ...desired, updatedAt: new Date().toISOString() },
      })
    );
  const heartbeat = async () =>
    locationHeartbeat(
      (
        await client.send(
          new GetCommand({ TableName: table.tableName, Key: keys.heartbeat('sat1') })
        )
      ).Item
    );

  /** The release's runtime as its own process, for one location; resolves once it serves. */
  const startRuntimeProcess = async (
    locationId: string,
    pullSeconds: number,
    extraEnv: Record<string, string> = {}
  ) => {
    const proc = spawn(process.execPath, [path.join(release.dir, 'runtime/index.js')], {
      env: {
        ...process.env,
        ORBIT_ENVIRONMENT: 'test',
        ORBIT_LOCATION_ID: locationId,
        ORBIT_LOCATION_KIND: 'local-zone',
        ORBIT_REGION: 'us-east-1',
        ORBIT_TABLE_NAME: table.tableName,
        ORBIT_DATA_REGION: 'us-east-1',
        ORBIT_DYNAMODB_ENDPOINT: testEndpoint(),
        ORBIT_RUNTIME_PORT: '0',
        ORBIT_RUNTIME_HOST: '127.0.0.1',
        ORBIT_ARTIFACTS: path.dirname(release.dir),
        ORBIT_AUTH_ISSUER: issuer.issuer,
        ORBIT_AUTH_AUDIENCE: 'orbit-test',
        ORBIT_PULL_INTERVAL_SECONDS: String(pullSeconds),
        ORBIT_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'orbit-state-')),
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.startsWith('{"event":"ready"')) resolve(JSON.parse(line).url);
      });
      proc.once('exit', (code) => reject(new Error(`runtime exited with ${code}`)));
    });
    return { child: proc, url: ready };
  };

  beforeAll(async () => {
    table = await createTestTable();
    release = await buildRelease({
      functionsDir: path.join(__dirname, '..', 'fixtures', 'runtime'),
      outDir: mkdtempSync(path.join(tmpdir(), 'orbit-runtime-')),
    });
    r2 = copyAs(release, 'r-00000000000000b2');
    issuer = await startDevIssuer(0, 'orbit-test');
    await setDesired({ stable: release.manifest.releaseId, weight: 0 });
    ({ child, url } = await startRuntimeProcess('sat1', PULL_SECONDS));
  });
  afterAll(async () => {
    child.kill('SIGKILL');
    await issuer.stop();
    await table.drop();
  });

  const get = (p: string, init: RequestInit = {}) => fetch(new URL(p, url), init);

  it('hands the handler the payload 2.0 event and a Lambda-like context', async () => {
    const res = await get('/echo/hello?x=1&x=2', {
      method: 'POST',
      headers: { cookie: 'a=1; b=2', 'content-type': 'application/json', 'x-Custom': 'yes' },
      body: '{"n":1}',
    });
    expect(res.status).toBe(200);
    const { event, context, release: releaseId } = (await res.json()) as any;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /echo/{word}',
      rawPath: '/echo/hello',
      rawQueryString: 'x=1&x=2',
      cookies: ['a=1', 'b=2'],
      headers: expect.objectContaining({ 'x-custom': 'yes' }),
      queryStringParameters: { x: '1,2' },
      pathParameters: { word: 'hello' },
      body: '{"n":1}',
      isBase64Encoded: false,
      requestContext: expect.objectContaining({
        http: expect.objectContaining({
          method: 'POST',
          path: '/echo/hello',
          sourceIp: '127.0.0.1',
        }),
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        stage: '$default',
      }),
    });
    expect(context.awsRequestId).toBe(event.requestContext.requestId);
    expect(context.functionName).toBe('orbit-test-echo');
    expect(context.remainingMs).toBeGreaterThan(0);
    expect(context.remainingMs).toBeLessThanOrEqual(1000);
    expect(releaseId).toBe(release.manifest.releaseId);
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(res.headers.get('x-orbit-location')).toBe('sat1');
  });

  // ELB guide, "Connection idle timeout": the target's keep-alive must outlast the load
  // balancer's idle timeout (60 s by default); Node's own default is 5 s.
  it("keeps keep-alive connections open past the load balancer's idle timeout, and says so", async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      const header = await new Promise<unknown>((resolve, reject) => {
        httpGet(new URL('/plain', url), { agent }, (res) => {
          res.resume();
          resolve(res.headers['keep-alive']);
        }).on('error', reject);
      });
      expect(header).toEqual(expect.stringMatching(/^timeout=65\b/));
    } finally {
      agent.destroy();
    }
  });

  it('takes its keep-alive timeout from ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS, as the stack sets it', async () => {
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.desiredTraffic('sat3'),
          stable: release.manifest.releaseId,
          weight: 0,
          updatedAt: new Date().toISOString(),
        },
      })
    );
    const sat3 = await startRuntimeProcess('sat3', 3600, { ORBIT_KEEP_ALIVE_TIMEOUT_SECONDS: '7' });
    const agent = new Agent({ keepAlive: true });
    try {
      const header = await new Promise<unknown>((resolve, reject) => {
        httpGet(new URL('/plain', sat3.url), { agent }, (res) => {
          res.resume();
          resolve(res.headers['keep-alive']);
        }).on('error', reject);
      });
      expect(header).toEqual(expect.stringMatching(/^timeout=7\b/));
    } finally {
      agent.destroy();
      sat3.child.kill('SIGKILL');
    }
  });

  it('answers a result without statusCode as 200 JSON, as API Gateway does', async () => {
    const res = await get('/plain');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ message: 'an object without statusCode' });
  });

  it('answers a handler that throws with a 500 problem that reveals nothing, and keeps serving', async () => {
    const res = await get('/throw');
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.text()).not.toContain('secret detail');
    expect((await get('/plain')).status).toBe(200);
  });

  it.each(['/slow', '/crash'])(
    'answers %s with 504 after the function timeout, and keeps serving',
    async (p) => {
      const started = Date.now();
      const res = await get(p);
      expect(res.status).toBe(504);
      expect(((await res.json()) as any).type).toBe('urn:orbit:problem:timeout');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect((await get('/plain')).status).toBe(200);
    }
  );

  it("refuses a request body over Lambda's 6 MB with 413", async () => {
    const res = await get('/echo/big', { method: 'POST', body: 'x'.repeat(6 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
  });

  it("answers 502 when a function's response is over 6 MB", async () => {
    const res = await get('/big');
    expect(res.status).toBe(502);
    expect(((await res.json()) as any).type).toBe('urn:orbit:problem:response-too-large');
  });

  it('answers unknown paths and methods through the fallback with 404 and 405', async () => {
    expect((await get('/nowhere')).status).toBe(404);
    const wrong = await get('/plain', { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });

  describe('JWT routes', () => {
    it('answers 401 with a problem body and WWW-Authenticate without a token', async () => {
      const res = await get('/private');
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(((await res.json()) as any).type).toBe('urn:orbit:problem:unauthorized');
    });

    it('answers 401 for a token from another issuer', async () => {
      const other = await startDevIssuer(0, 'orbit-test');
      try {
        const token = await other.issue('mallory');
        const res = await get('/private', { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
      } finally {
        await other.stop();
      }
    });

    it('answers 403 for a valid token issued for another audience', async () => {
      const token = await issuer.issue('alice', { audience: 'someone-else' });
      const res = await get('/private', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as any).type).toBe('urn:orbit:problem:forbidden');
    });

    it('hands the verified claims to the handler as the JWT authorizer would', async () => {
      const token = await issuer.issue('alice');
      const res = await get('/private', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        jwt: {
          claims: expect.objectContaining({ sub: 'alice', aud: 'orbit-test' }),
          scopes: ['items'],
        },
      });
    });
  });

  it('writes heartbeats with what it serves and per-release counts and latency', async () => {
    await Promise.all(Array.from({ length: 10 }, () => get('/plain')));
    // Every heartbeat for a few intervals: the requests land in one of their windows.
    const byTime = new Map<number, Heartbeat>();
    for (let i = 0; i < 40; i++) {
      const hb = await heartbeat();
      if (hb) byTime.set(hb.atMs, hb);
      await new Promise((r) => setTimeout(r, 25));
    }
    const seen = [...byTime.values()];
    const last = seen[seen.length - 1] as Heartbeat;
    const counted = seen.map((hb) => hb.releases[release.manifest.releaseId]).filter(Boolean);
    expect(counted.reduce((n, s) => n + (s?.requests ?? 0), 0)).toBeGreaterThanOrEqual(10);
    expect(counted[0]).toEqual({
      requests: expect.any(Number),
      errors4xx: expect.any(Number),
      errors5xx: expect.any(Number),
      p50Ms: expect.any(Number),
      p99Ms: expect.any(Number),
    });
    expect(last).toMatchObject({
      locationId: 'sat1',
      stable: release.manifest.releaseId,
      weight: 0,
      intervalSeconds: PULL_SECONDS,
    });
    expect(isStale(last, Date.now())).toBe(false);
  });

  it('switches releases under load without failing a request, and honours the override header', async () => {
    const seen = new Map<string, number>();
    const statuses: number[] = [];
    let switched = false;
    const worker = async () => {
      for (let i = 0; i < 40; i++) {
        const res = await get('/echo/load');
        statuses.push(res.status);
        const id = res.headers.get('x-orbit-release') as string;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        if (!switched && statuses.length > 200) {
          switched = true;
          await setDesired({ stable: release.manifest.releaseId, candidate: r2, weight: 1 });
        }
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(800);
    // Wait for the switch if the load finished first, then check both serve on purpose.
    for (let i = 0; i < 20 && !seen.has(r2); i++) {
      const res = await get('/echo/after');
      seen.set(res.headers.get('x-orbit-release') as string, 1);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.has(r2)).toBe(true);
    const pinned = await get('/echo/x', { headers: { 'x-orbit-target-release': 'stable' } });
    expect(pinned.headers.get('x-orbit-release')).toBe(release.manifest.releaseId);
    await setDesired({ stable: release.manifest.releaseId, weight: 0 });
  });

  it('pulls at once on SIGHUP (systemctl reload), not at its next interval', async () => {
    const desire = (desired: { stable: string; candidate?: string; weight: number }) =>
      client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.desiredTraffic('sat2'), ...desired, updatedAt: new Date().toISOString() },
        })
      );
    await desire({ stable: release.manifest.releaseId, weight: 0 });
    const sat2 = await startRuntimeProcess('sat2', 3600);
    try {
      const serving = async () =>
        (await fetch(new URL('/echo/x', sat2.url))).headers.get('x-orbit-release');
      expect(await serving()).toBe(release.manifest.releaseId);
      await desire({ stable: release.manifest.releaseId, candidate: r2, weight: 1 });
      sat2.child.kill('SIGHUP');
      let now = await serving();
      for (let i = 0; i < 50 && now !== r2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        now = await serving();
      }
      expect(now).toBe(r2);
    } finally {
      sat2.child.kill('SIGKILL');
    }
  });

  it('lets its heartbeat go stale once it is stopped mid-flight', async () => {
    const inFlight = get('/slow').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await inFlight;
    const last = (await heartbeat()) as Heartbeat;
    await new Promise((r) => setTimeout(r, PULL_SECONDS * 1000 * 4));
    const after = (await heartbeat()) as Heartbeat;
    expect(after.atMs).toBe(last.atMs);
    expect(isStale(after, Date.now())).toBe(true);
  });
});
