import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { submit } from '../../lib/cli/commands';
import { resolveTarget } from '../../lib/cli/target';
import { loadEnvironment } from '../../lib/config/load';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import { type LocalFleetState, localStateFile } from '../../lib/local/state-file';

/** True when nothing listens on the port any more. */
const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the local fleet', () => {
  const environment = loadEnvironment({ env: 'dev' });
  const basePort = 4700 + Math.floor(Math.random() * 200);
  let fleet: LocalFleet;

  beforeAll(async () => {
    fleet = await startLocalFleet({ environment, basePort, pullIntervalSeconds: 1 });
  });
  afterAll(() => fleet?.stop());

  it('runs every location of the environment on consecutive loopback ports', () => {
    expect(fleet.locations.map((l) => [l.id, l.kind, l.url])).toEqual(
      environment.locations.map((l, i) => [l.id, l.kind, `http://127.0.0.1:${basePort + 2 + i}/`])
    );
  });

  it('answers /health at every location with the same release', async () => {
    for (const location of fleet.locations) {
      const res = await fetch(`${location.url}health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        status: 'ok',
        location: location.id,
        release: fleet.releaseId,
      });
    }
  });

  it('makes an item written at one location readable at every other', async () => {
    const auth = { authorization: `Bearer ${fleet.token}` };
    const [first, ...others] = fleet.locations;
    const put = await fetch(`${first?.url}items/shared-demo`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ written: 'once' }),
    });
    expect(put.status).toBe(201);
    for (const location of others) {
      const res = await fetch(`${location.url}items/shared-demo`, { headers: auth });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ value: { written: 'once' }, updatedIn: first?.id });
    }
  });

  it('shuts down leaving no process or port behind', async () => {
    const pids = fleet.locations.map((l) => l.pid);
    await fleet.stop();
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    for (let port = basePort; port < basePort + 2 + fleet.locations.length; port++) {
      expect(await portIsFree(port)).toBe(true);
    }
  });

  it('fails with one clear line when a port is taken', async () => {
    const blocker = createServer();
    const port = basePort + 100;
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startLocalFleet({ environment, basePort: port })).rejects.toThrow(
        `port ${port} is already in use (wanted for the embedded store); free it or choose another base port with --port`
      );
    } finally {
      blocker.close();
    }
  });

  it('fails with one line and exit code 1 from npm start for a bad environment', () => {
    let stderr = '';
    let status = 0;
    try {
      execFileSync(
        process.execPath,
        ['node_modules/tsx/dist/cli.mjs', 'bin/local-fleet.ts', '--env', 'nope'],
        {
          stdio: 'pipe',
        }
      );
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      status = e.status;
      stderr = e.stderr.toString();
    }
    expect(status).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^orbit: .*nope/)]);
  });
});

describe('commands against the local fleet', () => {
  const environment = loadEnvironment({ env: 'dev' });
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-wake-'));
  let fleet: LocalFleet;

  beforeAll(async () => {
    // An hour between scheduled passes: only a wake can run a command within the test.
    fleet = await startLocalFleet({
      environment,
      basePort: 0,
      pullIntervalSeconds: 1,
      reconcileIntervalSeconds: 3600,
      stateDir,
    });
  });
  afterAll(() => fleet?.stop());

  it('run at once: the CLI wakes the orchestrator instead of waiting for its next pass', async () => {
    const target = await resolveTarget({ stateDir });
    const started = Date.now();
    const out = await submit(target, { command: 'drain', location: 'lab', reason: 'wake test' });
    expect(out.text).toBe('location lab drained');
    expect(Date.now() - started).toBeLessThan(5_000);
    await submit(target, { command: 'restore', location: 'lab' });
  });

  it('fail to wake the orchestrator with a warning at once, and still record the command', async () => {
    const target = await resolveTarget({ stateDir });
    const warnings: string[] = [];
    const out = await submit(
      { ...target, wake: () => Promise.reject(new Error('no route to the control endpoint')) },
      { command: 'restore', location: 'boston' },
      300,
      (line) => warnings.push(line)
    );
    expect(warnings).toEqual([
      'orbit: restore is recorded, but the orchestrator could not be woken (no route to the control endpoint); its next scheduled pass runs it',
    ]);
    expect(out.text).toMatch(
      /^restore recorded as intent .+; the orchestrator has not run it yet \(it could not be woken: no route to the control endpoint; its next scheduled pass runs it\)$/
    );
    expect(await target.records.intents.get(out.intent)).toMatchObject({
      status: 'pending',
    });
  });

  it('keep one state file per fleet, named by its environment and first port', () => {
    const port = Number(new URL(fleet.storeEndpoint).port);
    expect(fleet.stateFile).toBe(localStateFile(stateDir, 'dev', port));
    const state = JSON.parse(readFileSync(fleet.stateFile as string, 'utf8')) as LocalFleetState;
    expect(state).toMatchObject({ environment: 'dev', port, pid: process.pid });
    expect(state.definition).toMatchObject({ name: 'dev', locations: expect.any(Array) });
  });

  it('take a state file whose control endpoint refuses connections for a fleet that is gone', async () => {
    const state = JSON.parse(readFileSync(fleet.stateFile as string, 'utf8')) as LocalFleetState;
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'orbit-gone-'));
    const file = localStateFile(elsewhere, 'dev', 4999);
    writeFileSync(file, JSON.stringify({ ...state, controlUrl: `http://127.0.0.1:${closed}/` }));
    await expect(resolveTarget({ stateDir: elsewhere })).rejects.toThrow(
      /^no local fleet is running here \(start one with npm start\), or name an AWS environment with --env NAME; .*local-dev-4999\.json is left by a fleet that is gone$/
    );
  });

  it('fail to wake a fleet whose control endpoint went away, naming it and the cause', async () => {
    const state = JSON.parse(readFileSync(fleet.stateFile as string, 'utf8')) as LocalFleetState;
    // A control endpoint that answers while the CLI finds the fleet, then goes away.
    const endpoint = createHttpServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    const { port } = endpoint.address() as { port: number };
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'orbit-going-'));
    writeFileSync(
      localStateFile(elsewhere, 'dev', 4998),
      JSON.stringify({ ...state, controlUrl: `http://127.0.0.1:${port}/` })
    );
    const target = await resolveTarget({ stateDir: elsewhere });
    await new Promise<void>((resolve) => {
      endpoint.close(() => resolve());
      endpoint.closeAllConnections();
    });
    await expect(target.wake()).rejects.toThrow(
      `http://127.0.0.1:${port}/wake is unreachable (ECONNREFUSED)`
    );
    await expect((await resolveTarget({ stateDir })).wake()).resolves.toBeUndefined();
  });

  it('answer anything but POST /wake and GET /state on the control endpoint with a 404 problem', async () => {
    const state = JSON.parse(readFileSync(fleet.stateFile as string, 'utf8')) as LocalFleetState;
    const res = await fetch(new URL('wake', state.controlUrl));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 404, type: 'urn:orbit:problem:not-found' });
  });
});
