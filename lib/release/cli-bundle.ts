import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

/** Where the release build puts the CLI bundle, relative to the checkout. */
export const CLI_BUNDLE_DIR = path.join('dist', 'cli');
/** The bundle's entry, which bin/orbit-cli.js imports when the bundle is current. */
export const CLI_BUNDLE_ENTRY = 'orbit.mjs';
/**
 * What the bundle was built from: every source file (and the installed dependency tree, as
 * npm records it in `node_modules/.package-lock.json`) with its SHA-256. bin/orbit-cli.js
 * runs the bundle only while every one of them still hashes the same; otherwise it runs the
 * sources through tsx, so a stale bundle never runs.
 */
export const CLI_BUNDLE_INPUTS = 'inputs.json';

/** The contents of {@link CLI_BUNDLE_INPUTS}. */
export interface CliBundleInputs {
  readonly format: 1;
  /** Path relative to the checkout → SHA-256 (hex) of its bytes. */
  readonly files: Readonly<Record<string, string>>;
}

/** What {@link buildCliBundle} wrote. */
export interface CliBundle {
  readonly dir: string;
  /** Bytes of every chunk, the entry included. */
  readonly bytes: number;
  /** Bytes of the entry chunk: what `orbit --help` loads. */
  readonly entryBytes: number;
  readonly inputs: number;
}

/** Packages the bundle leaves to node_modules: native binaries, and what only tests use. */
const EXTERNAL = ['esbuild', 'tsx', 'dynalite', 'aws-cdk-lib', 'constructs', 'fsevents'];

// An ES module bundle has neither `require` (CommonJS dependencies call it for Node's
// modules) nor `__dirname` (the CLI finds the checkout two folders up, as from lib/cli/).
const BANNER = [
  "import { createRequire as __orbitRequire } from 'node:module';",
  "import { fileURLToPath as __orbitPath } from 'node:url';",
  "import { dirname as __orbitDirname } from 'node:path';",
  'const require = __orbitRequire(import.meta.url);',
  'const __filename = __orbitPath(import.meta.url);',
  'const __dirname = __orbitDirname(__filename);',
].join('\n');

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Bundles the `orbit` CLI (bin/orbit-cli.ts) with esbuild for Node 20 into `dist/cli/`: ES
 * modules split at every dynamic `import()`, so `orbit --help` loads one small chunk and each
 * command loads only its own code (the records layer, an AWS SDK client). Writes the
 * inputs file last, so a build that fails half way leaves no bundle that looks current.
 */
export async function buildCliBundle(root = path.join(__dirname, '..', '..')): Promise<CliBundle> {
  const dir = path.join(root, CLI_BUNDLE_DIR);
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { orbit: path.join(root, 'bin', 'orbit-cli.ts') },
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    mainFields: ['module', 'main'],
    external: EXTERNAL,
    banner: { js: BANNER },
    metafile: true,
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const sources = Object.keys(result.metafile.inputs)
    .filter((f) => !f.split('/').includes('node_modules'))
    .concat(path.relative(root, __filename).split(path.sep).join('/'));
  const installed = path.join('node_modules', '.package-lock.json');
  const files = Object.fromEntries(
    [...new Set(sources), ...(existsSync(path.join(root, installed)) ? [installed] : [])]
      .sort()
      .map((f) => [f, sha256(readFileSync(path.join(root, f)))])
  );
  const outputs = Object.entries(result.metafile.outputs);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  renameSync(staging, dir);
  const inputs: CliBundleInputs = { format: 1, files };
  writeFileSync(path.join(dir, CLI_BUNDLE_INPUTS), `${JSON.stringify(inputs, null, 2)}\n`);
  return {
    dir,
    bytes: outputs.reduce((n, [, o]) => n + o.bytes, 0),
    entryBytes: outputs.find(([file]) => file.endsWith(CLI_BUNDLE_ENTRY))?.[1].bytes ?? 0,
    inputs: Object.keys(files).length,
  };
}
