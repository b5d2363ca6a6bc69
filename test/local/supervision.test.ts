import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { type LocalFleet, startLocalFleet } from '../../lib/local/fleet';
import { processAlive, twoLocations, until } from './environments';

const run = promisify(execFile);

describe('the local fleet supervising its runtimes', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-supervise-'));
  const lines: string[] = [];
  let fleet: LocalFleet;
  const lab = () => fleet.runtimes().find((r) => r.location === 'lab');
  const labUrl = () => fleet.locations.find((l) => l.id === 'lab')?.url as string;
  const orbit = async (...args: string[]) =>
    (await run(process.execPath, ['bin/orbit-cli.js', ...args, '--state-dir', stateDir])).stdout;

  beforeAll(async () => {
    fleet = await startLocalFleet({
      environment: twoLocations('supervised'),
      basePort: 0,
      pullIntervalSeconds: 0.5,
      stateDir,
      onRestart: (line) => lines.push(line),
    });
  });
  afterAll(() => fleet?.stop());

  /** Kills lab's runtime and waits until a new process serves at the same URL. */
  const killLab = async () => {
    const before = lab()?.pid as number;
    process.kill(before, 'SIGKILL');
    await until('lab to serve again from a new process', async () => {
      const now = lab();
      return (
        now?.up === true && now.pid !== before && (await fetch(`${labUrl()}health`)).status === 200
      );
    });
    expect(processAlive(before)).toBe(false);
  };

  it('restarts a runtime that dies, on the same URL, saying so in one line', async () => {
    await killLab();
    expect(lines).toEqual(['runtime lab exited (signal SIGKILL); restarting in 1 s (restart 1)']);
    expect(lab()).toMatchObject({ restarts: 1, up: true });
  });

  it('doubles the delay for a restart that follows another', async () => {
    await killLab();
    expect(lines[1]).toBe('runtime lab exited (signal SIGKILL); restarting in 2 s (restart 2)');
  });

  it('shows the restart count per location in orbit status, a number with --json', async () => {
    const text = await orbit('status');
    expect(text).toMatch(/^location\s+kind\s+.*\s+findings\s+restarts$/m);
    expect(text).toMatch(/^lab\s+on-prem\s+.*\s2$/m);
    expect(text).toMatch(/^us-east-1\s+region\s+.*\s0$/m);
    const json = JSON.parse(await orbit('status', '--json'));
    expect(
      json.locations.map((l: { location: string; restarts: number }) => [l.location, l.restarts])
    ).toEqual([
      ['us-east-1', 0],
      ['lab', 2],
    ]);
  });

  it('stops every runtime, restarted ones too, and restarts none while it stops', async () => {
    const pids = fleet.runtimes().map((r) => r.pid);
    const said = lines.length;
    await fleet.stop();
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    expect(lines).toHaveLength(said);
  });
});
