import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ResolvedDeclaration } from './declaration';

/** One function of a release: its declaration, and the hash and size of its bundle. */
export interface ReleaseFunction extends ResolvedDeclaration {
  readonly name: string;
  /** The bundle, relative to the release directory. */
  readonly file: string;
  /** sha256 of the bundle, hex. */
  readonly sha256: string;
  readonly bytes: number;
}

/** A bundle that is not a function (the satellite runtime). */
export interface ReleaseBundle {
  /** The bundle, relative to the release directory. */
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** What a release holds. Written as `manifest.json` beside the bundles. */
export interface ReleaseManifest {
  /** `r-` and 16 hex digits of a hash over every bundle and declaration. */
  readonly releaseId: string;
  readonly target: string;
  readonly functions: readonly ReleaseFunction[];
  /** The satellite runtime that hosts these functions outside Lambda (`runtime/index.js`). */
  readonly runtime: ReleaseBundle;
  /** The control plane's reconciler (`orchestrator/index.js`). */
  readonly orchestrator: ReleaseBundle;
}

/**
 * The name under which a satellite's staged release lists the runtime bundle, beside one
 * entry per function; so no function may take it.
 */
export const RUNTIME_ARTIFACT = 'runtime';

/** The directory holding the satellite runtime's bundle: what a satellite installs. */
export function runtimeDir(release: Release): string {
  return path.join(release.dir, path.dirname(release.manifest.runtime.file));
}

/** A built release on disk. */
export interface Release {
  /** Absolute path of the release directory. */
  readonly dir: string;
  readonly manifest: ReleaseManifest;
}

export const MANIFEST_FILE = 'manifest.json';

/** The directory holding one function's bundle (`index.js`): the unit a location deploys. */
export function functionDir(release: Release, fn: ReleaseFunction): string {
  return path.join(release.dir, path.dirname(fn.file));
}

/** Reads a release built earlier (e.g. by CI, to deploy the very same bytes everywhere). */
export function loadRelease(dir: string): Release {
  const abs = path.resolve(dir);
  let manifest: ReleaseManifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(abs, MANIFEST_FILE), 'utf8')) as ReleaseManifest;
  } catch (err) {
    throw new Error(
      `${abs} is not an Orbit release: cannot read ${MANIFEST_FILE} (${(err as Error).message}). Build one with npm run build.`,
      { cause: err }
    );
  }
  if (!/^r-[0-9a-f]{16}$/.test(manifest.releaseId) || !Array.isArray(manifest.functions)) {
    throw new Error(
      `${abs}/${MANIFEST_FILE} is not an Orbit release manifest (no releaseId or functions).`
    );
  }
  return { dir: abs, manifest };
}

/** The release's public routes (`auth: 'none'`) that `allowed` does not list, as route keys. */
export function publicRoutesNotAllowed(
  release: Pick<Release, 'manifest'>,
  allowed: readonly string[]
): string[] {
  return release.manifest.functions
    .flatMap((f) => f.routes)
    .filter((r) => r.auth === 'none')
    .map((r) => `${r.method} ${r.path}`)
    .filter((key) => !allowed.includes(key));
}

/**
 * How a release's signature is made: ECDSA on NIST P-256 with SHA-256, the signature
 * DER-encoded (what AWS KMS returns for an `ECC_NIST_P256` key and `ECDSA_SHA_256`, and what
 * `node:crypto` makes and checks by default).
 */
export const RELEASE_SIGNING = {
  keySpec: 'ECC_NIST_P256',
  algorithm: 'ECDSA_SHA_256',
  /** `node:crypto`'s name for the digest. */
  digest: 'sha256',
} as const;

/**
 * The bytes a release's signature covers: a canonical JSON of the environment, the release
 * id and every bundle's name and sha256 (functions sorted by name, then the runtime). The
 * environment and the id are in it so that a manifest signed for one environment, or for an
 * older release, verifies nowhere else; the hashes bind every byte a satellite loads. Field
 * order is fixed here, so the same manifest gives the same bytes on every machine.
 */
export function signedReleasePayload(
  environment: string,
  manifest: Pick<ReleaseManifest, 'releaseId' | 'functions' | 'runtime'>
): Buffer {
  if (!environment) throw new Error('signedReleasePayload: environment is empty; name one');
  const functions = [...manifest.functions]
    .map((f) => [f.name, f.sha256] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(
    JSON.stringify({
      format: 'orbit-release-signature/1',
      environment,
      releaseId: manifest.releaseId,
      runtime: manifest.runtime.sha256,
      functions,
    }),
    'utf8'
  );
}

/** The SHA-256 digest of {@link signedReleasePayload}, hex: what a deploy asks KMS to sign. */
export function signedReleaseDigest(
  environment: string,
  manifest: Pick<ReleaseManifest, 'releaseId' | 'functions' | 'runtime'>
): string {
  return createHash('sha256').update(signedReleasePayload(environment, manifest)).digest('hex');
}
