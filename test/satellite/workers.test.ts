import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Release } from '../../core/manifest';
import { heartbeatEntries, type InstanceHeartbeat, sumTotals } from '../../core/records/heartbeats';
import { keys } from '../../core/records/keys';
import { buildRelease } from '../../lib/release/build';
import { testTableClient } from '../support/handlers';
import { createTestTable, testEndpoint } from '../support/table';

/** Waits for `check` to hold, up to `timeoutMs`; fails saying what it waited for. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
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

/** The processes whose parent is `pid` (a primary's workers), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // `pid (comm) state ppid …`: the command may hold spaces, so split after its `)`.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
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

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A copy of a release under another id: same bytes, a distinguishable release. */
function copyAs(release: Release, releaseId: string): string {
  const dir = path.join(path.dirname(release.dir), releaseId);
  cpSync(release.dir, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, releaseId }));
  return releaseId;
}

/** One answer: its status and the release that gave it (empty when none did). */
interface Answer {
  readonly status: number;
  readonly release: string;
  readonly body?: string;
}

/**
 * One request; `agent: false` opens a connection of its own, which the cluster hands to its
 * workers in turn, so that a series of them reaches every worker.
 */
function call(
  url: string,
  p: string,
  options: { agent?: Agent | false; headers?: Record<string, string>; body?: boolean } = {}
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(p, url),
      { agent: options.agent ?? false, headers: options.headers, timeout: 20_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            release: String(res.headers['x-orbit-release'] ?? ''),
            ...(options.body ? { body: Buffer.concat(chunks).toString() } : {}),
          })
        );
        res.on('error', reject);
      }
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', reject);
    req.end();
  });
}

/** A request's failure at the connection level: what a worker dying under it causes. */
const CONNECTION_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED']);
const isConnectionError = (err: unknown) =>
  CONNECTION_ERRORS.has((err as NodeJS.ErrnoException).code ?? '') ||
  /socket hang up/.test((err as Error).message);

/**
 * A request whose headers the runtime has taken (it answered `100 Continue`) and whose body
 * is held back: a request in flight for as long as the test wants.
 */
function heldRequest(url: string) {
  const req = request(new URL('/echo/held', url), {
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
  answer.catch(() => undefined);
  const inFlight = new Promise<void>((resolve) => req.once('continue', () => resolve()));
  req.flushHeaders();
  return { inFlight, answer, send: () => req.end('{}') };
}

describe('a runtime with ORBIT_WORKERS', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let release: Release;
  let r1: string;
  let r2: string;
  let outDir: string;
  const started: ChildProcess[] = [];
  const client = testTableClient();

  const desire = (locationId: string, desired: { stable: string; weight?: number }) =>
    client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.desiredTraffic(locationId),
          weight: 0,
          ...desired,
          updatedAt: new Date().toISOString(),
        },
      })
    );
  const entries = async (locationId: string): Promise<InstanceHeartbeat[]> =>
    heartbeatEntries(
      (
        await client.send(
          new GetCommand({
            TableName: table.tableName,
            Key: keys.heartbeat(locationId),
            ConsistentRead: true,
          })
        )
      ).Item
    );

  /** The release's runtime for `locationId` as systemd starts it; resolves once it serves. */
  const startHost = async (
    locationId: string,
    env: Record<string, string> = {},
    pullSeconds = 0.3,
    desired: { stable: string } = { stable: r1 }
  ) => {
    await desire(locationId, desired);
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
        ORBIT_PULL_INTERVAL_SECONDS: String(pullSeconds),
        ORBIT_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'orbit-state-')),
        ORBIT_INSTANCE_ID: `${locationId}-host`,
        ORBIT_WORKERS: '2',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    const stderr: string[] = [];
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      stderr.push(line)
    );
    const ready = await new Promise<{ url: string; workers?: number }>((resolve, reject) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.startsWith('{"event":"ready"')) resolve(JSON.parse(line));
      });
      child.once('exit', (code) =>
        reject(new Error(`the runtime exited (code ${code}): ${stderr.join('\n')}`))
      );
    });
    // The host answers once its first worker serves; the others join just after (they are
    // forked then): tests of every worker wait for the line that says they all serve.
    const workers = Number(env.ORBIT_WORKERS ?? 2);
    if (workers > 1) {
      await until(`all ${workers} workers of ${locationId} to serve`, () =>
        stderr.some((l) => l.includes(`all ${workers} workers serve`))
      );
    }
    return { child, url: ready.url, ready, stderr, pid: child.pid as number };
  };

  beforeAll(async () => {
    table = await createTestTable();
    outDir = mkdtempSync(path.join(tmpdir(), 'orbit-workers-'));
    release = await buildRelease({
      functionsDir: path.join(__dirname, '..', 'fixtures', 'runtime'),
      outDir,
    });
    r1 = release.manifest.releaseId;
    r2 = copyAs(release, 'r-00000000000000c2');
  });
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
    await table.drop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('serves from two processes on one port, each with its own heartbeat entry', async () => {
    const host = await startHost('two');
    expect(host.ready.workers).toBe(2);
    const workers = childrenOf(host.pid);
    expect(workers).toHaveLength(2);
    for (let i = 0; i < 10; i++) expect((await call(host.url, '/echo/x')).status).toBe(200);
    await until('an entry per worker', async () => (await entries('two')).length === 2);
    const found = await entries('two');
    expect(found.map((e) => e.instanceId).sort()).toEqual(['two-host/1', 'two-host/2']);
    expect(new Set(found.map((e) => e.startedAt)).size).toBe(2);
    expect(found.every((e) => e.stable === r1)).toBe(true);
    host.child.kill('SIGKILL');
    await exited(host.child);
    // A worker never outlives its primary (its channel closes): nothing holds the port.
    await until('the workers to end with their primary', () => !workers.some(isAlive));
  });

  it('adds up its workers: N requests in, N in the summed totals of the heartbeat', async () => {
    const host = await startHost('totals');
    const n = 300;
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const statuses: number[] = [];
        for (let i = 0; i < n / 6; i++) statuses.push((await call(host.url, '/echo/x')).status);
        return statuses;
      })
    );
    expect(answers.flat().filter((s) => s !== 200)).toEqual([]);
    const requests = async () => sumTotals(await entries('totals'))[r1]?.requests ?? 0;
    await until(`${n} requests in the summed totals`, async () => (await requests()) >= n);
    // Two more heartbeats of both workers: the sum stays N, nothing counted twice.
    const at = Math.max(...(await entries('totals')).map((e) => e.atMs));
    await until('two more heartbeats', async () =>
      (await entries('totals')).every((e) => e.atMs > at + 300)
    );
    expect(await requests()).toBe(n);
    const each = (await entries('totals')).map((e) => e.totals[r1]?.requests ?? 0);
    expect(each).toHaveLength(2);
    // Connections go to the workers in turn: both served a share.
    expect(Math.min(...each)).toBeGreaterThan(0);
    host.child.kill('SIGTERM');
    expect(await exited(host.child)).toEqual({ code: 0, signal: null });
  });

  it('switches every worker before a heartbeat claims the new split', async () => {
    const host = await startHost('switch');
    const seen: { sentAt: number; release: string; status: number }[] = [];
    let claimedAt: number | undefined;
    let done = false;
    const load = async () => {
      while (!done) {
        const sentAt = Date.now();
        const a = await call(host.url, '/echo/x');
        seen.push({ sentAt, ...a });
      }
    };
    const loads = Array.from({ length: 4 }, load);
    await until('some answers of the first release', () => seen.length > 50);
    await desire('switch', { stable: r2 });
    await until('a heartbeat entry claiming the new release', async () => {
      const claims = (await entries('switch')).some((e) => e.stable === r2);
      if (claims) claimedAt = Date.now();
      return claims;
    });
    // Requests sent after the claim was seen, over new connections to both workers.
    await until(
      '200 more answers',
      () => seen.filter((s) => s.sentAt > (claimedAt as number)).length >= 200
    );
    done = true;
    await Promise.all(loads);
    const after = seen.filter((s) => s.sentAt > (claimedAt as number));
    expect(after.filter((s) => s.status !== 200 || s.release !== r2)).toEqual([]);
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    // Every worker claims the new split, and each has served it.
    await until('both entries claiming it with requests', async () => {
      const found = await entries('switch');
      return (
        found.length === 2 &&
        found.every((e) => e.stable === r2 && (e.totals[r2]?.requests ?? 0) > 0)
      );
    });
    host.child.kill('SIGTERM');
    expect(await exited(host.child)).toEqual({ code: 0, signal: null });
  });

  it('pulls once for the host at SIGHUP, and every worker serves what it pulled', async () => {
    const host = await startHost('reload', {}, 3600);
    expect((await call(host.url, '/echo/x')).release).toBe(r1);
    await desire('reload', { stable: r2 });
    host.child.kill('SIGHUP');
    await until(
      'an answer of the new release',
      async () => (await call(host.url, '/echo/x')).release === r2
    );
    // New connections go to each worker in turn: the next twenty reach both.
    for (let i = 0; i < 20; i++) expect((await call(host.url, '/echo/x')).release).toBe(r2);
    await until('both entries claiming it', async () => {
      const found = await entries('reload');
      return found.length === 2 && found.every((e) => e.stable === r2);
    });
    // The workers are the ones the host started: a reload restarts nothing.
    expect(childrenOf(host.pid)).toHaveLength(2);
    host.child.kill('SIGTERM');
    expect(await exited(host.child)).toEqual({ code: 0, signal: null });
  });

  it('replaces a worker killed mid-load, and every request gets an answer', async () => {
    const host = await startHost('kill');
    const [victim] = childrenOf(host.pid);
    const connections = 8;
    const agent = new Agent({ keepAlive: true, maxSockets: connections });
    const total = 1_200;
    let sent = 0;
    let killedAt: number | undefined;
    const failed: { at: number; error: string }[] = [];
    const answered: Answer[] = [];
    // A request whose connection is reset is sent again, on another connection, as a load
    // balancer or a client with retries does; only a connection-level failure is retried.
    const client = async () => {
      while (sent < total) {
        sent++;
        if (sent === 200) {
          killedAt = Date.now();
          process.kill(victim as number, 'SIGKILL');
        }
        for (let attempt = 1; ; attempt++) {
          try {
            answered.push(await call(host.url, '/echo/x', { agent }));
            break;
          } catch (err) {
            if (!isConnectionError(err) || attempt === 3) throw err;
            failed.push({ at: Date.now(), error: (err as Error).message });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: connections }, client));
    agent.destroy();
    // Every request got an answer, and every answer is a 200.
    expect(answered).toHaveLength(total);
    expect(answered.filter((a) => a.status !== 200)).toEqual([]);
    // What failed (and was retried) was in flight on the killed worker: a request on each of
    // its connections, and at most one more each, handed to it before the primary saw it die.
    expect(killedAt).toBeDefined();
    expect(failed.every((f) => f.at >= (killedAt as number))).toBe(true);
    expect(failed.length).toBeLessThanOrEqual(2 * connections);
    // A new process fills the slot, and serves.
    await until('a new worker in its place', () => {
      const now = childrenOf(host.pid);
      return now.length === 2 && !now.includes(victim as number);
    });
    expect(host.stderr.join('\n')).toMatch(
      new RegExp(`worker \\d \\(pid ${victim}\\) exited \\(signal SIGKILL\\); replacing it`)
    );
    // Its heartbeat entry is a new one; the dead worker's stays, with its totals.
    await until('three entries: the two live workers and the dead one', async () => {
      const found = await entries('kill');
      return found.length === 3;
    });
    const found = await entries('kill');
    expect(new Set(found.map((e) => e.startedAt)).size).toBe(3);
    expect(found.map((e) => e.instanceId).sort()).toEqual(
      expect.arrayContaining(['kill-host/1', 'kill-host/2'])
    );
    for (let i = 0; i < 20; i++) expect((await call(host.url, '/echo/x')).status).toBe(200);
    host.child.kill('SIGTERM');
    expect(await exited(host.child)).toEqual({ code: 0, signal: null });
  });

  it('drains every worker on SIGTERM: the requests in flight are answered, then all exit 0', async () => {
    const host = await startHost('drain');
    const workers = childrenOf(host.pid);
    // Connections go to the workers in turn: two held requests on each.
    const held = Array.from({ length: 4 }, () => heldRequest(host.url));
    await Promise.all(held.map((h) => h.inFlight));
    host.child.kill('SIGTERM');
    // A connection, not a request: a request would be one more answered while stopping.
    await until('the host to refuse new connections', () => refusesConnections(host.url));
    for (const h of held) h.send();
    for (const h of held) {
      expect(await h.answer).toEqual({ status: 200, connection: 'close' });
    }
    expect(await exited(host.child)).toEqual({ code: 0, signal: null });
    expect(host.stderr[host.stderr.length - 1]).toBe(
      'orbit runtime: stopped (SIGTERM): 4 request(s) answered while stopping'
    );
    expect(workers.some(isAlive)).toBe(false);
  });

  it('loads a staged release a request names in whichever worker takes it', async () => {
    const r3 = copyAs(release, 'r-00000000000000c3');
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.stagedRelease('staged', r3), releaseId: r3, stagedAt: '2026-12-02' },
      })
    );
    const host = await startHost('staged');
    const target = (id: string) => ({ headers: { 'x-orbit-target-release': id } });
    for (let i = 0; i < 6; i++) {
      expect(await call(host.url, '/echo/x', target(r3))).toEqual({ status: 200, release: r3 });
    }
    expect(await call(host.url, '/echo/x', target('r-00000000000000ff'))).toEqual({
      status: 404,
      release: '',
    });
    expect((await call(host.url, '/echo/x')).release).toBe(r1);
    host.child.kill('SIGTERM');
    expect(await exited(host.child)).toEqual({ code: 0, signal: null });
  });

  it('tells every worker when the table is out of reach: /health says so, answers count as offline', async () => {
    // The table through a proxy the test can cut: connections refused while it is cut.
    const store = new URL(testEndpoint());
    let cut = false;
    const open = new Set<Socket>();
    const proxy = createServer((socket) => {
      if (cut) {
        socket.destroy();
        return;
      }
      const upstream = connect(Number(store.port), store.hostname);
      for (const s of [socket, upstream]) {
        open.add(s);
        s.on('close', () => open.delete(s));
        s.on('error', () => undefined);
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    const real = await buildRelease({ outDir });
    try {
      const host = await startHost(
        'link',
        {
          ORBIT_ARTIFACTS: path.dirname(real.dir),
          ORBIT_DYNAMODB_ENDPOINT: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        },
        0.3,
        { stable: real.manifest.releaseId }
      );
      const status = async () =>
        JSON.parse((await call(host.url, '/health', { body: true })).body ?? '{}').status;
      expect(await status()).toBe('ok');
      cut = true;
      for (const s of open) s.destroy();
      await until('every worker to say it is cut off', async () => {
        for (let i = 0; i < 6; i++) if ((await status()) !== 'disconnected') return false;
        return true;
      });
      for (let i = 0; i < 40; i++) expect((await call(host.url, '/health')).status).toBe(200);
      cut = false;
      // Delivered once the table answers again: both workers' answers, as offline.
      const id = real.manifest.releaseId;
      await until('both entries with offline answers', async () => {
        const found = await entries('link');
        return found.length === 2 && found.every((e) => (e.totals[id]?.offline ?? 0) > 0);
      });
      const offline = sumTotals(await entries('link'))[id]?.offline ?? 0;
      expect(offline).toBeGreaterThanOrEqual(40);
      host.child.kill('SIGTERM');
      expect(await exited(host.child)).toEqual({ code: 0, signal: null });
    } finally {
      proxy.close();
      for (const s of open) s.destroy();
    }
  });

  it('with ORBIT_WORKERS=1 serves from its one process, as a single runtime does', async () => {
    const host = await startHost('single', { ORBIT_WORKERS: '1' });
    expect(host.ready.workers).toBeUndefined();
    expect(childrenOf(host.pid)).toEqual([]);
    expect((await call(host.url, '/echo/x')).status).toBe(200);
    await until('its heartbeat entry', async () => (await entries('single')).length === 1);
    expect((await entries('single'))[0]?.instanceId).toBe('single-host');
    host.child.kill('SIGTERM');
    expect(await exited(host.child)).toEqual({ code: 0, signal: null });
  });

  it.each(['0', 'two', '1.5', '1000'])(
    'fails at start with ORBIT_WORKERS=%s, saying why',
    async (value) => {
      await expect(startHost('bad', { ORBIT_WORKERS: value })).rejects.toThrow(
        new RegExp(
          `ORBIT_WORKERS=${value.replace('.', '\\.')} is not a number of serving processes`
        )
      );
    }
  );
});
