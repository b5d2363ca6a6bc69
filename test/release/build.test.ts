import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadRelease } from '../../core/manifest';
import { buildRelease, RELEASE_DIR_ENV } from '../../lib/release/build';
import { runDir } from '../support/run-dir';

const root = path.join(__dirname, '..', '..');
const fixtures = path.join(__dirname, '..', 'fixtures');
const made: string[] = [];
const outDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'orbit-build-'));
  made.push(dir);
  return dir;
};

describe('release build', () => {
  let first: Awaited<ReturnType<typeof buildRelease>>;
  let second: Awaited<ReturnType<typeof buildRelease>>;

  beforeAll(async () => {
    first = await buildRelease({ root, outDir: outDir() });
    second = await buildRelease({ root, outDir: outDir() });
  });
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('writes a release built without outDir to $ORBIT_RELEASE_DIR: in a test run, its own folder, never dist/', async () => {
    const releases = process.env[RELEASE_DIR_ENV] as string;
    expect(releases).toBe(path.join(runDir(), 'release'));
    const release = await buildRelease({ root });
    expect(release.dir).toBe(path.join(releases, release.manifest.releaseId));
    expect(release.manifest).toEqual(first.manifest);
  });

  it('bundles every function under functions/api with its routes in the manifest', () => {
    const byName = Object.fromEntries(first.manifest.functions.map((f) => [f.name, f]));
    // Discovered, not listed: a function added (`orbit new function`) must not break this test.
    const folders = readdirSync(path.join(root, 'functions', 'api'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(Object.keys(byName)).toEqual(folders);
    expect(byName.health).toMatchObject({
      file: 'functions/health/index.js',
      routes: [{ method: 'GET', path: '/health', auth: 'none' }],
      table: { access: 'read', partitions: ['FUNCTION#*'] },
    });
    expect(byName.items).toMatchObject({
      routes: expect.arrayContaining([{ method: 'PUT', path: '/items/{id}', auth: 'jwt' }]),
      table: { access: 'read-write', partitions: ['ITEMS'] },
      maxBodyBytes: 65_536,
    });
    expect(byName.fallback).toMatchObject({ routes: [], fallback: true });
  });

  it("writes the release's route table into every bundle, for 404 and 405 answers", () => {
    const code = readFileSync(path.join(first.dir, 'functions/fallback/index.js'), 'utf8');
    const marker = '"path":"/items/{id}","auth":"jwt","functionName":"items"';
    // Checked with includes, not toContain: a failure would print the whole bundle.
    expect(code.includes(marker)).toBe(true);
  });

  it('throws naming both functions when two declare themselves the fallback', async () => {
    await expect(
      buildRelease({ root, functionsDir: path.join(fixtures, 'two-fallbacks'), outDir: outDir() })
    ).rejects.toThrow("functions 'one' and 'two' both declare fallback: true; keep one");
  });

  it('is deterministic: the same source gives the same release id and bytes', () => {
    expect(second.manifest).toEqual(first.manifest);
    for (const fn of first.manifest.functions) {
      expect(readFileSync(path.join(second.dir, fn.file))).toEqual(
        readFileSync(path.join(first.dir, fn.file))
      );
    }
  });

  it('records the sha256 and size of each bundle as written', () => {
    for (const fn of first.manifest.functions) {
      const bytes = readFileSync(path.join(first.dir, fn.file));
      expect(fn.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(fn.bytes).toBe(bytes.byteLength);
    }
  });

  it('derives the release id from the bundles', () => {
    expect(first.manifest.releaseId).toMatch(/^r-[0-9a-f]{16}$/);
    expect(path.basename(first.dir)).toBe(first.manifest.releaseId);
  });

  it('emits minified CommonJS for node20 with no machine paths inside', () => {
    const code = readFileSync(path.join(first.dir, 'functions/health/index.js'), 'utf8');
    expect(first.manifest.target).toBe('node20');
    expect(code).toContain('module.exports');
    expect(code).not.toContain(root);
    const lines = code.split('\n');
    expect(code.length / lines.length).toBeGreaterThan(1000);
  });

  it('turns every import() into a require, so that satellites compile every bundle from their code cache', () => {
    const files = [
      ...first.manifest.functions.map((f) => f.file),
      first.manifest.runtime.file,
      'orchestrator/index.js',
    ];
    const dynamic = files.filter((file) =>
      /\bimport\s*\(/.test(readFileSync(path.join(first.dir, file), 'utf8'))
    );
    expect(dynamic).toEqual([]);
  });

  it('can be loaded again from its directory, for deploying a prebuilt release', () => {
    expect(loadRelease(first.dir).manifest).toEqual(first.manifest);
  });

  it('throws naming both functions when a route is declared twice', async () => {
    await expect(
      buildRelease({ root, functionsDir: path.join(fixtures, 'duplicate-route'), outDir: outDir() })
    ).rejects.toThrow(
      "route GET /things/{key} is declared twice (by 'alpha' and 'beta'); remove it from one of them"
    );
  });

  it('throws when a function folder has no declaration', async () => {
    await expect(
      buildRelease({ root, functionsDir: path.join(fixtures, 'no-declaration'), outDir: outDir() })
    ).rejects.toThrow(
      'functions/api/gamma: a function folder needs index.ts (the handler) and function.ts'
    );
  });

  it('throws when a directory is not a release', () => {
    expect(() => loadRelease(outDir())).toThrow(
      /is not an Orbit release: cannot read manifest.json/
    );
  });
});
