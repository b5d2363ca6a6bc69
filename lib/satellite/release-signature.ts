import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import * as path from 'node:path';
import type { GetPublicKeyCommandOutput, KMSClient } from '@aws-sdk/client-kms';
import { RELEASE_SIGNING, type ReleaseManifest, signedReleasePayload } from '../../core/manifest';
import type { Records } from '../../core/records';
import type { StagedRelease } from '../../core/records/staged-releases';
import { stateFile } from './state-files';

/**
 * Thrown when a satellite refuses a staged release: its signature is missing or does not
 * verify against the environment's release key, it is another release's manifest, or a
 * bundle does not match its signed hash. Such a release is never loaded.
 */
export class ReleaseRefusedError extends Error {
  constructor(
    readonly releaseId: string,
    readonly reason: string
  ) {
    super(`release ${releaseId} refused: ${reason}`);
    this.name = 'ReleaseRefusedError';
  }
}

/** Where a satellite gets the environment's public release key. */
export interface ReleaseKey {
  /** The key, fetched once and kept (a public key is no secret). */
  publicKey(): Promise<KeyObject>;
  /** What the key is, for messages: its ARN, or `an inline public key`. */
  readonly description: string;
}

/**
 * `key`, kept in `file` once fetched (a public key is no secret): a runtime restarted while
 * KMS cannot be reached still verifies the releases it holds.
 */
export function keptReleaseKey(key: ReleaseKey, file: string): ReleaseKey {
  const kept = stateFile<{ description: string; spki: string }>(file);
  return {
    description: key.description,
    publicKey: async () => {
      try {
        const fetched = await key.publicKey();
        const spki = (fetched.export({ format: 'der', type: 'spki' }) as Buffer).toString('base64');
        if (kept.read()?.spki !== spki) kept.write({ description: key.description, spki });
        return fetched;
      } catch (err) {
        const held = kept.read();
        if (held?.description !== key.description) throw err;
        return createPublicKey({
          key: Buffer.from(held.spki, 'base64'),
          format: 'der',
          type: 'spki',
        });
      }
    },
  };
}

/** A KMS key (or alias) ARN: `arn:<partition>:kms:<region>:<account>:key/<id>|alias/<name>`. */
const KMS_ARN = /^arn:[a-z-]+:kms:([a-z0-9-]+):\d{12}:(key|alias)\/.+$/;

/**
 * The release key named by `ORBIT_RELEASE_KEY`: a KMS key or alias ARN (satellites in AWS:
 * the public key is fetched with `kms:GetPublicKey` in the key's region), or the public key
 * itself as base64 DER SubjectPublicKeyInfo (the local fleet, an on-prem host given it).
 * Throws, naming the variable, for anything else.
 */
export function releaseKeyFrom(value: string, options: { kms?: KMSClient } = {}): ReleaseKey {
  const arn = KMS_ARN.exec(value);
  if (arn) return new KmsReleaseKey(value, arn[1] as string, options.kms);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'spki' });
  } catch (err) {
    throw new Error(
      `ORBIT_RELEASE_KEY is neither a KMS key ARN (arn:aws:kms:<region>:<account>:alias/<name>) nor a base64 DER public key: ${(err as Error).message}`,
      { cause: err }
    );
  }
  assertP256(key, 'ORBIT_RELEASE_KEY');
  return { publicKey: async () => key, description: 'an inline public key' };
}

function assertP256(key: KeyObject, what: string): void {
  const { namedCurve } = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType !== 'ec' || namedCurve !== 'prime256v1') {
    throw new Error(
      `${what} is not an ${RELEASE_SIGNING.keySpec} public key (it is ${key.asymmetricKeyType} ${namedCurve ?? ''}); releases are signed with ${RELEASE_SIGNING.algorithm}`
    );
  }
}

/**
 * The public half of the environment's KMS release key. GetPublicKey returns it DER-encoded
 * (X.509 SubjectPublicKeyInfo) with the key's spec, usage and signing algorithms (AWS KMS
 * API Reference, GetPublicKey); the key must be an `ECC_NIST_P256` `SIGN_VERIFY` key that
 * signs with `ECDSA_SHA_256`. Fetched once; a failed fetch is tried again next time.
 */
class KmsReleaseKey implements ReleaseKey {
  private fetched: Promise<KeyObject> | undefined;

  constructor(
    readonly description: string,
    private readonly region: string,
    private kms?: KMSClient
  ) {}

  publicKey(): Promise<KeyObject> {
    if (!this.fetched) {
      this.fetched = this.fetch();
      this.fetched.catch(() => {
        this.fetched = undefined;
      });
    }
    return this.fetched;
  }

  private async fetch(): Promise<KeyObject> {
    let out: GetPublicKeyCommandOutput;
    try {
      // The KMS client loads when a key is first fetched, not with the runtime: a start that
      // verifies with a key it kept (or an inline one) never pays for it.
      const { GetPublicKeyCommand, KMSClient } = await import('@aws-sdk/client-kms');
      this.kms ??= new KMSClient({ region: this.region });
      out = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.description }));
    } catch (err) {
      throw new Error(
        `cannot fetch the release key ${this.description}: ${(err as Error).message}`,
        { cause: err }
      );
    }
    if (
      !out.PublicKey ||
      out.KeySpec !== RELEASE_SIGNING.keySpec ||
      out.KeyUsage !== 'SIGN_VERIFY' ||
      !out.SigningAlgorithms?.includes(RELEASE_SIGNING.algorithm)
    ) {
      throw new Error(
        `the release key ${this.description} is not an ${RELEASE_SIGNING.keySpec} SIGN_VERIFY key for ${RELEASE_SIGNING.algorithm} (it is ${out.KeySpec} ${out.KeyUsage})`
      );
    }
    const key = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
    assertP256(key, `the release key ${this.description}`);
    return key;
  }
}

/** Options of a {@link ReleaseVerifier}. */
export interface ReleaseVerifierOptions {
  /** The environment the satellite belongs to: a release signed for another is refused. */
  readonly environment: string;
  readonly key: ReleaseKey;
  /** The platform records, in the location's data region (staged releases, refusals). */
  readonly records: Records;
  readonly locationId: string;
  /** This host, in the refusal it records. */
  readonly instanceId: string;
  /** Told of every refusal, in words (the runtime logs it). @default - console.error */
  readonly log?: (line: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Where the signed records of releases are kept once read, so that a runtime restarted
   * while the table cannot be reached still verifies the releases in its cache (what it keeps
   * is as public as the records: manifests and signatures, verified again at every load).
   * @default - not kept: verifying needs the table
   */
  readonly signedRecordsDir?: string;
}

/**
 * Decides whether a satellite may load a staged release. A release is loaded only if its
 * staged-release record carries a signature that verifies, against the environment's public
 * release key, over {@link signedReleasePayload} of its manifest for this environment, and
 * that manifest is the release asked for (so an older release's signed manifest replayed
 * under a newer id is refused); the artifact sources then check every bundle against the
 * signed hashes. A refusal is logged, recorded on the staged-release record (governance
 * reports it as a high finding) and thrown as a {@link ReleaseRefusedError}.
 */
export class ReleaseVerifier {
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  /** Refusals this process recorded already: one write per release and reason. */
  private readonly recorded = new Set<string>();

  constructor(private readonly options: ReleaseVerifierOptions) {
    this.log = options.log ?? ((line) => console.error(line));
    this.now = options.now ?? Date.now;
  }

  /**
   * The staged-release record of the release at this location, if staged; the copy kept
   * when the table cannot be read (see `signedRecordsDir`).
   */
  async staged(releaseId: string): Promise<StagedRelease | undefined> {
    const { signedRecordsDir, records, locationId } = this.options;
    const kept = signedRecordsDir
      ? stateFile<StagedRelease>(path.join(signedRecordsDir, `${releaseId}.json`))
      : undefined;
    let record: StagedRelease | undefined;
    try {
      record = await records.stagedReleases.get(locationId, releaseId);
    } catch (err) {
      const copy = kept?.read();
      if (!copy) throw err;
      return copy;
    }
    if (record?.signature && record.manifest && kept?.read()?.signature !== record.signature) {
      const { refusal: _refusal, ...signed } = record;
      kept?.write(signed as StagedRelease);
    }
    return record;
  }

  /**
   * The release's manifest, once its signature verifies; refuses (see the class comment)
   * otherwise. `manifest` is the manifest to check (JSON or parsed), `signature` the record's.
   */
  async verify(
    releaseId: string,
    manifest: ReleaseManifest | string | undefined,
    signature: string | undefined
  ): Promise<ReleaseManifest> {
    if (manifest === undefined) return this.refuse(releaseId, 'it has no manifest');
    let parsed: ReleaseManifest;
    try {
      parsed = typeof manifest === 'string' ? (JSON.parse(manifest) as ReleaseManifest) : manifest;
    } catch {
      return this.refuse(releaseId, 'its manifest is not JSON');
    }
    if (!signature) {
      return this.refuse(
        releaseId,
        'it is not signed (its staged-release record has no signature)'
      );
    }
    let payload: Buffer;
    try {
      payload = signedReleasePayload(this.options.environment, parsed);
    } catch {
      return this.refuse(releaseId, 'its manifest lacks the bundles a signature covers');
    }
    // A failure to fetch the key is no verdict on the release: it throws, it is not a refusal.
    const key = await this.options.key.publicKey();
    const valid = verify(RELEASE_SIGNING.digest, payload, key, Buffer.from(signature, 'base64'));
    if (!valid) {
      return this.refuse(
        releaseId,
        `its signature does not verify against the release key of ${this.options.environment} (${this.options.key.description})`
      );
    }
    if (parsed.releaseId !== releaseId) {
      return this.refuse(
        releaseId,
        `its signed manifest is release ${parsed.releaseId}'s (a manifest replayed under another id)`
      );
    }
    return parsed;
  }

  /** Refuses the release: logs it, records it for governance, throws. */
  async refuse(releaseId: string, reason: string): Promise<never> {
    const { records, locationId, instanceId } = this.options;
    this.log(`orbit runtime: refused release ${releaseId} at ${locationId}: ${reason}`);
    const once = `${releaseId}\n${reason}`;
    if (!this.recorded.has(once)) {
      try {
        await records.stagedReleases.refuse(locationId, releaseId, {
          reason,
          at: new Date(this.now()).toISOString(),
          instanceId,
        });
        this.recorded.add(once);
      } catch (err) {
        // The refusal stands; only its report failed (the next attempt reports it again).
        this.log(
          `orbit runtime: cannot record the refusal of ${releaseId}: ${(err as Error).message}`
        );
      }
    }
    throw new ReleaseRefusedError(releaseId, reason);
  }

  /** The release was loaded: a refusal recorded earlier (since fixed) is cleared. */
  async accepted(releaseId: string, staged: Pick<StagedRelease, 'refusal'> | undefined) {
    if (!staged?.refusal) return;
    for (const key of this.recorded)
      if (key.startsWith(`${releaseId}\n`)) this.recorded.delete(key);
    await this.options.records.stagedReleases.clearRefusal(this.options.locationId, releaseId);
  }
}
