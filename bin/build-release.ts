import { buildRelease } from '../lib/release/build';

/** `npm run build`: builds the release and prints where it is, for CI to deploy as it is. */
buildRelease().then(
  (release) => {
    for (const fn of release.manifest.functions) {
      console.log(
        `${fn.name.padEnd(20)} ${String(fn.bytes).padStart(9)} B  ${fn.sha256.slice(0, 12)}  ${fn.routes.map((r) => `${r.method} ${r.path}`).join(', ')}`
      );
    }
    console.log(`release ${release.manifest.releaseId} -> ${release.dir}`);
  },
  (err: Error) => {
    console.error(`orbit: release build failed: ${err.message}`);
    process.exit(1);
  }
);
