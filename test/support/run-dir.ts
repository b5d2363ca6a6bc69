import { existsSync } from 'node:fs';

/**
 * Names the test run's own folder. The jest global setup makes it and points `TMPDIR` (so
 * every `mkdtemp(tmpdir())` of a test, and of the processes tests start) and
 * `ORBIT_RELEASE_DIR` (so every release a test builds without `outDir`) inside it; the
 * global teardown removes it. A run leaves nothing behind, in `/tmp` or in `dist/`.
 */
export const RUN_DIR_ENV = 'ORBIT_TEST_RUN_DIR';

/** The current run's folder; throws when the tests were started without the global setup. */
export function runDir(): string {
  const dir = process.env[RUN_DIR_ENV];
  if (!dir || !existsSync(dir)) {
    throw new Error(`${RUN_DIR_ENV} is not set: run the tests with jest (jest.config.js)`);
  }
  return dir;
}
