import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';

/** Modes of everything a satellite writes to its cache: only its own user may read it. */
export const OWNER_ONLY = { file: 0o600, dir: 0o700 } as const;

/** Creates a directory (and its missing parents) readable only by this user. */
export function mkdirOwnerOnly(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: OWNER_ONLY.dir });
}

/** Writes a file readable only by this user. */
export function writeOwnerOnly(file: string, data: string | Uint8Array): void {
  writeFileSync(file, data, { mode: OWNER_ONLY.file });
  chmodSync(file, OWNER_ONLY.file);
}

/** Thrown when a downloaded bundle does not hash to what the manifest says. */
export class BundleMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string
  ) {
    super(`bundle hashes to sha256 ${actual}, not ${expected}`);
    this.name = 'BundleMismatchError';
  }
}

/** Extracts a zip into a directory. */
export type Unzip = (zipFile: string, intoDir: string) => Promise<void>;

const sha256Of = (file: string): string =>
  createHash('sha256').update(readFileSync(file)).digest('hex');

let staged = 0;

/**
 * Unzipped bundles by content (`<dir>/<sha256>/`), shared by every release a satellite
 * caches: a bundle that an earlier release brought is never fetched again. A bundle enters
 * only once its file hashes to its key (unzipped beside, checked, then renamed in), and is
 * checked again before each use, so that a copy altered on disk is dropped, not served.
 */
export class BundleStore {
  constructor(readonly dir: string) {}

  /**
   * Whether the store holds the bundle whose `file` (its name inside the bundle, e.g.
   * `index.js`) hashes to `sha256`. An entry that no longer does is removed.
   */
  has(sha256: string, file: string): boolean {
    const entry = this.entryOf(sha256);
    const target = path.join(entry, file);
    if (!existsSync(target)) return false;
    if (sha256Of(target) === sha256) return true;
    rmSync(entry, { recursive: true, force: true });
    return false;
  }

  /**
   * Adds a downloaded bundle zip, if its `file` hashes to `sha256`.
   * @throws BundleMismatchError when it does not; nothing of it is kept
   */
  async add(sha256: string, file: string, zip: Uint8Array, unzip: Unzip): Promise<void> {
    mkdirOwnerOnly(this.dir);
    const staging = path.join(this.dir, `.tmp-${sha256}-${process.pid}-${++staged}`);
    try {
      mkdirOwnerOnly(staging);
      writeOwnerOnly(`${staging}.zip`, zip);
      await unzip(`${staging}.zip`, staging);
      const actual = existsSync(path.join(staging, file))
        ? sha256Of(path.join(staging, file))
        : 'of nothing (the zip lacks the file)';
      if (actual !== sha256) throw new BundleMismatchError(sha256, actual);
      restrictTree(staging);
      // Another fetch may have brought the same bundle meanwhile: the first one in stays.
      if (!existsSync(this.entryOf(sha256))) renameSync(staging, this.entryOf(sha256));
    } finally {
      rmSync(staging, { recursive: true, force: true });
      rmSync(`${staging}.zip`, { force: true });
    }
  }

  /** Hard-links the files of a bundle the store holds into `intoDir` (copies across devices). */
  linkInto(sha256: string, intoDir: string): void {
    linkTree(this.entryOf(sha256), intoDir);
  }

  private entryOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`'${sha256}' is not a sha256`);
    return path.join(this.dir, sha256);
  }
}

/** Makes every directory and file under `dir` owner-only, whatever modes the zip carried. */
function restrictTree(dir: string): void {
  chmodSync(dir, OWNER_ONLY.dir);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const at = path.join(dir, entry.name);
    if (entry.isDirectory()) restrictTree(at);
    else if (entry.isFile()) chmodSync(at, OWNER_ONLY.file);
    // Anything else (a symlink the zip carried) is not part of a bundle: drop it.
    else rmSync(at, { force: true });
  }
}

function linkTree(from: string, into: string): void {
  mkdirOwnerOnly(into);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(into, entry.name);
    if (entry.isDirectory()) {
      linkTree(source, target);
      continue;
    }
    try {
      linkSync(source, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM') throw err;
      copyFileSync(source, target);
      chmodSync(target, OWNER_ONLY.file);
    }
  }
}
