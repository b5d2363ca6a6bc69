import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

// The cache runs bundles in Node's main context, as require does; jest's modules run in a
// sandbox of their own (where the cache steps aside), so each case runs in a plain Node process.
const codeCache = path.join(__dirname, '../../lib/satellite/code-cache.ts');

interface Load {
  readonly exports?: Record<string, unknown>;
  readonly cached?: boolean;
  readonly error?: string;
  readonly stack?: string;
}

/** Loads each file in turn through one CodeCache on `dir`, in a fresh process. */
function loadAll(dir: string, files: readonly string[], maxEntries?: number): Load[] {
  const script = `
    const { CodeCache } = require(${JSON.stringify(codeCache)});
    const cache = new CodeCache(${JSON.stringify(dir)}, { maxEntries: ${maxEntries ?? 'undefined'}, onWriteError: (e) => console.error('write failed: ' + e.message) });
    const out = [];
    for (const file of ${JSON.stringify(files)}) {
      try {
        const { exports, cached } = cache.require(file);
        out.push({ exports: JSON.parse(JSON.stringify(exports, (k, v) => typeof v === 'function' ? String(v()) : v)), cached });
      } catch (err) {
        out.push({ error: err.message, stack: err.stack });
      }
    }
    console.log(JSON.stringify(out));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: path.join(__dirname, '..', '..'),
  });
  return JSON.parse(out.toString());
}

function bundle(root: string, name: string, source: string): string {
  mkdirSync(path.join(root, name), { recursive: true });
  const file = path.join(root, name, 'index.js');
  writeFileSync(file, source);
  return file;
}

const bundleSource = (value: string) => `"use strict";
const helper = require('./helper.js');
exports.handler = () => ${JSON.stringify(value)} + helper.suffix;
exports.where = () => __filename + '|' + __dirname + '|' + (module.exports === exports) + '|' + typeof require.resolve;
`;

describe('CodeCache (V8 bytecode of function bundles, kept across starts)', () => {
  const setup = () => {
    const root = mkdtempSync(path.join(tmpdir(), 'orbit-code-cache-'));
    const file = bundle(root, 'health', bundleSource('v1'));
    writeFileSync(path.join(root, 'health', 'helper.js'), 'exports.suffix = "!";');
    return { root, file, dir: path.join(root, 'state', 'code-cache') };
  };

  it('loads a bundle as require does: exports, __filename, __dirname, module, relative require', () => {
    const { file, dir } = setup();
    const [load] = loadAll(dir, [file]);
    expect(load?.exports).toEqual({
      handler: 'v1!',
      where: `${file}|${path.dirname(file)}|true|function`,
    });
  });

  it('compiles a bundle from the kept bytecode on the next start, and keeps it owner-only', () => {
    const { file, dir } = setup();
    expect(loadAll(dir, [file]).map((l) => l.cached)).toEqual([false]);
    expect(loadAll(dir, [file]).map((l) => l.cached)).toEqual([true]);
    const entries = readdirSync(dir);
    expect(entries).toHaveLength(1);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, entries[0] as string)).mode & 0o777).toBe(0o600);
  });

  it('never runs the bytecode of another source: a changed bundle gets its own entry', () => {
    const { root, file, dir } = setup();
    loadAll(dir, [file]);
    // The same length as before, so that only the content tells them apart.
    bundle(root, 'health', bundleSource('v2'));
    const [changed] = loadAll(dir, [file]);
    expect(changed).toMatchObject({ exports: { handler: 'v2!' }, cached: false });
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it('replaces an entry V8 refuses (broken or of another V8) and still loads the bundle', () => {
    const { file, dir } = setup();
    loadAll(dir, [file]);
    const entry = path.join(dir, readdirSync(dir)[0] as string);
    writeFileSync(entry, Buffer.from('not bytecode at all'));
    expect(loadAll(dir, [file])).toEqual([
      expect.objectContaining({
        exports: expect.objectContaining({ handler: 'v1!' }),
        cached: false,
      }),
    ]);
    expect(loadAll(dir, [file])[0]?.cached).toBe(true);
  });

  it('loads without the cache where it cannot be written, saying so once', () => {
    const { root, file } = setup();
    // A file where the directory should be: no user, root included, can create it.
    writeFileSync(path.join(root, 'not-a-dir'), '');
    const dir = path.join(root, 'not-a-dir', 'code-cache');
    const script = `
      const { CodeCache } = require(${JSON.stringify(codeCache)});
      const said = [];
      const cache = new CodeCache(${JSON.stringify(dir)}, { onWriteError: (e) => said.push(e.code) });
      const a = cache.require(${JSON.stringify(file)});
      const b = cache.require(${JSON.stringify(file)});
      // Entries are kept once the loads' turn of the event loop is over.
      setImmediate(() =>
        console.log(JSON.stringify({ results: [a.exports.handler(), b.exports.handler()], said }))
      );
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: path.join(__dirname, '..', '..'),
      }).toString()
    );
    expect(out).toEqual({ results: ['v1!', 'v1!'], said: ['ENOTDIR'] });
  });

  it('throws what a bundle throws at load, with its own file and line, and keeps nothing of it', () => {
    const { root, dir } = setup();
    const broken = bundle(
      root,
      'broken',
      '"use strict";\nconst x = 1;\nthrow new Error("no config");\n'
    );
    const [load] = loadAll(dir, [broken]);
    expect(load?.error).toBe('no config');
    expect(load?.stack).toContain(`${broken}:3:7`);
    expect(() => readdirSync(dir)).toThrow();
  });

  it('loads a bundle that calls import() with require, never from bytecode (Node 20 loses its callback there)', () => {
    const { root, dir } = setup();
    const dynamic = bundle(
      root,
      'dynamic',
      'exports.handler = () => "d"; exports.later = () => import("node:os");'
    );
    expect(loadAll(dir, [dynamic]).map((l) => l.cached)).toEqual([false]);
    expect(loadAll(dir, [dynamic])).toEqual([
      expect.objectContaining({
        exports: expect.objectContaining({ handler: 'd' }),
        cached: false,
      }),
    ]);
    expect(() => readdirSync(dir)).toThrow();
  });

  it('keeps at most maxEntries entries, the least recently used going first', () => {
    const { root, dir } = setup();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) =>
      bundle(root, n, `exports.handler = () => "${n}";`)
    ) as [string, string, string, string];
    loadAll(dir, [a, b, c]);
    // Used again in the order c, a, b (a read sets the file's time): c is the least recent.
    loadAll(dir, [c]);
    loadAll(dir, [a]);
    loadAll(dir, [b]);
    loadAll(dir, [d], 3);
    expect(readdirSync(dir)).toHaveLength(3);
    expect(loadAll(dir, [a, b, d, c]).map((l) => l.cached)).toEqual([true, true, true, false]);
  });
});
