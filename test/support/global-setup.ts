import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import dynalite from 'dynalite';
import { SDK_CALLS_DIR_ENV } from './sdk-calls';

declare global {
  var __ORBIT_DYNALITE__: Server | undefined;
}

/**
 * Starts one in-memory dynalite for the whole run on a free loopback port. Test files
 * create their own tables in it (see `test/support/table.ts`), so they never share state.
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
}
