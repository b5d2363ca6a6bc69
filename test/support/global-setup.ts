import { mkdirSync, mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import dynalite from 'dynalite';
import { RELEASE_DIR_ENV } from '../../lib/release/build';
import { RUN_DIR_ENV } from './run-dir';
import { SDK_CALLS_DIR_ENV } from './sdk-calls';

declare global {
  var __ORBIT_DYNALITE__: Server | undefined;
}

/**
 * Starts one in-memory dynalite for the whole run on a free loopback port. Test files
 * create their own tables in it (see `test/support/table.ts`), so they never share state.
 * Makes the run's own folder (see `test/support/run-dir.ts`): temporary files and built
 * releases go there, and the teardown removes it.
 */
export default async function globalSetup(): Promise<void> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('dynalite did not bind a port');
  process.env.ORBIT_TEST_DYNAMODB_ENDPOINT = `http://127.0.0.1:${address.port}`;
  globalThis.__ORBIT_DYNALITE__ = server;
  process.env[SDK_CALLS_DIR_ENV] = mkdtempSync(path.join(tmpdir(), 'orbit-sdk-calls-'));

  // Workers and the processes tests start inherit these: set them before either exists.
  const run = mkdtempSync(path.join(tmpdir(), 'orbit-test-run-'));
  mkdirSync(path.join(run, 'tmp'));
  process.env[RUN_DIR_ENV] = run;
  process.env.TMPDIR = path.join(run, 'tmp');
  process.env[RELEASE_DIR_ENV] = path.join(run, 'release');
}
