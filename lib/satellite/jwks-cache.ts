import * as path from 'node:path';
import type { FetchedKeys, JwksCache } from '../../functions/shared/jwt-verifier';
import { stateFile } from './state-files';

/** The file in the state directory where the issuer's signing keys are kept. */
export const JWKS_FILE = 'issuer-keys.json';

/**
 * Keeps the issuer's public signing keys in the runtime's state directory, so that a runtime
 * restarted while the issuer cannot be reached verifies tokens for what is left of its
 * offline window. Keys kept for another issuer are not used.
 */
export function fileJwksCache(stateDir: string, issuer: string): JwksCache {
  const file = stateFile<FetchedKeys & { issuer?: string }>(path.join(stateDir, JWKS_FILE));
  return {
    load: () => {
      const kept = file.read();
      if (kept?.issuer !== issuer || !Array.isArray(kept.jwks?.keys)) return undefined;
      return { jwks: kept.jwks, fetchedAtMs: Number(kept.fetchedAtMs) };
    },
    save: (keys) => file.write({ issuer, ...keys }),
  };
}
