import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import type { Release } from '../core/manifest';
import { RELEASE_TARGET } from '../lib/release/build';
import { type BenchOptions, median, type Row, ratio, round, spread } from './lib';

const FLAG_BYTES = 500 * 1024;

/** Size of every bundle of the release, raw and gzip; functions over 500 KB are flagged. */
export function bundleSizes(release: Release): Row[] {
  const bundles = [
    ...release.manifest.functions.map((f) => ({ name: f.name, file: f.file, isFunction: true })),
    { name: 'runtime', file: release.manifest.runtime.file, isFunction: false },
    { name: 'orchestrator', file: release.manifest.orchestrator.file, isFunction: false },
  ];
  return bundles.map((b) => {
    const bytes = readFileSync(path.join(release.dir, b.file));
    const over = b.isFunction && bytes.byteLength > FLAG_BYTES;
    return {
      figure: `bundle size: ${b.name}`,
      value: round(bytes.byteLength / 1024, 1),
      unit: 'KB',
      baseline: null,
      ratio: null,
      target: b.isFunction ? 'flag > 500 KB' : undefined,
      met: b.isFunction ? !over : undefined,
      note: `${round(gzipSync(bytes).byteLength / 1024, 1)} KB gzip${over ? ' — FLAGGED: over 500 KB minified' : ''}`,
    };
  });
}

/** The baseline for init time: a bare handler that only imports the same AWS SDK client. */
async function bareBundle(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orbit-bench-bare-'));
  const entry = path.join(dir, 'bare.ts');
  writeFileSync(
    entry,
    `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
const table = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
export const handler = async () => ({ statusCode: 200, body: String(Boolean(table)) });
`
  );
  const out = path.join(dir, 'bare.js');
  await esbuild.build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'cjs',
    target: RELEASE_TARGET,
    nodePaths: [path.join(process.cwd(), 'node_modules')],
    logLevel: 'silent',
  });
  return out;
}

/** Milliseconds to `require` a bundle in a fresh Node process. */
function initTime(file: string, env: NodeJS.ProcessEnv): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  return Number(execFileSync(process.execPath, ['-e', script], { env }).toString());
}

/**
 * Module init time of each function bundle in a fresh process (the cold start's share that
 * is ours), against a bare handler importing the same DynamoDB client.
 */
export async function initTimes(release: Release, options: BenchOptions): Promise<Row[]> {
  const env = {
    ...process.env,
    ORBIT_ENVIRONMENT: 'bench',
    ORBIT_LOCATION_ID: 'bench',
    ORBIT_LOCATION_KIND: 'region',
    ORBIT_REGION: 'us-east-1',
    ORBIT_RELEASE_ID: release.manifest.releaseId,
    ORBIT_TABLE_NAME: 'orbit-bench',
    ORBIT_DATA_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const repeats = options.quick ? 3 : 9;
  const bare = await bareBundle();
  const measure = (file: string, fn: string) =>
    Array.from({ length: repeats }, () => initTime(file, { ...env, ORBIT_FUNCTION: fn }));
  const baseline = measure(bare, 'bare');
  const base = median(baseline);
  options.log(`init: bare handler ${round(base)} ms`);
  return release.manifest.functions.map((f) => {
    const times = measure(path.join(release.dir, f.file), f.name);
    const value = median(times);
    return {
      figure: `module init: ${f.name}`,
      value: round(value),
      unit: 'ms',
      baseline: round(base),
      ratio: ratio(value, base),
      spread: spread(times),
      target: '≤ 1.5×',
      met: value / base <= 1.5,
    };
  });
}
