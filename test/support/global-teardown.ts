import { rmSync } from 'node:fs';
import { AWS_CALLS, LOCAL_ONLY_COMMANDS } from '../../lib/aws-calls';
import { RUN_DIR_ENV } from './run-dir';
import { commandsWithoutRow, recordedCommands, SDK_CALLS_DIR_ENV } from './sdk-calls';

export default async function globalTeardown(): Promise<void> {
  const server = globalThis.__ORBIT_DYNALITE__;
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  // Everything tests wrote to temporary folders, and every release they built, goes.
  const run = process.env[RUN_DIR_ENV];
  if (run) rmSync(run, { recursive: true, force: true, maxRetries: 3 });
  const dir = process.env[SDK_CALLS_DIR_ENV];
  if (!dir) return;
  const missing = commandsWithoutRow(recordedCommands(dir), AWS_CALLS, LOCAL_ONLY_COMMANDS);
  rmSync(dir, { recursive: true, force: true });
  // An SDK command sent in a test but absent from the call table is an AWS call nobody
  // simulated against the policies: fail the run.
  if (missing.length > 0) {
    throw new Error(
      `tests sent AWS SDK commands that lib/aws-calls.ts has no row for: ${missing.join(', ')}; add a row (action, resource as AWS authorizes it, neighbours) so test/iam/ simulates it`
    );
  }
}
