import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileJwksCache, JWKS_FILE } from '../../lib/satellite/jwks-cache';

describe("the runtime's kept issuer keys", () => {
  const keys = {
    jwks: { keys: [{ kty: 'EC', kid: 'k1', crv: 'P-256', x: 'x', y: 'y' }] },
    fetchedAtMs: 1_000,
  };

  it('keeps what the issuer gave in an owner-only file, read back by the next process', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'orbit-state-')), 'state');
    fileJwksCache(dir, 'https://issuer.example.com').save(keys);
    expect(statSync(path.join(dir, JWKS_FILE)).mode & 0o777).toBe(0o600);
    expect(fileJwksCache(dir, 'https://issuer.example.com').load()).toEqual(keys);
  });

  it("uses no keys kept for another issuer (the environment's issuer changed)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'orbit-state-'));
    fileJwksCache(dir, 'https://old.example.com').save(keys);
    expect(fileJwksCache(dir, 'https://new.example.com').load()).toBeUndefined();
  });
});
