import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  loadRelease,
  MANIFEST_FILE,
  type Release,
  type ReleaseManifest,
  RUNTIME_ARTIFACT,
} from '../../core/manifest';
import type { Records } from '../../core/records';
import type { StagedArtifact } from '../../core/records/staged-releases';
import { mapBounded, withBackoff } from './bounded';
import {
  BundleMismatchError,
  BundleStore,
  mkdirOwnerOnly,
  type Unzip,
  writeOwnerOnly,
} from './bundle-store';

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
  /**
   * Where fetched releases are kept, one directory per release, beside the bundles they are
   * assembled from (`bundles/<sha256>/`).
   */
  readonly cacheDir: string;
  /** Extracts a zip into a directory. @default - the system's `unzip` */
  readonly unzip?: Unzip;
  /** Bundles downloaded at the same time. @default 3 */
  readonly downloadConcurrency?: number;
  /** Attempts per bundle, the first included, before a fetch fails. @default 4 */
  readonly downloadAttempts?: number;
  /** Wait before a bundle's second attempt; it doubles for each later one. @default 250 */
  readonly retryBaseDelayMs?: number;
}

const execFileAsync = promisify(execFile);
const systemUnzip: Unzip = async (zipFile, intoDir) => {
  await execFileAsync('unzip', ['-o', '-q', zipFile, '-d', intoDir]);
};

/** One bundle a release needs: where it goes in the release directory, and its S3 object. */
interface NeededBundle {
  readonly name: string;
  readonly file: string;
  readonly sha256: string;
  readonly artifact: StagedArtifact;
}

/** S3 refusals another attempt cannot change (missing object, denied access). */
const isRefusal = (err: unknown): boolean => {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
};

let assembling = 0;

/**
 * Releases staged by `cdk deploy` at a Local Zone or Outpost location: the staged-release
 * record (`LOCATION#<id>`/`RELEASE#<release>`) carries the manifest and, per bundle (each
 * function, and the runtime), its S3 object. A satellite downloads only the bundles that no
 * release it already cached had: bundles are kept by hash in a {@link BundleStore}, and a
 * release directory is assembled from hard links into it, so a release that changes one
 * function downloads one bundle. Downloads run a few at a time and are retried with backoff;
 * each is checked against the manifest's sha256 before it enters the store. A release is
 * cached once complete (assembled beside, then renamed), so a restart fetches nothing. All
 * of it is written owner-only: the bundles hold the platform's code.
 */
export class S3ArtifactSource implements ArtifactSource {
  private readonly store: BundleStore;

  constructor(private readonly options: S3ArtifactSourceOptions) {
    this.store = new BundleStore(path.join(options.cacheDir, 'bundles'));
  }

  async fetch(releaseId: string): Promise<Release> {
    const dir = path.join(this.options.cacheDir, releaseId);
    if (existsSync(path.join(dir, MANIFEST_FILE))) return loadRelease(dir);
    const { records, locationId } = this.options;
    const record = await records.stagedReleases.get(locationId, releaseId);
    if (!record?.manifest || !record.artifacts) {
      throw new Error(`release ${releaseId} is not staged at ${locationId} with its artifacts`);
    }
    const { artifacts } = record;
    const manifest = JSON.parse(record.manifest) as ReleaseManifest;
    const runtime = artifacts[RUNTIME_ARTIFACT];
    const bundles: NeededBundle[] = [
      ...manifest.functions.map((fn) => {
        const artifact = artifacts[fn.name];
        if (!artifact) throw new Error(`release ${releaseId} names no artifact for ${fn.name}`);
        return { name: fn.name, file: fn.file, sha256: fn.sha256, artifact };
      }),
      // Releases staged before the runtime was shipped beside the functions carry none.
      ...(runtime ? [{ name: RUNTIME_ARTIFACT, ...manifest.runtime, artifact: runtime }] : []),
    ];

    const missing = new Map<string, NeededBundle>();
    for (const b of bundles) {
      if (!missing.has(b.sha256) && !this.store.has(b.sha256, path.basename(b.file))) {
        missing.set(b.sha256, b);
      }
    }
    await mapBounded([...missing.values()], this.options.downloadConcurrency ?? 3, (b) =>
      this.download(releaseId, b)
    );

    mkdirOwnerOnly(this.options.cacheDir);
    const staging = `${dir}.tmp-${process.pid}-${++assembling}`;
    try {
      mkdirOwnerOnly(staging);
      for (const b of bundles) {
        this.store.linkInto(b.sha256, path.join(staging, path.dirname(b.file)));
      }
      writeOwnerOnly(path.join(staging, MANIFEST_FILE), JSON.stringify(manifest));
      // Another fetch of the same release may have finished first; its copy is as good.
      if (!existsSync(path.join(dir, MANIFEST_FILE))) renameSync(staging, dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    return loadRelease(dir);
  }

  private async download(releaseId: string, bundle: NeededBundle): Promise<void> {
    const { s3 } = this.options;
    const attempts = this.options.downloadAttempts ?? 4;
    const { bucket, key } = bundle.artifact;
    try {
      await withBackoff(
        async () => {
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const zip = await (
            object.Body as { transformToByteArray(): Promise<Uint8Array> }
          ).transformToByteArray();
          await this.store.add(
            bundle.sha256,
            path.basename(bundle.file),
            zip,
            this.options.unzip ?? systemUnzip
          );
        },
        {
          attempts,
          baseDelayMs: this.options.retryBaseDelayMs ?? 250,
          retryable: (err) => !isRefusal(err),
        }
      );
    } catch (err) {
      if (err instanceof BundleMismatchError) {
        throw new Error(
          `${bundle.name} of ${releaseId} does not match its manifest (sha256 ${err.actual}, after ${attempts} attempts)`,
          { cause: err }
        );
      }
      throw new Error(
        `cannot fetch ${bundle.name} of ${releaseId} from s3://${bucket}/${key}: ${(err as Error).message}`,
        { cause: err }
      );
    }
  }
}
