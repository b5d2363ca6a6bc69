import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  loadRelease,
  MANIFEST_FILE,
  type Release,
  type ReleaseManifest,
} from '../../core/manifest';
import type { Records } from '../../core/records';

/** Where a satellite gets the bundles of a staged release. */
export interface ArtifactSource {
  /** The release on local disk, fetched first if need be. */
  fetch(releaseId: string): Promise<Release>;
}

/**
 * Releases from a directory of built releases (`dist/release/<id>/`): the local fleet's
 * source, and an on-prem host's when releases are copied to it. Each bundle is checked
 * against the manifest's sha256, as the S3 source does, so that a copy altered or cut short
 * is refused rather than served.
 */
export class LocalArtifactSource implements ArtifactSource {
  constructor(private readonly releasesDir: string) {}

  async fetch(releaseId: string): Promise<Release> {
    if (!/^r-[0-9a-f]{16}$/.test(releaseId)) throw new Error(`'${releaseId}' is not a release id`);
    const release = loadRelease(path.join(this.releasesDir, releaseId));
    for (const fn of release.manifest.functions) {
      const actual = sha256Of(path.join(release.dir, fn.file));
      if (actual !== fn.sha256) {
        throw new Error(
          `${fn.name} of ${releaseId} does not match its manifest (sha256 ${actual})`
        );
      }
    }
    return release;
  }
}

const sha256Of = (file: string): string =>
  createHash('sha256').update(readFileSync(file)).digest('hex');

/** Options of an {@link S3ArtifactSource}. */
export interface S3ArtifactSourceOptions {
  /** The platform records, in the location's data region. */
  readonly records: Records;
  readonly locationId: string;
  readonly s3: S3Client;
  /** Where fetched releases are kept, one directory per release. */
  readonly cacheDir: string;
  /** Extracts a zip into a directory. @default - the system's `unzip` */
  readonly unzip?: (zipFile: string, intoDir: string) => Promise<void>;
}

const execFileAsync = promisify(execFile);
const systemUnzip = async (zipFile: string, intoDir: string) => {
  await execFileAsync('unzip', ['-o', '-q', zipFile, '-d', intoDir]);
};

/**
 * Releases staged by `cdk deploy` at a Local Zone or Outpost location: the staged-release
 * record (`LOCATION#<id>`/`RELEASE#<release>`) carries the manifest and, per function, the
 * S3 object of its asset. Each bundle is checked against the manifest's sha256 before the
 * release is used, and a release is cached on disk once complete (written beside, then
 * renamed), so a restart does not fetch it again.
 */
export class S3ArtifactSource implements ArtifactSource {
  constructor(private readonly options: S3ArtifactSourceOptions) {}

  async fetch(releaseId: string): Promise<Release> {
    const dir = path.join(this.options.cacheDir, releaseId);
    if (existsSync(path.join(dir, MANIFEST_FILE))) return loadRelease(dir);
    const { records, locationId, s3 } = this.options;
    const record = await records.stagedReleases.get(locationId, releaseId);
    if (!record?.manifest || !record.artifacts) {
      throw new Error(`release ${releaseId} is not staged at ${locationId} with its artifacts`);
    }
    const manifest = JSON.parse(record.manifest) as ReleaseManifest;
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    try {
      for (const fn of manifest.functions) {
        const artifact = record.artifacts[fn.name];
        if (!artifact) throw new Error(`release ${releaseId} names no artifact for ${fn.name}`);
        const object = await s3.send(
          new GetObjectCommand({ Bucket: artifact.bucket, Key: artifact.key })
        );
        const zip = path.join(this.options.cacheDir, `${releaseId}-${fn.name}.zip`);
        mkdirSync(this.options.cacheDir, { recursive: true });
        writeFileSync(
          zip,
          await (
            object.Body as { transformToByteArray(): Promise<Uint8Array> }
          ).transformToByteArray()
        );
        const into = path.join(staging, path.dirname(fn.file));
        mkdirSync(into, { recursive: true });
        await (this.options.unzip ?? systemUnzip)(zip, into);
        rmSync(zip, { force: true });
        const actual = sha256Of(path.join(staging, fn.file));
        if (actual !== fn.sha256) {
          throw new Error(
            `${fn.name} of ${releaseId} does not match its manifest (sha256 ${actual})`
          );
        }
      }
      writeFileSync(path.join(staging, MANIFEST_FILE), JSON.stringify(manifest));
      renameSync(staging, dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    return loadRelease(dir);
  }
}
