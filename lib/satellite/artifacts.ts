import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
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
import type { ReleaseVerifier } from './release-signature';

/** Where a satellite gets the bundles of a staged release. */
export interface ArtifactSource {
  /** The release on local disk, fetched first if need be. */
  fetch(releaseId: string): Promise<Release>;
}

/**
 * Releases from a directory of built releases (`dist/release/<id>/`): the local fleet's
 * source, and an on-prem host's when releases are copied to it. Each bundle is checked
 * against the manifest's sha256, as the S3 source does, so that a copy altered or cut short
 * is refused rather than served. With a `verifier`, the manifest must also carry the
 * signature of the release's staged-release record, and the runtime bundle is checked too.
 */
export class LocalArtifactSource implements ArtifactSource {
  /**
   * @param releasesDir the directory holding one directory per release
   * @param verifier checks each release's signature @default - releases are not verified
   */
  constructor(
    private readonly releasesDir: string,
    private readonly verifier?: ReleaseVerifier
  ) {}

  async fetch(releaseId: string): Promise<Release> {
    if (!/^r-[0-9a-f]{16}$/.test(releaseId)) throw new Error(`'${releaseId}' is not a release id`);
    const release = loadRelease(path.join(this.releasesDir, releaseId));
    const { verifier } = this;
    const staged = verifier ? await verifier.staged(releaseId) : undefined;
    const manifest = verifier
      ? await verifier.verify(releaseId, release.manifest, staged?.signature)
      : release.manifest;
    const bundles = [
      ...manifest.functions,
      ...(verifier ? [{ name: RUNTIME_ARTIFACT, ...manifest.runtime }] : []),
    ];
    for (const b of bundles) {
      const actual = sha256Of(path.join(release.dir, b.file));
      if (actual === b.sha256) continue;
      const reason = `${b.name} does not match its manifest (sha256 ${actual})`;
      if (verifier) await verifier.refuse(releaseId, reason);
      throw new Error(`${b.name} of ${releaseId} does not match its manifest (sha256 ${actual})`);
    }
    await verifier?.accepted(releaseId, staged);
    return release;
  }
}

const sha256Of = (file: string): string =>
  existsSync(file)
    ? createHash('sha256').update(readFileSync(file)).digest('hex')
    : 'of nothing (the file is missing)';

/** Options of an {@link S3ArtifactSource}. */
export interface S3ArtifactSourceOptions {
  /** The platform records, in the location's data region. */
  readonly records: Records;
  readonly locationId: string;
  /**
   * The S3 client, or how to make it: the client loads when a bundle is first downloaded, not
   * with the runtime (a host whose cache holds what it serves never pays for it).
   */
  readonly s3: S3Client | (() => Promise<S3Client>);
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
  /**
   * Checks each release's signature before anything of it is downloaded, and refuses it when
   * a bundle does not match its signed hash. @default - releases are not verified
   */
  readonly verifier?: ReleaseVerifier;
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

/** Whether every bundle of a cached release still hashes to what its manifest says. */
function cachedIntact(dir: string, manifest: ReleaseManifest, withRuntime: boolean): boolean {
  return [...manifest.functions, ...(withRuntime ? [manifest.runtime] : [])].every(
    (b) => sha256Of(path.join(dir, b.file)) === b.sha256
  );
}

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
  private client: Promise<S3Client> | undefined;

  constructor(private readonly options: S3ArtifactSourceOptions) {
    this.store = new BundleStore(path.join(options.cacheDir, 'bundles'));
  }

  async fetch(releaseId: string): Promise<Release> {
    const dir = path.join(this.options.cacheDir, releaseId);
    const { records, locationId, verifier } = this.options;
    if (!verifier && existsSync(path.join(dir, MANIFEST_FILE))) return loadRelease(dir);
    const record = verifier
      ? await verifier.staged(releaseId)
      : await records.stagedReleases.get(locationId, releaseId);
    if (verifier && !record) {
      throw new Error(`release ${releaseId} is not staged at ${locationId}`);
    }
    // Verified before a byte is downloaded: a forged record costs one read.
    const manifest = verifier
      ? await verifier.verify(releaseId, record?.manifest, record?.signature)
      : undefined;
    if (manifest && existsSync(path.join(dir, MANIFEST_FILE))) {
      // Cached earlier: served only while every file still hashes to what was signed.
      if (cachedIntact(dir, manifest, record?.artifacts?.[RUNTIME_ARTIFACT] !== undefined)) {
        await verifier?.accepted(releaseId, record);
        return loadRelease(dir);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    if (!record?.manifest || !record.artifacts) {
      throw new Error(`release ${releaseId} is not staged at ${locationId} with its artifacts`);
    }
    const { artifacts } = record;
    const signed = manifest ?? (JSON.parse(record.manifest) as ReleaseManifest);
    const runtime = artifacts[RUNTIME_ARTIFACT];
    const bundles: NeededBundle[] = [
      ...signed.functions.map((fn) => {
        const artifact = artifacts[fn.name];
        if (!artifact) throw new Error(`release ${releaseId} names no artifact for ${fn.name}`);
        return { name: fn.name, file: fn.file, sha256: fn.sha256, artifact };
      }),
      // Releases staged before the runtime was shipped beside the functions carry none.
      ...(runtime ? [{ name: RUNTIME_ARTIFACT, ...signed.runtime, artifact: runtime }] : []),
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
      writeOwnerOnly(path.join(staging, MANIFEST_FILE), JSON.stringify(signed));
      // Another fetch of the same release may have finished first; its copy is as good.
      if (!existsSync(path.join(dir, MANIFEST_FILE))) renameSync(staging, dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    await verifier?.accepted(releaseId, record);
    return loadRelease(dir);
  }

  private s3(): Promise<S3Client> {
    const { s3 } = this.options;
    this.client ??= typeof s3 === 'function' ? s3() : Promise.resolve(s3);
    // A client that failed to load is made again next time.
    this.client.catch(() => {
      this.client = undefined;
    });
    return this.client;
  }

  private async download(releaseId: string, bundle: NeededBundle): Promise<void> {
    const s3 = await this.s3();
    const attempts = this.options.downloadAttempts ?? 4;
    const { bucket, key } = bundle.artifact;
    try {
      await withBackoff(
        async () => {
          const { GetObjectCommand } = await import('@aws-sdk/client-s3');
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
      if (err instanceof BundleMismatchError && this.options.verifier) {
        await this.options.verifier.refuse(
          releaseId,
          `${bundle.name} does not match its signed sha256 (it hashes to ${err.actual}, after ${attempts} attempts)`
        );
      }
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
