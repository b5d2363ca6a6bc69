import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { close, listen } from './listen';

/** A development token issuer for the local fleet. */
export interface DevIssuer {
  /** The issuer URL (`iss`), e.g. `http://127.0.0.1:4101`. */
  readonly issuer: string;
  readonly audience: string;
  /** Signs a token for `sub` valid for `ttlSeconds` (default 12 h). */
  issue(sub: string, options?: { ttlSeconds?: number; audience?: string }): Promise<string>;
  stop(): Promise<void>;
}

const KID = 'orbit-local-1';

/**
 * Runs an OpenID-style issuer on loopback: a fresh RS256 key per start, its JWKS and a
 * discovery document, so the satellite runtimes verify tokens exactly as they do against a
 * real identity provider. Development only: it signs whatever it is asked to.
 */
export async function startDevIssuer(port: number, audience: string): Promise<DevIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      send({
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (req.url === '/.well-known/jwks.json') {
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
