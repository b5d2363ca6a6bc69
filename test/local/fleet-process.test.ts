import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { LocalControlState } from '../../lib/local/control';
import { type LocalFleetState, readLocalStates } from '../../lib/local/state-file';
import { processAlive, twoLocationInput, until } from './environments';

/** True when nothing listens on the port any more. */
const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

describe('npm start, as its own process', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-fleet-process-'));
  const configFile = path.join(stateDir, 'demo.json');
  const basePort = 6000 + Math.floor(Math.random() * 200);
  let fleet: ChildProcess;
  let state: LocalFleetState;
  let runtimePids: number[] = [];
  const orbit = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['bin/orbit-cli.js', ...args, '--state-dir', stateDir],
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
      );
    });

  beforeAll(async () => {
    writeFileSync(configFile, JSON.stringify(twoLocationInput('demo')));
    fleet = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/local-fleet.ts',
        '--config',
        configFile,
        '--port',
        String(basePort),
        '--state-dir',
        stateDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    );
    const stderr: string[] = [];
    createInterface({ input: fleet.stderr as NodeJS.ReadableStream }).on('line', (l) =>
      stderr.push(l)
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the fleet did not start within 120 s: ${stderr.join('\n')}`)),
        120_000
      );
      createInterface({ input: fleet.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line !== 'Ctrl-C stops everything.') return;
        clearTimeout(timer);
        resolve();
      });
      fleet.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the fleet exited (code ${code}): ${stderr.join('\n')}`));
      });
    });
    state = (readLocalStates(stateDir)[0] as { state: LocalFleetState }).state;
    const res = await fetch(new URL('state', state.controlUrl));
    runtimePids = ((await res.json()) as LocalControlState).runtimes.map((r) => r.pid);
  }, 150_000);
  afterAll(() => {
    for (const pid of [state?.pid, ...runtimePids]) {
      if (pid && processAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    if (fleet?.exitCode === null) fleet.kill('SIGKILL');
  });

  it('keeps its state in a file named by its environment and port', () => {
    expect(readLocalStates(stateDir).map((f) => path.basename(f.file))).toEqual([
      `local-demo-${basePort}.json`,
    ]);
    expect(state).toMatchObject({ environment: 'demo', configPath: configFile, port: basePort });
  });

  it.each([[[]], [['--env', 'demo']], [['--config', configFile]], [['--port', String(basePort)]]])(
    'is reachable by orbit commands when started with --config (CLI flags %j)',
    async (flags) => {
      const out = await orbit('status', ...flags);
      expect(out.stderr).not.toMatch(/no environment named/);
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(/^lab\s+on-prem\s+r-[0-9a-f]{16}/m);
      expect(out.stdout).toMatch(/^us-east-1\s+region\s+r-[0-9a-f]{16}/m);
    }
  );

  it('takes its runtimes along when it is killed with SIGKILL, and the CLI says no fleet runs', async () => {
    expect(runtimePids).toHaveLength(2);
    process.kill(state.pid, 'SIGKILL');
    await until('every runtime of the killed fleet to exit', async () =>
      runtimePids.every((pid) => !processAlive(pid))
    );
    for (const l of state.locations)
      expect(await portIsFree(Number(new URL(l.url).port))).toBe(true);
    const out = await orbit('status');
    expect(out.code).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^orbit: no local fleet is running here \(start one with npm start\), or name an AWS environment with --env NAME; .*local-demo-\d+\.json is left by a fleet that is gone$/
      ),
    ]);
  });
});
