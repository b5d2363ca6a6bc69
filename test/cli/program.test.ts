import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { colourEnabled, statePainter } from '../../lib/cli/colour';
import { type CliIo, runCli } from '../../lib/cli/program';
import { schemaErrors } from './json-schema';

/** Runs the CLI in this process on `args`, capturing what it writes. */
async function orbit(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
    isTTY: false,
    env: {},
  };
  // No fleet runs in a fresh state directory, so nothing here can reach one by accident.
  const stateDir = mkdtempSync(path.join(tmpdir(), 'orbit-none-'));
  const code = await runCli(['node', 'orbit', ...args, '--state-dir', stateDir], io, '9.8.7');
  return { code, stdout, stderr };
}

describe('orbit help', () => {
  it.each([
    [['--help'], /^Usage: orbit \[options\] \[command\]/, /orbit rollout status --watch/],
    [['help'], /^Usage: orbit \[options\] \[command\]/, /Exit codes: 0 done, 1 .*, 2 /],
    [
      ['rollout', '--help'],
      /^Usage: orbit rollout \[options\] \[command\]/,
      /\$ orbit rollout abort/,
    ],
    [
      ['rollout', 'start', '--help'],
      /^Usage: orbit rollout start \[options\] <release>/,
      /\$ orbit rollout start r-/,
    ],
    [['rollout', 'help', 'status'], /^Usage: orbit rollout status/, /--watch/],
    [['help', 'rollout', 'status'], /^Usage: orbit rollout status/, /--watch/],
    [['help', 'fault', 'disconnect'], /^Usage: orbit fault disconnect/, /--location lab/],
    [['help', 'logs'], /^Usage: orbit logs \[options\]/, /--location <id>/],
    [['logs', '--help'], /^Usage: orbit logs \[options\]/, /--location <id>/],
    [
      ['fault', 'disconnect', '--help'],
      /^Usage: orbit fault disconnect/,
      /\$ orbit fault disconnect --location lab/,
    ],
  ])(
    'prints help with examples for %j, with no fleet and no credentials',
    async (args, usage, example) => {
      const out = await orbit(...args);
      expect(out).toMatchObject({ code: 0, stderr: '' });
      expect(out.stdout).toMatch(usage);
      expect(out.stdout).toMatch(example);
      // The global flags are listed on every command's help.
      expect(out.stdout).toMatch(/--json/);
    }
  );

  it('prints the version of package.json', async () => {
    expect(await orbit('--version')).toEqual({ code: 0, stdout: '9.8.7\n', stderr: '' });
  });
});

describe('orbit usage errors', () => {
  it.each([
    [['statsu'], "orbit: unknown command 'statsu' (did you mean status?)"],
    [['help', 'statsu'], "orbit: unknown command 'statsu' (did you mean status?)"],
    [['help', 'rollout', 'strat'], "orbit: unknown command 'strat' (did you mean start?)"],
    [['rollout', 'strat'], "orbit: unknown command 'strat' (did you mean start?)"],
    [['status', '--jsn'], "orbit: unknown option '--jsn' (did you mean --json?)"],
    [['drain', '--locaton', 'lab'], "orbit: unknown option '--locaton' (did you mean --location?)"],
    [['rollout', 'start'], "orbit: missing required argument 'release'"],
    [
      ['rollout', 'start', 'nope'],
      /^orbit: rollout start needs a release id \(r- and 16 hex digits\)/,
    ],
    [
      ['rollout', 'status', 'r-1'],
      /^orbit: rollout status r-1: give a rollout id such as ro-1a2b3c4d/,
    ],
    [['drain'], /^orbit: drain needs what to drain: --location ID .* or --function NAME/],
    [['status', '--port', 'x'], /^orbit: --port x: give the local fleet's first port/],
    [
      ['completion', 'fish'],
      'orbit: completion fish: give bash or zsh, e.g. orbit completion bash',
    ],
    [['logs'], "orbit: required option '--location <id>' not specified"],
  ])('exits 2 with one line on stderr for %j', async (args, message) => {
    const out = await orbit(...args);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr.trimEnd().split('\n')).toEqual([
      typeof message === 'string' ? message : expect.stringMatching(message),
    ]);
  });

  it('shows the group help on stderr and exits 2 for a command group without its command', async () => {
    const out = await orbit('rollout');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^Usage: orbit rollout/);
  });

  it('writes a usage error as a JSON problem on stderr with --json', async () => {
    const out = await orbit('statsu', '--json');
    expect(out.code).toBe(2);
    const problem = JSON.parse(out.stderr);
    expect(problem).toEqual({
      type: 'urn:orbit:problem:cli-usage',
      title: 'usage error',
      detail: "unknown command 'statsu' (did you mean status?)",
      exitCode: 2,
    });
    expect(schemaErrors('problem.schema.json', problem)).toEqual([]);
  });

  it('exits 1 with a JSON failure problem when the command ran and failed', async () => {
    const out = await orbit('status', '--json');
    expect(out.code).toBe(1);
    const problem = JSON.parse(out.stderr);
    expect(problem).toMatchObject({
      type: 'urn:orbit:problem:cli-failure',
      detail: expect.stringMatching(/^no local fleet is running here/),
      exitCode: 1,
    });
    expect(schemaErrors('problem.schema.json', problem)).toEqual([]);
  });
});

describe('orbit rollout plan against AWS', () => {
  it('is pure configuration: prints the plan of prod without reading any table', async () => {
    const out = await orbit('rollout', 'plan', 'r-0123456789abcdef', '--env', 'prod', '--json');
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout);
    expect(schemaErrors('rollout-plan.schema.json', plan)).toEqual([]);
    expect(plan).toMatchObject({ environment: 'prod', staging: 'not-checked', problem: null });
    expect(plan.waves[0]).toMatchObject({ name: 'canary', steps: [0.05, 0.25, 1] });
    expect(plan.waves.at(-1).cumulativeShare).toBe(1);
  });
});

describe('orbit completion', () => {
  const bashScript = async () => (await orbit('completion', 'bash')).stdout;

  it('prints a bash script that bash accepts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'orbit-completion-'));
    const file = path.join(dir, 'orbit.bash');
    writeFileSync(file, await bashScript());
    expect(() => execFileSync('bash', ['-n', file])).not.toThrow();
  });

  it.each([
    ['orbit ', 'status'],
    ['orbit roll', 'rollout'],
    ['orbit rollout ', 'promote'],
    ['orbit rollout status --w', '--watch'],
    ['orbit drain --lo', '--location'],
    ['orbit fault ', 'reconnect'],
  ])('completes %j with %s in bash', async (line, expected) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'orbit-completion-'));
    const file = path.join(dir, 'orbit.bash');
    writeFileSync(file, await bashScript());
    const words = line.split(' ');
    // What bash does on Tab: COMP_WORDS and COMP_CWORD set, the function called, COMPREPLY read.
    const script = `source ${JSON.stringify(file)}
COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}
_orbit_completions; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const replies = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
    expect(replies).toContain(expected);
  });

  it('prints a zsh script that registers _orbit with compdef', async () => {
    const out = await orbit('completion', 'zsh');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^#compdef orbit\n/);
    expect(out.stdout).toContain("'rollout:plan, start, follow and control progressive rollouts'");
    expect(out.stdout).toContain('compdef _orbit orbit');
  });
});

describe('colour', () => {
  it.each([
    [true, {}, true],
    [false, {}, false],
    [true, { NO_COLOR: '1' }, false],
    [true, { TERM: 'dumb' }, false],
    [false, { FORCE_COLOR: '1' }, true],
    [true, { FORCE_COLOR: '0' }, false],
    [true, { NO_COLOR: '1', FORCE_COLOR: '1' }, true],
  ])('is %s on a terminal=%s with %j', (isTTY, env, enabled) => {
    expect(colourEnabled(isTTY, env)).toBe(enabled);
  });

  it('paints state words and leaves everything else alone', () => {
    const paint = statePainter(true);
    expect(paint('ok')).toBe('\u001b[32mok\u001b[39m');
    expect(paint('breach (error-rate, 99% sure)')).toBe(
      '\u001b[31mbreach (error-rate, 99% sure)\u001b[39m'
    );
    expect(paint('lab')).toBe('lab');
    expect(statePainter(false)('ok')).toBe('ok');
  });
});
