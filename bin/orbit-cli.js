#!/usr/bin/env node
// `orbit`: runs the CLI bundle the release build wrote (dist/cli/, `npm run build`) when it is
// current, and the TypeScript sources through tsx otherwise (a fresh clone, or sources edited
// since the build), so a stale bundle never runs. Current means every file the bundle was
// built from (dist/cli/inputs.json: path and SHA-256, the installed dependency tree included)
// still hashes the same. ORBIT_CLI=source always runs the sources; ORBIT_CLI=bundle fails
// instead of falling back (the benchmark measures the bundle, never tsx by mistake).

const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'cli');

/** Why the bundle cannot run, or undefined when it is current. */
function staleness() {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(path.join(bundle, 'inputs.json'), 'utf8'));
  } catch {
    return 'there is no CLI bundle (npm run build writes it)';
  }
  for (const [file, sha256] of Object.entries(inputs.files ?? {})) {
    let bytes;
    try {
      bytes = readFileSync(path.join(root, file));
    } catch {
      return `${file}, which the CLI bundle was built from, is gone`;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== sha256) {
      return `${file} changed since the CLI bundle was built (npm run build)`;
    }
  }
  return undefined;
}

const wanted = process.env.ORBIT_CLI;
const why = wanted === 'source' ? 'ORBIT_CLI=source' : staleness();
if (why === undefined) {
  import(pathToFileURL(path.join(bundle, 'orbit.mjs')).href).catch((err) => {
    process.stderr.write(`orbit: the CLI bundle failed to load: ${err.message}\n`);
    process.exit(1);
  });
} else if (wanted === 'bundle') {
  process.stderr.write(`orbit: ORBIT_CLI=bundle, but ${why}\n`);
  process.exit(1);
} else {
  // tsx's loaders for require() and import() alike (`node --import tsx`): commands are
  // loaded with import(), which only the ES module loader resolves.
  import('tsx').then(
    () => require('./orbit-cli.ts'),
    (err) => {
      process.stderr.write(`orbit: tsx could not load the CLI's sources: ${err.message}\n`);
      process.exit(1);
    }
  );
}
