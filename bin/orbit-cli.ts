import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { processIo, runCli } from '../lib/cli/program';

/**
 * `orbit`: the CLI. Started by bin/orbit-cli.js (from the release build's bundle, or through
 * tsx in a fresh clone); this file only wires the process to the program.
 */
function version(): string {
  // The checkout's package.json: one folder up from bin/, two from the bundle's dist/cli/.
  for (const f of [
    path.join(__dirname, '..', 'package.json'),
    path.join(__dirname, '..', '..', 'package.json'),
  ]) {
    try {
      return (JSON.parse(readFileSync(f, 'utf8')) as { version: string }).version;
    } catch {
      // try the next
    }
  }
  return 'unknown';
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
runCli(process.argv, processIo(), version()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `orbit: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`
    );
    process.exit(1);
  }
);
