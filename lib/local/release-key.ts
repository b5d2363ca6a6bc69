import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RELEASE_SIGNING, type ReleaseManifest, signedReleasePayload } from '../../core/manifest';

/** Where a local fleet keeps its release key, in its state (or persist) directory. */
export const RELEASE_KEY_FILE = 'orbit-release-key.pem';

/**
 * The local fleet's stand-in for the environment's KMS release key: a P-256 key pair that
 * signs what the fleet (and `orbit stage`) stages, exactly as a deploy signs with KMS, so
 * that the runtimes verify local releases the way satellites verify deployed ones.
 */
export class LocalReleaseKey {
  /** The public key as base64 DER SubjectPublicKeyInfo: the runtimes' `ORBIT_RELEASE_KEY`. */
  readonly publicKey: string;

  constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey)
      .export({ format: 'der', type: 'spki' })
      .toString('base64');
  }

  /** The release's signature for `environment`: base64 of the DER ECDSA signature. */
  sign(environment: string, manifest: ReleaseManifest): string {
    return sign(
      RELEASE_SIGNING.digest,
      signedReleasePayload(environment, manifest),
      this.privateKey
    ).toString('base64');
  }
}

/**
 * The release key kept in `dir` (`orbit-release-key.pem`, PKCS#8, owner-only), created there
 * on first use, so releases staged before a restart still verify after it; a fresh key in
 * memory when there is no directory.
 */
export function openLocalReleaseKey(dir?: string): LocalReleaseKey {
  if (!dir) return new LocalReleaseKey(newKey());
  const file = path.join(dir, RELEASE_KEY_FILE);
  if (existsSync(file)) {
    try {
      return new LocalReleaseKey(createPrivateKey(readFileSync(file, 'utf8')));
    } catch (err) {
      throw new Error(
        `${file} holds no release key (${(err as Error).message}); remove it and the fleet makes a new one (then stage your releases again)`,
        { cause: err }
      );
    }
  }
  const key = newKey();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Written beside, then renamed: two fleets starting at once never read half a key.
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  chmodSync(partial, 0o600);
  renameSync(partial, file);
  return new LocalReleaseKey(createPrivateKey(readFileSync(file, 'utf8')));
}

const newKey = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

/**
 * The keys of the fleets running in this process, by environment: `stageEverywhere` signs
 * with the key of the fleet whose store it stages into (tests, benches, the fleet itself).
 */
const running = new Map<string, LocalReleaseKey>();

/** Makes `key` the one releases of `environment` are signed with in this process. */
export function useLocalReleaseKey(environment: string, key: LocalReleaseKey): () => void {
  running.set(environment, key);
  return () => {
    if (running.get(environment) === key) running.delete(environment);
  };
}

/**
 * The key to sign releases of `environment` with: the running fleet's in this process, else
 * the one kept in `stateDir` (an `npx orbit stage` beside a fleet that keeps its key there);
 * undefined when there is none.
 */
export function localReleaseKeyFor(
  environment: string,
  stateDir: string = path.join(process.cwd(), '.orbit')
): LocalReleaseKey | undefined {
  const key = running.get(environment);
  if (key) return key;
  return existsSync(path.join(stateDir, RELEASE_KEY_FILE))
    ? openLocalReleaseKey(stateDir)
    : undefined;
}
