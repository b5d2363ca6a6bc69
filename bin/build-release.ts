import { buildRelease } from '../lib/release/build';
import { buildCliBundle } from '../lib/release/cli-bundle';

/**
 * `npm run build`: builds the release and prints where it is, for CI to deploy as it is; then
 * bundles the `orbit` CLI into dist/cli (bin/orbit-cli.js runs it while it is current).
 */
async function main(): Promise<void> {
  const release = await buildRelease();
  for (const fn of release.manifest.functions) {
    console.log(
      `${fn.name.padEnd(20)} ${String(fn.bytes).padStart(9)} B  ${fn.sha256.slice(0, 12)}  ${fn.routes.map((r) => `${r.method} ${r.path}`).join(', ')}`
    );
  }
  console.log(`release ${release.manifest.releaseId} -> ${release.dir}`);
  const cli = await buildCliBundle();
  console.log(
    `orbit CLI ${String(cli.bytes).padStart(9)} B (${cli.entryBytes} B before a command loads), from ${cli.inputs} files -> ${cli.dir}`
  );
}

main().catch((err: Error) => {
  console.error(`orbit: release build failed: ${err.message}`);
  process.exit(1);
});
