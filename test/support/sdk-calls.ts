import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Where each test worker writes the SDK commands its mocks saw (set by the global setup). */
export const SDK_CALLS_DIR_ENV = 'ORBIT_TEST_SDK_CALLS_DIR';

interface Stub {
  calls(): { args: unknown[] }[];
  reset(): unknown;
  restore(): unknown;
}

const seen = new Set<string>();
const stubs: Stub[] = [];
let flushed = 0;

function collect(stub: Stub): void {
  for (const call of stub.calls()) {
    const name = (call.args[0] as { constructor?: { name?: string } })?.constructor?.name;
    if (name) seen.add(name);
  }
}

function flush(): void {
  const dir = process.env[SDK_CALLS_DIR_ENV];
  if (!dir || seen.size === flushed) return;
  flushed = seen.size;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify([...seen].sort()));
}

/** Records what every stub of this test file saw; the setup file calls it after all tests. */
export function recordAllStubs(): void {
  for (const stub of stubs) collect(stub);
  flush();
}

/**
 * Wraps an aws-sdk-client-mock stub so that the commands sent to it are recorded before each
 * `reset()`/`restore()` (which forget them) and at the end of the test file.
 */
export function recordStub<T extends Stub>(stub: T): T {
  const reset = stub.reset.bind(stub);
  const restore = stub.restore.bind(stub);
  stub.reset = () => {
    collect(stub);
    flush();
    return reset();
  };
  stub.restore = () => {
    collect(stub);
    flush();
    return restore();
  };
  stubs.push(stub);
  return stub;
}

/** Every command recorded by the run's workers. */
export function recordedCommands(dir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  const all = new Set<string>();
  for (const f of files) {
    for (const name of JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as string[]) {
      all.add(name);
    }
  }
  return [...all].sort();
}

/** The commands recorded that no row of the call table (or the local-only list) names. */
export function commandsWithoutRow(
  recorded: readonly string[],
  rows: readonly { readonly commands: readonly string[] }[],
  localOnly: readonly string[]
): string[] {
  const known = new Set([...rows.flatMap((r) => r.commands), ...localOnly]);
  return recorded.filter((name) => !known.has(name));
}
