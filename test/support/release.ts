import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Release, ReleaseFunction } from '../../core/manifest';
import { buildRelease } from '../../lib/release/build';

let built: Promise<Release> | undefined;

/**
 * The real release of this checkout (esbuild over `functions/api`), built once per test file
 * into the run's release folder (`ORBIT_RELEASE_DIR`, removed after the run).
 */
export function sharedRelease(): Promise<Release> {
  built ??= buildRelease();
  return built;
}

/**
 * A small release on disk (under the run's temporary folder) for stack tests: a public function, one with `jwt` routes and
 * table access, and a fallback, whose bundles differ by `variant`, so two variants are two
 * releases (R1, R2) without running esbuild.
 */
export function fakeRelease(variant = 'A'): Release {
  const dir = mkdtempSync(path.join(tmpdir(), 'orbit-release-'));
  const bodies: Record<string, string> = {
    health: `exports.handler=async()=>({statusCode:200,body:"health ${variant}"});`,
    echo: `exports.handler=async(e)=>({statusCode:200,body:e.body??"echo ${variant}"});`,
    fallback: `exports.handler=async()=>({statusCode:404,body:"${variant}"});`,
  };
  const declarations: Record<string, Pick<ReleaseFunction, 'routes' | 'fallback' | 'table'>> = {
    health: {
      routes: [{ method: 'GET', path: '/health', auth: 'none' }],
      fallback: false,
      table: null,
    },
    echo: {
      routes: [
        { method: 'POST', path: '/echo', auth: 'jwt' },
        { method: 'GET', path: '/echo/{word}', auth: 'jwt' },
      ],
      fallback: false,
      table: { access: 'read-write', partitions: ['ECHO'] },
    },
    fallback: { routes: [], fallback: true, table: null },
  };
  const functions: ReleaseFunction[] = Object.entries(bodies).map(([name, code]) => {
    const file = `functions/${name}/index.js`;
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(dir, file), code);
    return {
      name,
      file,
      sha256: createHash('sha256').update(code).digest('hex'),
      bytes: Buffer.byteLength(code),
      ...(declarations[name] as Pick<ReleaseFunction, 'routes' | 'fallback' | 'table'>),
      maxBodyBytes: 1_048_576,
      memoryMb: 128,
      timeoutSeconds: 5,
    };
  });
  const releaseId = `r-${createHash('sha256').update(variant).digest('hex').slice(0, 16)}`;
  const runtimeCode = `console.log("runtime ${variant}");`;
  mkdirSync(path.join(dir, 'runtime'), { recursive: true });
  writeFileSync(path.join(dir, 'runtime/index.js'), runtimeCode);
  const runtime = {
    file: 'runtime/index.js',
    sha256: createHash('sha256').update(runtimeCode).digest('hex'),
    bytes: Buffer.byteLength(runtimeCode),
  };
  const orchestratorCode = `exports.handler=async()=>({ variant: "${variant}" });`;
  mkdirSync(path.join(dir, 'orchestrator'), { recursive: true });
  writeFileSync(path.join(dir, 'orchestrator/index.js'), orchestratorCode);
  const orchestrator = {
    file: 'orchestrator/index.js',
    sha256: createHash('sha256').update(orchestratorCode).digest('hex'),
    bytes: Buffer.byteLength(orchestratorCode),
  };
  const manifest = { releaseId, target: 'node20', functions, runtime, orchestrator };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { dir, manifest };
}
