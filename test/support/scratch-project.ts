import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** Top-level entries a scratch copy leaves out: installed, generated, or big and unneeded. */
const LEFT_OUT = new Set([
  '.git',
  'node_modules',
  'cdk.out',
  'dist',
  'coverage',
  '.orbit',
  'bench',
]);

/**
 * A copy of this checkout's sources (its tests only as far as `test/support`) in a new
 * temporary folder, `node_modules` linked rather than copied. A test may add functions
 * there and build, test and synthesize without other test runs in the shared tree ever
 * seeing them. The caller removes it.
 */
export function copyProject(): string {
  const copy = mkdtempSync(path.join(tmpdir(), 'orbit-project-'));
  for (const entry of readdirSync(root)) {
    if (LEFT_OUT.has(entry) || entry === 'test') continue;
    cpSync(path.join(root, entry), path.join(copy, entry), { recursive: true });
  }
  cpSync(path.join(root, 'test', 'support'), path.join(copy, 'test', 'support'), {
    recursive: true,
  });
  symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  return copy;
}

/** What a command did. */
export interface RunResult {
  /** The command line, as a message would show it. */
  readonly command: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const tail = (text: string, lines = 30) => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Runs `command` in `cwd` within `budgetMs`, offline and without AWS credentials: past the
 * budget its whole process group (npm, tsx, jest and their children) is killed and the
 * promise rejects with the last output, so a hang fails with a reason before jest's timeout.
 */
export function runWithin(
  command: string,
  args: readonly string[],
  cwd: string,
  budgetMs: number
): Promise<RunResult> {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    CDK_DISABLE_VERSION_CHECK: '1',
    // Not this run's worker: a jest started here sets up its own.
    JEST_WORKER_ID: undefined,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, detached: true, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
      reject(
        new Error(
          `${command} ${args.join(' ')} did not finish within ${budgetMs / 1000} s and was killed; its last output:\n${tail(`${stdout}\n${stderr}`)}`
        )
      );
    }, budgetMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ command: [command, ...args].join(' '), code, stdout, stderr });
    });
  });
}

/** Returns `result` when the command exited 0; else throws with its exit code and last output. */
export function assertSucceeded(result: RunResult): RunResult {
  if (result.code !== 0) {
    throw new Error(
      `${result.command} exited ${result.code}; its last output:\n${tail(`${result.stdout}\n${result.stderr}`)}`
    );
  }
  return result;
}
