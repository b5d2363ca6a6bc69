import { existsSync, readFileSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import { mkdirOwnerOnly, writeOwnerOnly } from './bundle-store';

/**
 * A JSON file in the runtime's state directory, readable only by the runtime's user. Written
 * aside, then renamed: a crash mid-write leaves the previous content, never half of it. An
 * absent or unreadable file reads as undefined (what it held is lost, not fatal).
 */
export interface StateFile<T> {
  read(): T | undefined;
  write(value: T): void;
}

/** The state file at `file` (its directory is created owner-only when first written). */
export function stateFile<T>(file: string): StateFile<T> {
  return {
    read: () => {
      if (!existsSync(file)) return undefined;
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as T;
      } catch {
        return undefined;
      }
    },
    write: (value) => {
      mkdirOwnerOnly(path.dirname(file));
      writeOwnerOnly(`${file}.next`, JSON.stringify(value));
      renameSync(`${file}.next`, file);
    },
  };
}
