import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { close, listen } from './listen';

/** A development token issuer for the local fleet. */
/** Where the development issuer serves its key set. */
export const DEV_ISSUER_JWKS_PATH = '/.well-known/jwks.json';

export interface DevIssuer {
  /** The issuer URL (`iss`), e.g. `http://127.0.0.1:4101`. */
  readonly issuer: string;
  readonly audience: string;
  /** Signs a token for `sub` valid for `ttlSeconds` (default 12 h). */
  issue(sub: string, options?: { ttlSeconds?: number; audience?: string }): Promise<string>;
  stop(): Promise<void>;
}

/** Options of {@link startDevIssuer}. */
export interface DevIssuerOptions {
  /**
   * Keep the signing key in this file (created on first start, owner-only): tokens issued
   * before a restart still verify after it, on the same port.
   * @default - a fresh key per start
   */
  readonly keyFile?: string;
}

const KID = 'orbit-local-1';
/** The private members of an RSA JWK: what the published key must not hold. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

/** The issuer's RS256 key pair as JWKs: the key file's, or a new one (written to it). */
async function signingKey(keyFile: string | undefined): Promise<JWK> {
  if (keyFile && existsSync(keyFile)) {
    try {
      return JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
    } catch (err) {
      throw new Error(
        `${keyFile} holds no signing key (${(err as Error).message}); delete it to start with a new one`,
        { cause: err }
      );
    }
  }
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  if (keyFile) {
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, `${JSON.stringify(jwk)}\n`, { mode: 0o600 });
  }
  return jwk;
}

/**
 * Runs an OpenID-style issuer on loopback: an RS256 key (fresh per start, or kept in
 * `keyFile`), its JWKS and a discovery document, so the satellite runtimes verify tokens
 * exactly as they do against a real identity provider. Development only: it signs whatever
 * it is asked to.
 */
export async function startDevIssuer(
  port: number,
  audience: string,
  options: DevIssuerOptions = {}
): Promise<DevIssuer> {
  const pair = await signingKey(options.keyFile);
  const privateKey = await importJWK({ ...pair, alg: 'RS256' }, 'RS256');
  const publicMembers = Object.fromEntries(
    Object.entries(pair).filter(([name]) => !(PRIVATE_MEMBERS as readonly string[]).includes(name))
  );
  const jwk: JWK = { ...publicMembers, kid: KID, alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      send({
        issuer,
        jwks_uri: `${issuer}${DEV_ISSUER_JWKS_PATH}`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (req.url === DEV_ISSUER_JWKS_PATH) {
      send({ keys: [jwk] });
    } else {
      res.writeHead(404).end();
    }
  });
  const bound = await listen(server, port, 'the development token issuer');
  issuer = `http://127.0.0.1:${bound}`;
  return {
    issuer,
    audience,
    issue: (sub, options = {}) =>
      new SignJWT({ scope: 'items' })
        .setProtectedHeader({ alg: 'RS256', kid: KID })
        .setIssuer(issuer)
        .setAudience(options.audience ?? audience)
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds ?? 12 * 3600}s`)
        .sign(privateKey),
    stop: () => close(server),
  };
}
