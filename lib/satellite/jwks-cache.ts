import { existsSync, readFileSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import type { FetchedKeys, JwksCache } from '../../functions/shared/jwt-verifier';
import { mkdirOwnerOnly, writeOwnerOnly } from './bundle-store';

/** The file in the state directory where the issuer's signing keys are kept. */
export const JWKS_FILE = 'issuer-keys.json';

/**
 * Keeps the issuer's public signing keys in the runtime's state directory (owner-only, written
 * aside then renamed), so that a runtime restarted while the issuer cannot be reached verifies
 * tokens for what is left of its offline window. Keys of another issuer are not used.
 */
export function fileJwksCache(stateDir: string, issuer: string): JwksCache {
  const file = path.join(stateDir, JWKS_FILE);
  return {
    load: () => {
      if (!existsSync(file)) return undefined;
      try {
        const kept = JSON.parse(readFileSync(file, 'utf8')) as FetchedKeys & { issuer?: string };
        if (kept.issuer !== issuer || !Array.isArray(kept.jwks?.keys)) return undefined;
        return { jwks: kept.jwks, fetchedAtMs: Number(kept.fetchedAtMs) };
      } catch {
        return undefined;
      }
    },
    save: (keys) => {
      mkdirOwnerOnly(stateDir);
      writeOwnerOnly(`${file}.next`, JSON.stringify({ issuer, ...keys }));
      renameSync(`${file}.next`, file);
    },
  };
}
