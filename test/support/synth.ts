import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runDir } from './run-dir';

const root = path.join(__dirname, '..', '..');
const cdk = path.join(root, 'node_modules', '.bin', 'cdk');

/** What one `cdk synth` did: its exit code, its output, and the cloud assembly it wrote. */
export interface SynthResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The `cdk.out` folder. */
  readonly out: string;
}

const tail = (text: string, lines = 20) => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Runs the real `cdk synth`, offline and without AWS credentials, as a user would, within
 * `budgetMs`: past it the whole process group (cdk, tsx, the app) is killed and the promise
 * rejects saying so, with the last output, so a test fails with a reason before jest's own
 * timeout would (give the test a timeout above the budget).
 */
export function cdkSynth(
  context: readonly string[],
  out: string,
  budgetMs: number
): Promise<SynthResult> {
  const args = ['synth', '--quiet', '--output', out, ...context.flatMap((c) => ['-c', c])];
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    CDK_DISABLE_VERSION_CHECK: '1',
  };
  return new Promise((resolve, reject) => {
    // Its own process group, so the budget kills the app cdk started too, not only cdk.
    const child = spawn(cdk, args, { cwd: root, env, detached: true, stdio: 'pipe' });
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
          `cdk ${args.join(' ')} did not finish within its budget of ${budgetMs / 1000} s and was killed; its last output:\n${tail(`${stdout}\n${stderr}`)}`
        )
      );
    }, budgetMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      // After the budget killed it, this does nothing: the promise has already rejected.
      resolve({ code, stdout, stderr, out });
    });
  });
}

const inProcess = new Map<string, Promise<SynthResult>>();

/**
 * `cdk synth` with `context`, once per test run: the first caller synthesizes into the run's
 * folder (see `run-dir.ts`), every later caller (in this worker or another) gets the same
 * result and `cdk.out`. Callers must only read the assembly. A caller that finds another
 * worker synthesizing waits for it, within the same budget.
 */
export function sharedSynth(
  key: string,
  context: readonly string[],
  budgetMs: number
): Promise<SynthResult> {
  let pending = inProcess.get(key);
  if (!pending) {
    pending = synthOnce(key, context, budgetMs);
    inProcess.set(key, pending);
  }
  return pending;
}

async function synthOnce(
  key: string,
  context: readonly string[],
  budgetMs: number
): Promise<SynthResult> {
  const dir = path.join(runDir(), 'synth', key);
  const resultFile = path.join(dir, 'result.json');
  mkdirSync(path.dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  try {
    mkdirSync(lock);
  } catch {
    return waitFor(resultFile, budgetMs, key);
  }
  const staging = `${dir}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  const result = await cdkSynth(context, path.join(staging, 'cdk.out'), budgetMs);
  const shared = { ...result, out: path.join(dir, 'cdk.out') };
  writeFileSync(path.join(staging, 'result.json'), JSON.stringify(shared));
  // Renamed whole, so a waiting worker sees the result and its assembly at once.
  renameSync(staging, dir);
  return shared;
}

async function waitFor(resultFile: string, budgetMs: number, key: string): Promise<SynthResult> {
  const deadline = Date.now() + budgetMs;
  while (!existsSync(resultFile)) {
    if (Date.now() > deadline) {
      throw new Error(
        `another test worker's cdk synth of ${key} did not finish within ${budgetMs / 1000} s`
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return JSON.parse(readFileSync(resultFile, 'utf8')) as SynthResult;
}
