import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Release } from '../../core/manifest';
import { locationHeartbeat } from '../../core/records/heartbeats';
import { keys } from '../../core/records/keys';
import { buildRelease } from '../../lib/release/build';
import { testTableClient } from '../support/handlers';
import { createTestTable, testEndpoint } from '../support/table';

/** Waits for `check` to hold, up to `timeoutMs`; fails saying what it waited for. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** How the process ended, or a failure saying it did not end within `timeoutMs`. */
function exited(child: ChildProcess, timeoutMs = 30_000) {
  return new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(
      () => reject(new Error(`the runtime (pid ${child.pid}) did not exit within ${timeoutMs} ms`)),
      timeoutMs
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** True once nothing accepts a connection on the URL's port (a connection, not a request). */
const refusesConnections = (url: string) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

/**
 * A request whose headers the runtime has taken (it answered `100 Continue`) and whose body
 * is held back: a request in flight for as long as the test wants.
 */
function heldRequest(url: string) {
  const req = request(new URL('/health', url), {
    method: 'POST',
    agent: false,
    headers: { expect: '100-continue', 'content-length': '2' },
  });
  const answer = new Promise<{ status: number; connection?: string }>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection })
      );
    });
    req.on('error', reject);
  });
  // Handled here too: a cut request fails before the test asks for its answer.
  answer.catch(() => undefined);
  const inFlight = new Promise<void>((resolve) => req.once('continue', () => resolve()));
  req.flushHeaders();
  return { inFlight, answer, send: () => req.end('{}') };
}

describe('a runtime process', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let outDir: string;
  let release: Release;
  const started: ChildProcess[] = [];
  const client = testTableClient();

  const heartbeatAt = async (locationId: string) =>
    locationHeartbeat(
      (
        await client.send(
          new GetCommand({ TableName: table.tableName, Key: keys.heartbeat(locationId) })
        )
      ).Item
    )?.atMs;

  /** The release's runtime for `locationId`, as systemd or the local fleet starts it. */
  const startRuntime = async (
    locationId: string,
    options: { env?: Record<string, string>; stdio?: StdioOptions } = {}
  ) => {
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.desiredTraffic(locationId),
          stable: release.manifest.releaseId,
          weight: 0,
          updatedAt: new Date().toISOString(),
        },
      })
    );
    const child = spawn(process.execPath, [path.join(release.dir, 'runtime/index.js')], {
      env: {
        PATH: process.env.PATH,
        ORBIT_ENVIRONMENT: 'test',
        ORBIT_LOCATION_ID: locationId,
        ORBIT_LOCATION_KIND: 'local-zone',
        ORBIT_REGION: 'us-east-1',
        ORBIT_TABLE_NAME: table.tableName,
        ORBIT_DATA_REGION: 'us-east-1',
        ORBIT_DYNAMODB_ENDPOINT: testEndpoint(),
        AWS_ACCESS_KEY_ID: 'orbit-local',
        AWS_SECRET_ACCESS_KEY: 'orbit-local',
        ORBIT_RUNTIME_PORT: '0',
        ORBIT_RUNTIME_HOST: '127.0.0.1',
        ORBIT_ARTIFACTS: outDir,
        ORBIT_PULL_INTERVAL_SECONDS: '0.2',
        ORBIT_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'orbit-state-')),
        // A line on stdout after every heartbeat: writes keep coming once the reader is gone.
        ORBIT_ANNOUNCE_HEARTBEATS: 'true',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        ...options.env,
      },
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    const stderr: string[] = [];
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      stderr.push(line)
    );
    // The reader takes lines until the one it wants, then goes away, like `| head -n 1`.
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.on('line', (line) => {
        if (line.startsWith('{"event":"ready"')) resolve(JSON.parse(line).url);
      });
      child.once('exit', (code) =>
        reject(new Error(`the runtime exited (code ${code}): ${stderr.join('\n')}`))
      );
    });
    return { child, url, stderr };
  };

  const health = async (url: string) =>
    (await fetch(new URL('/health', url), { signal: AbortSignal.timeout(10_000) })).status;

  /** Waits for `n` more heartbeats: each is a write to stdout once the reader is gone. */
  const heartbeats = async (locationId: string, n: number) => {
    let last = await heartbeatAt(locationId);
    let seen = 0;
    await until(`${n} more heartbeats from ${locationId}`, async () => {
      const now = await heartbeatAt(locationId);
      if (now !== last) {
        last = now;
        seen++;
      }
      return seen >= n;
    });
  };

  beforeAll(async () => {
    table = await createTestTable();
    outDir = mkdtempSync(path.join(tmpdir(), 'orbit-runtime-process-'));
    release = await buildRelease({ outDir });
  });
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
    await table.drop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('keeps answering once the reader of its stdout goes away, and counts the writes it dropped', async () => {
    const { child, url, stderr } = await startRuntime('reader-gone');
    child.stdout?.destroy();
    await heartbeats('reader-gone', 3);
    for (let i = 0; i < 5; i++) expect(await health(url)).toBe(200);
    expect(stderr).toContain(
      'orbit runtime: stdout failed (EPIPE); its writes are dropped and counted from now on'
    );
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(stderr.filter((l) => /uncaught/.test(l))).toEqual([]);
    expect(stderr[stderr.length - 1]).toMatch(
      /^orbit runtime: stopped \(SIGTERM\): 0 request\(s\) answered while stopping; log writes dropped: stdout [1-9]\d* \(EPIPE\)$/
    );
  });

  it('compiles its bundles, once restarted, from the bytecode it kept at its first start', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-state-'));
    const cacheDir = path.join(stateDir, 'code-cache');
    const entries = () =>
      Object.fromEntries(
        readdirSync(cacheDir).map((name) => [name, statSync(path.join(cacheDir, name)).mtimeMs])
      );
    const first = await startRuntime('code-cache', { env: { ORBIT_STATE_DIR: stateDir } });
    expect(await health(first.url)).toBe(200);
    // One entry per bundle of the release, however many workers loaded it.
    await until(
      'an entry per bundle',
      async () =>
        existsSync(cacheDir) && Object.keys(entries()).length === release.manifest.functions.length
    );
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toEqual({ code: 0, signal: null });
    const kept = entries();

    const second = await startRuntime('code-cache', { env: { ORBIT_STATE_DIR: stateDir } });
    expect(await health(second.url)).toBe(200);
    const after = entries();
    // The same entries (none refused and replaced), each read again (a read sets its time).
    expect(Object.keys(after).sort()).toEqual(Object.keys(kept).sort());
    for (const [name, at] of Object.entries(after))
      expect(at).toBeGreaterThan(kept[name] as number);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toEqual({ code: 0, signal: null });
  });

  it('keeps serving with both stdout and stderr gone, and stops on SIGTERM', async () => {
    const { child, url } = await startRuntime('both-gone');
    child.stdout?.destroy();
    child.stderr?.destroy();
    await heartbeats('both-gone', 3);
    for (let i = 0; i < 20; i++) expect(await health(url)).toBe(200);
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
  });

  it('answers a request in flight when told to stop, closes its connection after, and exits 0', async () => {
    const { child, url, stderr } = await startRuntime('drain');
    const held = heldRequest(url);
    await held.inFlight;
    child.kill('SIGTERM');
    // Stopping: no new connection is taken, while the one in flight still is answered.
    await until('the runtime to refuse new connections', () => refusesConnections(url));
    held.send();
    expect(await held.answer).toEqual({ status: expect.any(Number), connection: 'close' });
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(stderr[stderr.length - 1]).toBe(
      'orbit runtime: stopped (SIGTERM): 1 request(s) answered while stopping'
    );
  });

  it('exits when its grace period ends, cutting the request still in flight', async () => {
    const { child, url, stderr } = await startRuntime('grace', {
      env: { ORBIT_SHUTDOWN_GRACE_SECONDS: '1' },
    });
    const held = heldRequest(url);
    await held.inFlight;
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 1, signal: null });
    await expect(held.answer).rejects.toThrow();
    expect(stderr[stderr.length - 1]).toBe(
      'orbit runtime: stopped (SIGTERM): 0 request(s) answered while stopping, 1 cut when the 1 s grace period ended'
    );
  });

  it('stops when the IPC channel of the process that started it closes', async () => {
    const { child, url } = await startRuntime('supervised', {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    expect(await health(url)).toBe(200);
    child.disconnect();
    expect(await exited(child)).toEqual({ code: 0, signal: null });
  });
});
