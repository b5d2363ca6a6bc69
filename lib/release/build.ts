import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { FUNCTION_NAME, type ResolvedDeclaration } from '../../core/declaration';
import { ORBIT_FUNCTION_ENV } from '../../core/location-env';
import {
  MANIFEST_FILE,
  type Release,
  type ReleaseFunction,
  type ReleaseManifest,
} from '../../core/manifest';
import type { ReleaseRoute } from '../../functions/shared/route-table';

/** Where the satellite runtime's and the orchestrator's bundles sit in a release. */
const RUNTIME_FILE = 'runtime/index.js';
const ORCHESTRATOR_FILE = 'orchestrator/index.js';

/** Names the folder releases are written to when a build is not given `outDir`. */
export const RELEASE_DIR_ENV = 'ORBIT_RELEASE_DIR';

/** The Node.js version every bundle targets: Lambda, satellites and laptops alike. */
export const RELEASE_TARGET = 'node20';

/** Where the release build finds functions and puts releases. */
export interface BuildReleaseOptions {
  /** The project root. @default - the directory holding `functions/` above this file */
  readonly root?: string;
  /** Folder holding one subfolder per function. @default '<root>/functions/api' */
  readonly functionsDir?: string;
  /**
   * Where releases are written, one folder per release id.
   * @default - `$ORBIT_RELEASE_DIR` when set (the test run points it at its own temporary
   * folder), else '<root>/dist/release'
   */
  readonly outDir?: string;
}

/** A function folder found on disk, before it is bundled. */
interface FunctionSource {
  readonly name: string;
  readonly entry: string;
  readonly declaration: ResolvedDeclaration;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

function discoverFunctions(functionsDir: string): FunctionSource[] {
  const names = readdirSync(functionsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return names.map((name) => {
    if (!FUNCTION_NAME.test(name)) {
      throw new Error(
        `functions/api/${name}: a function folder name must be 1-32 lower-case letters, digits or dashes`
      );
    }
    const dir = path.join(functionsDir, name);
    const entry = path.join(dir, 'index.ts');
    const declarationFile = path.join(dir, 'function.ts');
    if (!existsSync(entry) || !existsSync(declarationFile)) {
      throw new Error(
        `functions/api/${name}: a function folder needs index.ts (the handler) and function.ts (its declaration)`
      );
    }
    // The declaration is plain data built by defineFunction; loading it runs no handler code.
    const declaration = (require(declarationFile) as { declaration?: ResolvedDeclaration })
      .declaration;
    if (!declaration?.routes) {
      throw new Error(
        `functions/api/${name}/function.ts must export \`declaration = defineFunction({...})\``
      );
    }
    return { name, entry, declaration };
  });
}

/** Throws when more than one function declares itself the fallback. */
export function assertOneFallback(
  functions: readonly { name: string; declaration: ResolvedDeclaration }[]
): void {
  const fallbacks = functions.filter((f) => f.declaration.fallback).map((f) => f.name);
  if (fallbacks.length > 1) {
    throw new Error(
      `functions ${fallbacks.map((n) => `'${n}'`).join(' and ')} both declare fallback: true; keep one`
    );
  }
}

/** Every route of a release with the function serving it: what 404 and 405 are decided on. */
export function releaseRoutesOf(
  functions: readonly { name: string; declaration: ResolvedDeclaration }[]
): ReleaseRoute[] {
  return functions.flatMap((f) =>
    f.declaration.routes.map((r) => ({ ...r, functionName: f.name }))
  );
}

/** Throws when two functions (or one, twice) declare the same method and path. */
export function assertUniqueRoutes(
  functions: readonly { name: string; declaration: ResolvedDeclaration }[]
): void {
  const owners = new Map<string, string>();
  for (const fn of functions) {
    for (const route of fn.declaration.routes) {
      // `/items/{id}` and `/items/{key}` are the same route to API Gateway.
      const key = `${route.method} ${route.path.replace(/\{[^}]+\}/g, '{}')}`;
      const owner = owners.get(key);
      if (owner !== undefined) {
        throw new Error(
          `route ${route.method} ${route.path} is declared twice (by '${owner}' and '${fn.name}'); remove it from one of them`
        );
      }
      owners.set(key, fn.name);
    }
  }
}

/**
 * Builds one release: every function under `functions/api/` bundled by esbuild (minified,
 * tree-shaken, CommonJS for Node 20, no absolute paths in the output), and a manifest. The
 * release id hashes the bundles and declarations, so the same source gives the same id on
 * any machine, and a release directory, once written, is never changed.
 */
export async function buildRelease(options: BuildReleaseOptions = {}): Promise<Release> {
  const root = path.resolve(options.root ?? path.join(__dirname, '..', '..'));
  const functionsDir = options.functionsDir ?? path.join(root, 'functions', 'api');
  const outDir =
    options.outDir ?? process.env[RELEASE_DIR_ENV] ?? path.join(root, 'dist', 'release');

  const sources = discoverFunctions(functionsDir);
  if (sources.length === 0) throw new Error(`no functions found under ${functionsDir}`);
  assertUniqueRoutes(sources);
  assertOneFallback(sources);
  const routeTable = JSON.stringify(releaseRoutesOf(sources));

  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: {
      ...Object.fromEntries(sources.map((s) => [`functions/${s.name}/index`, s.entry])),
      [RUNTIME_FILE.replace(/\.js$/, '')]: path.join(root, 'lib', 'satellite', 'main.ts'),
      [ORCHESTRATOR_FILE.replace(/\.js$/, '')]: path.join(
        root,
        'functions',
        'orchestrator',
        'index.ts'
      ),
    },
    outdir: 'out',
    write: false,
    bundle: true,
    minify: true,
    treeShaking: true,
    platform: 'node',
    format: 'cjs',
    target: RELEASE_TARGET,
    // `import('node:…')` becomes a require: a satellite compiles bundles from V8's code cache,
    // and on Node 20 code from the cache loses the callback a dynamic import needs.
    supported: { 'dynamic-import': false },
    mainFields: ['module', 'main'],
    legalComments: 'none',
    // Every bundle knows the release's routes, to answer 404 and 405 like API Gateway would.
    define: { [`process.env.${ORBIT_FUNCTION_ENV.routeTable}`]: JSON.stringify(routeTable) },
    charset: 'utf8',
    sourcemap: false,
    logLevel: 'silent',
  });
  const bundles = new Map(
    result.outputFiles.map((f) => [
      path.relative(path.join(root, 'out'), f.path).split(path.sep).join('/'),
      f.contents,
    ])
  );

  const functions: ReleaseFunction[] = sources.map((s) => {
    const file = `functions/${s.name}/index.js`;
    const contents = bundles.get(file);
    if (!contents) throw new Error(`esbuild produced no bundle for ${s.name}`);
    return {
      name: s.name,
      file,
      sha256: sha256(contents),
      bytes: contents.byteLength,
      ...s.declaration,
    };
  });
  const runtimeBytes = bundles.get(RUNTIME_FILE);
  if (!runtimeBytes) throw new Error('esbuild produced no bundle for the satellite runtime');
  const runtime = {
    file: RUNTIME_FILE,
    sha256: sha256(runtimeBytes),
    bytes: runtimeBytes.byteLength,
  };
  const orchestratorBytes = bundles.get(ORCHESTRATOR_FILE);
  if (!orchestratorBytes) throw new Error('esbuild produced no bundle for the orchestrator');
  const orchestrator = {
    file: ORCHESTRATOR_FILE,
    sha256: sha256(orchestratorBytes),
    bytes: orchestratorBytes.byteLength,
  };
  const releaseId = `r-${sha256(JSON.stringify({ target: RELEASE_TARGET, functions, runtime, orchestrator })).slice(0, 16)}`;
  const manifest: ReleaseManifest = {
    releaseId,
    target: RELEASE_TARGET,
    functions,
    runtime,
    orchestrator,
  };

  const dir = path.join(outDir, releaseId);
  if (!existsSync(path.join(dir, MANIFEST_FILE))) {
    // Write beside, then rename: a crash never leaves a half-written release under its id.
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    for (const file of [...functions.map((f) => f.file), RUNTIME_FILE, ORCHESTRATOR_FILE]) {
      mkdirSync(path.join(staging, path.dirname(file)), { recursive: true });
      writeFileSync(path.join(staging, file), bundles.get(file) as Uint8Array);
    }
    writeFileSync(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      renameSync(staging, dir);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      // Another build of the same release won the race: its bytes are the same as ours.
      if (!existsSync(path.join(dir, MANIFEST_FILE))) throw err;
    }
  }
  return { dir, manifest };
}
