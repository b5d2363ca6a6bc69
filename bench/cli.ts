import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Release } from '../core/manifest';
import { startLocalFleet } from '../lib/local/fleet';
import { buildCliBundle } from '../lib/release/cli-bundle';
import { runAlone } from './alone';
import { benchEnvironment } from './environments';
import { type BenchOptions, median, type Row, ratio, round, spread } from './lib';

const root = path.join(__dirname, '..');
const TARGET_S = 0.5;

/** Seconds from spawn to exit of one CLI run; a run that fails is an error, not a figure. */
function timed(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, _out, stderr) => {
        if (err)
          reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        else resolve((performance.now() - started) / 1000);
      }
    );
  });
}

async function medianOf(runs: number, once: () => Promise<number>): Promise<number[]> {
  const times: number[] = [];
  // The first run warms the disk cache and is not counted.
  await once();
  for (let i = 0; i < runs; i++) times.push(await once());
  return times;
}

/**
 * `orbit --help` and `orbit status` (against a local fleet of 4 locations) as a user types
 * them, `npx orbit …`, from the release build's CLI bundle, against the 0.5 s target; the
 * baseline is the same command from the TypeScript sources through tsx (a fresh clone, or
 * sources edited since the build). `node bin/orbit-cli.js …` rows show what npx itself adds.
 */
export async function cliLatency(release: Release, options: BenchOptions): Promise<Row[]> {
  await buildCliBundle(root);
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-bench-cli-'));
  const fleet = await startLocalFleet({
    environment: benchEnvironment(4),
    basePort: 6900,
    release,
    stateDir,
  });
  const runs = options.quick ? 5 : 15;
  const rows: Row[] = [];
  try {
    const commands = [
      ['--help', ['--help']],
      ['status', ['status', '--state-dir', stateDir]],
    ] as const;
    for (const [name, args] of commands) {
      const figure = `${name}${name === 'status' ? ', local fleet of 4' : ''}`;
      const ways = [
        // What `orbit` on the PATH (npm link) runs, and what `npx orbit` adds npm's start to.
        [
          'orbit',
          (mode: string) => () =>
            timed(process.execPath, ['bin/orbit-cli.js', ...args], { ORBIT_CLI: mode }),
        ],
        [
          'npx orbit',
          (mode: string) => () =>
            timed('npx', ['--no-install', 'orbit', ...args], { ORBIT_CLI: mode }),
        ],
      ] as const;
      for (const [way, run] of ways) {
        // Others may edit sources meanwhile (a stale bundle never runs): build it just before.
        await buildCliBundle(root);
        const bundled = await medianOf(runs, run('bundle'));
        const source = await medianOf(runs, run('source'));
        const value = median(bundled);
        options.log(
          `cli: ${way} ${name} ${round(value)} s (from the sources through tsx: ${round(median(source))} s)`
        );
        rows.push({
          figure: `${way} ${figure}`,
          value: round(value),
          unit: 's',
          baseline: round(median(source)),
          ratio: ratio(value, median(source)),
          spread: spread(bundled),
          target: `≤ ${TARGET_S} s`,
          met: value <= TARGET_S,
          note:
            way === 'npx orbit'
              ? 'npm exec resolves the project’s own package (it loads the installed tree) before the CLI starts; baseline: the sources through tsx'
              : 'the release build’s CLI bundle (ORBIT_CLI=bundle); baseline: the sources through tsx (ORBIT_CLI=source)',
        });
      }
    }
  } finally {
    await fleet.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
  return rows;
}

/** `npx tsx bench/cli.ts`: this benchmark alone, printed as `npm run bench` prints it. */
if (require.main === module) {
  runAlone(async ({ options, release }) => cliLatency(await release(), options));
}
