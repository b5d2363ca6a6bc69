import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { mkdirOwnerOnly, writeOwnerOnly } from './bundle-store';
import type { RuntimeConfig } from './config';

/** The directory in the state directory where a host keeps its bundles' bytecode. */
export const CODE_CACHE_DIR = 'code-cache';

/** The code cache of a runtime's state directory. */
export const codeCacheOf = (config: Pick<RuntimeConfig, 'stateDir'>): CodeCache =>
  new CodeCache(path.join(config.stateDir, CODE_CACHE_DIR));

/** How many compiled bundles a host keeps: a few releases' worth (least recently used go). */
export const CODE_CACHE_ENTRIES = 48;

/** What {@link CodeCache.require} loaded, and whether V8 took the kept bytecode. */
export interface CachedModule {
  readonly exports: unknown;
  /** The bytecode kept from an earlier load of the very same source was used. */
  readonly cached: boolean;
}

/** Options of {@link CodeCache}. */
export interface CodeCacheOptions {
  /** @default {@link CODE_CACHE_ENTRIES} */
  readonly maxEntries?: number;
  /** Told once, the first time an entry cannot be kept. @default - console.error */
  readonly onWriteError?: (err: unknown) => void;
}

// Put on a line of its own (lineOffset -1), so that every line and column of a stack trace
// points into the bundle as it is on disk, as with require.
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {\n';
const WRAPPER_TAIL = '\n})';

/**
 * Whether this code runs in Node's main context, where `runInThisContext` runs a bundle as
 * `require` would; not in a test runner's sandbox (jest), whose modules and globals are its own.
 */
const inMainContext = vm.runInThisContext('globalThis') === globalThis;

/** `import(`, as code or in a string: a string only costs that bundle the cache. */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

type CommonJsWrapper = (
  exports: unknown,
  require: NodeRequire,
  module: Module,
  filename: string,
  dirname: string
) => void;

/**
 * Loads function bundles (CommonJS files) as `require` does, with V8's code cache: the
 * bytecode V8 compiled when this host last loaded the very same source, kept in `dir`. A
 * bundle of the release loads in about half the time (the health bundle: 36 → 16 ms), which
 * a host pays for every function at every start and in every worker; Node 22's
 * `module.enableCompileCache()` does the same, Node 20 has no such thing.
 *
 * An entry is named by the SHA-256 of the source it was compiled from (and the Node version
 * and architecture): bytecode never runs for another source. It is made after the bundle's
 * first run, so that it holds the functions its initialisation compiled too; V8 refuses an
 * entry of another V8 or other flags, and a refused or broken entry is replaced. Entries are
 * owner-only, in the runtime's state directory, which the runtime trusts as it trusts the
 * release key it keeps there (see release-signature.ts): whoever can write it could replace
 * that key too. A cache that cannot be written costs the speed, never the load. In a test
 * runner's sandbox bundles load with its `require`, uncached.
 */
export class CodeCache {
  private writeFailed = false;

  constructor(
    readonly dir: string,
    private readonly options: CodeCacheOptions = {}
  ) {}

  /** Loads `file` (an absolute path) and returns its exports; throws what its code throws. */
  require(file: string): CachedModule {
    if (!inMainContext) return { exports: require(file), cached: false };
    const source = readFileSync(file, 'utf8');
    // On Node 20 a function compiled from the cache has lost the callback `import()` needs
    // (it throws at the call, not at the load): such a bundle loads with require. The release
    // build turns `import()` into require (build.ts), so Orbit's bundles have none.
    if (DYNAMIC_IMPORT.test(source)) return { exports: require(file), cached: false };
    const entry = path.join(this.dir, `${keyOf(source)}.bin`);
    const kept = this.read(entry);
    const script = new vm.Script(`${WRAPPER_HEAD}${source}${WRAPPER_TAIL}`, {
      filename: file,
      lineOffset: -1,
      cachedData: kept,
    });
    const dirname = path.dirname(file);
    const mod = new Module(file, module);
    mod.filename = file;
    mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
      dirname
    );
    const wrapper = script.runInThisContext({ displayErrors: true }) as CommonJsWrapper;
    wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname);
    mod.loaded = true;
    const cached = kept !== undefined && !script.cachedDataRejected;
    // Once this turn of the loop is over: not on the way to the host's first answer.
    if (!cached) setImmediate(() => this.keep(entry, script));
    return { exports: mod.exports, cached };
  }

  private read(entry: string): Buffer | undefined {
    let data: Buffer;
    try {
      data = readFileSync(entry);
    } catch {
      return undefined;
    }
    try {
      // Recently used: the last to go when the cache is pruned.
      const now = new Date();
      utimesSync(entry, now, now);
    } catch {
      // A cache it may read but not write (a read-only state directory) still serves.
    }
    return data;
  }

  /** Keeps the script's bytecode (written aside, then renamed), and prunes the oldest entries. */
  private keep(entry: string, script: vm.Script): void {
    try {
      mkdirOwnerOnly(this.dir);
      const aside = `${entry}.${process.pid}.next`;
      writeOwnerOnly(aside, script.createCachedData());
      renameSync(aside, entry);
      this.prune();
    } catch (err) {
      if (this.writeFailed) return;
      this.writeFailed = true;
      (
        this.options.onWriteError ??
        ((e) =>
          console.error(
            `orbit runtime: cannot keep compiled bundles in ${this.dir} (${(e as Error).message}); bundles load without them`
          ))
      )(err);
    }
  }

  private prune(): void {
    const max = this.options.maxEntries ?? CODE_CACHE_ENTRIES;
    const entries = readdirSync(this.dir).filter((name) => name.endsWith('.bin'));
    if (entries.length <= max) return;
    const byAge = entries
      .map((name) => {
        const file = path.join(this.dir, name);
        try {
          return { file, at: statSync(file).mtimeMs };
        } catch {
          return { file, at: 0 };
        }
      })
      .sort((a, b) => a.at - b.at);
    for (const { file } of byAge.slice(0, entries.length - max)) rmSync(file, { force: true });
  }
}

const keyOf = (source: string): string =>
  createHash('sha256')
    .update(process.version)
    .update(process.arch)
    .update('\0')
    .update(source)
    .digest('hex');
