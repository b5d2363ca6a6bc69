import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type Release, type ReleaseManifest, RUNTIME_ARTIFACT } from '../core/manifest';
import type { Records } from '../core/records';
import type { StagedArtifact, StagedRelease } from '../core/records/staged-releases';
import { S3ArtifactSource } from '../lib/satellite/artifacts';
import { type BenchOptions, type Row, ratio, round } from './lib';

/** A bundle's directory zipped, as `cdk deploy` uploads it as an asset. */
function zipDir(dir: string): Buffer {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'orbit-bench-zip-')), 'asset.zip');
  execFileSync('zip', ['-q', '-r', out, '.'], { cwd: dir });
  return readFileSync(out);
}

/**
 * Bytes a satellite downloads for a release that changes one function, against the bytes of
 * every bundle of that release (what it fetched before bundles were kept by hash). Runs
 * offline: the staged-release records and S3 are in-memory fakes behind S3ArtifactSource.
 */
export async function artifactDownloads(release: Release, options: BenchOptions): Promise<Row> {
  const objects = new Map<string, Buffer>();
  const records = new Map<string, StagedRelease>();
  const stage = (releaseId: string, dir: string, manifest: ReleaseManifest) => {
    const artifacts: Record<string, StagedArtifact> = {};
    const bundles = [...manifest.functions, { name: RUNTIME_ARTIFACT, ...manifest.runtime }];
    for (const b of bundles) {
      const key = `${b.sha256}.zip`;
      objects.set(key, zipDir(path.join(dir, path.dirname(b.file))));
      artifacts[b.name] = { bucket: 'assets', key, sha256: b.sha256 };
    }
    const staged = { ...manifest, releaseId };
    records.set(releaseId, {
      locationId: 'bench',
      releaseId,
      artifacts,
      manifest: JSON.stringify(staged),
    });
    return bundles.reduce((sum, b) => sum + (objects.get(`${b.sha256}.zip`)?.byteLength ?? 0), 0);
  };

  // The next release: the same bundles, but for one function changed.
  const first = release.manifest;
  const changedDir = mkdtempSync(path.join(tmpdir(), 'orbit-bench-next-'));
  cpSync(release.dir, changedDir, { recursive: true });
  const changed = first.functions[0];
  if (!changed) throw new Error('the release has no function to change');
  const changedFile = path.join(changedDir, changed.file);
  appendFileSync(changedFile, '\n// the next release\n');
  const next: ReleaseManifest = {
    ...first,
    functions: first.functions.map((fn) =>
      fn === changed
        ? {
            ...fn,
            sha256: createHash('sha256').update(readFileSync(changedFile)).digest('hex'),
          }
        : fn
    ),
  };
  stage('r-00000000000000b1', release.dir, first);
  const wholeRelease = stage('r-00000000000000b2', changedDir, next);

  const changedBytes = objects.get(`${next.functions[0]?.sha256}.zip`)?.byteLength ?? 0;
  let downloaded = 0;
  const s3 = {
    send: async (command: GetObjectCommand) => {
      const zip = objects.get(command.input.Key ?? '');
      if (!zip) throw new Error(`no object ${command.input.Key}`);
      downloaded += zip.byteLength;
      return { Body: { transformToByteArray: async () => new Uint8Array(zip) } };
    },
  } as unknown as S3Client;
  const fakeRecords = {
    stagedReleases: { get: async (_location: string, id: string) => records.get(id) },
  } as unknown as Records;
  const source = new S3ArtifactSource({
    records: fakeRecords,
    locationId: 'bench',
    s3,
    cacheDir: mkdtempSync(path.join(tmpdir(), 'orbit-bench-cache-')),
  });
  await source.fetch('r-00000000000000b1');
  downloaded = 0;
  await source.fetch('r-00000000000000b2');
  options.log(
    `artifacts: ${next.functions.length} functions + runtime; changed ${changed.name}; ${downloaded} of ${wholeRelease} bytes fetched`
  );
  const kb = (bytes: number) => round(bytes / 1024, 1);
  return {
    figure: 'satellite download, one function changed',
    value: kb(downloaded),
    unit: 'KB',
    baseline: kb(wholeRelease),
    ratio: ratio(kb(downloaded), kb(wholeRelease)),
    target: 'only the changed bundle',
    met: downloaded === changedBytes,
    note: `zipped bundles: ${changed.name} changed, of ${next.functions.length} functions and the runtime; the baseline is every bundle of the release`,
  };
}
