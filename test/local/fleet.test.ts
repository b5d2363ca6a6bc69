import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { loadEnvironment } from '../../lib/config/load';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';

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
