import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ForbiddenError, HttpError, UnauthorizedError } from '../../../core/errors';
import { type FetchedKeys, JwtVerifier } from '../../../functions/shared/jwt-verifier';
import { type StoreProxy, startStoreProxy } from '../../../lib/local/store-proxy';

describe('JwtVerifier', () => {
  let server: Server;
  let issuer: string;
  type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  const keys: { kid: string; privateKey: PrivateKey; jwk: object }[] = [];
  const hits = { discovery: 0, jwks: 0 };

  const addKey = async (kid: string) => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256' } });
  };
  const sign = (
    claims: Record<string, unknown> = {},
    options: { kid?: string; iss?: string; exp?: string; nbf?: string } = {}
  ) => {
    const key = keys.find((k) => k.kid === (options.kid ?? 'k1')) ?? keys[0];
    let jwt = new SignJWT({ scope: 'items:read items:write', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'k1' })
      .setIssuer(options.iss ?? issuer)
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '10m');
    if (!('aud' in claims)) jwt = jwt.setAudience('orbit');
    if (options.nbf) jwt = jwt.setNotBefore(options.nbf);
    return jwt.sign(key?.privateKey as PrivateKey);
  };
  const verifier = () => new JwtVerifier({ issuer, audience: ['orbit', 'orbit-admin'] });

  beforeAll(async () => {
    await addKey('k1');
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') {
        hits.discovery += 1;
        res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
      } else if (req.url === '/jwks') {
        hits.jwks += 1;
        res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('accepts a valid token and passes claims and scopes as the JWT authorizer does', async () => {
    const context = await verifier().verify(`Bearer ${await sign()}`);
    expect(context.claims).toMatchObject({ sub: 'alice', aud: 'orbit', iss: issuer });
    expect(context.scopes).toEqual(['items:read', 'items:write']);
  });

  it('accepts client_id as the audience when a token has no aud', async () => {
    const token = await sign({ aud: undefined, client_id: 'orbit-admin' });
    await expect(verifier().verify(`Bearer ${token}`)).resolves.toBeDefined();
  });

  it('fetches discovery and keys once and caches them', async () => {
    const v = verifier();
    const before = { ...hits };
    for (let i = 0; i < 20; i++) await v.verify(`Bearer ${await sign()}`);
    expect(hits.discovery - before.discovery).toBe(1);
    expect(hits.jwks - before.jwks).toBe(1);
  });

  it('picks up a rotated key (unknown kid) by fetching the keys again after the cooldown', async () => {
    const v = new JwtVerifier({ issuer, audience: ['orbit'], jwksCooldownMs: 0 });
    await v.verify(`Bearer ${await sign()}`);
    await addKey('k2');
    await expect(v.verify(`Bearer ${await sign({}, { kid: 'k2' })}`)).resolves.toMatchObject({
      claims: { sub: 'alice' },
    });
  });

  it.each<[string, () => Promise<string | undefined>, RegExp]>([
    ['a missing header', async () => undefined, /^Bearer$/],
    ['another scheme', async () => 'Basic YWxpY2U6c2VjcmV0', /not a bearer token/],
    ['a malformed token', async () => 'Bearer abc.def.ghi', /malformed|not valid/],
    [
      'a bad signature',
      async () => `Bearer ${(await sign()).slice(0, -4)}AAAA`,
      /signature is not valid/,
    ],
    ['an unknown key', async () => `Bearer ${await sign({}, { kid: 'nope' })}`, /unknown key/],
    [
      'another issuer',
      async () => `Bearer ${await sign({}, { iss: 'https://evil.example.com' })}`,
      /iss claim is not valid/,
    ],
    ['an expired token', async () => `Bearer ${await sign({}, { exp: '-1h' })}`, /has expired/],
    [
      'a token not valid yet',
      async () => `Bearer ${await sign({}, { nbf: '1h' })}`,
      /not valid yet/,
    ],
    [
      'alg none',
      async () => {
        const [, payload] = (await sign()).split('.');
        return `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
      },
      /not valid|not allowed|malformed/,
    ],
  ])('throws 401 for %s', async (_, header, wwwAuthenticate) => {
    const err = await verifier()
      .verify(await header())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).headers['www-authenticate']).toMatch(wwwAuthenticate);
  });

  it('throws 403 for a valid token issued for another audience', async () => {
    const err = await verifier()
      .verify(`Bearer ${await sign({ aud: 'someone-else' })}`)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).headers['www-authenticate']).toMatch(
      /does not have a valid audience/
    );
  });

  it('throws 503, not 401, when the issuer cannot be reached', async () => {
    const err = await new JwtVerifier({ issuer: 'http://127.0.0.1:1', audience: ['orbit'] })
      .verify(`Bearer ${await sign()}`)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).statusCode).toBe(503);
    expect((err as HttpError).problem).toBe('issuer-unavailable');
  });

  describe('while the issuer cannot be reached', () => {
    const MINUTE = 60_000;
    let proxy: StoreProxy;
    beforeAll(async () => {
      proxy = await startStoreProxy(Number(new URL(issuer).port));
    });
    afterAll(() => proxy.stop());
    afterEach(() => proxy.up());

    /** A verifier that reaches the issuer through the proxy, on a clock the test moves. */
    const cutOff = (offlineMaxMs: number, keyCache?: { saved?: FetchedKeys }) => {
      const link = {
        nowMs: Date.now(),
        set up(up: boolean) {
          if (up) proxy.up();
          else proxy.down();
        },
      };
      const v = new JwtVerifier({
        issuer,
        jwksUri: `${proxy.endpoint}/jwks`,
        audience: ['orbit'],
        jwksCooldownMs: 0,
        offlineMaxMs,
        now: () => link.nowMs,
        ...(keyCache
          ? {
              keyCache: {
                load: () => keyCache.saved,
                save: (keys: FetchedKeys) => {
                  keyCache.saved = keys;
                },
              },
            }
          : {}),
      });
      return { v, link };
    };
    // The token's own expiry must not be what fails: it outlives every clock move below.
    const longLived = () => sign({}, { exp: '3d' });
    const problemOf = (err: unknown) => (err as HttpError).problem;

    it('keeps verifying with the cached keys for the offline window, then answers 503 issuer-unavailable', async () => {
      const { v, link } = cutOff(24 * 60 * MINUTE);
      const token = await longLived();
      await v.verify(`Bearer ${token}`);
      link.up = false;
      link.nowMs += 23 * 60 * MINUTE; // past the 10-minute refresh, inside the day
      await expect(v.verify(`Bearer ${token}`)).resolves.toMatchObject({
        claims: { sub: 'alice' },
      });
      link.nowMs += 2 * 60 * MINUTE; // 25 h after the issuer last answered
      const err = await v.verify(`Bearer ${token}`).catch((e: unknown) => e);
      expect((err as HttpError).statusCode).toBe(503);
      expect(problemOf(err)).toBe('issuer-unavailable');
    });

    it('verifies again, with fresh keys, once the issuer answers', async () => {
      const { v, link } = cutOff(30 * MINUTE);
      const token = await longLived();
      await v.verify(`Bearer ${token}`);
      link.up = false;
      link.nowMs += 31 * MINUTE;
      await expect(v.verify(`Bearer ${token}`)).rejects.toMatchObject({ statusCode: 503 });
      link.up = true;
      await expect(v.verify(`Bearer ${token}`)).resolves.toMatchObject({
        claims: { sub: 'alice' },
      });
    });

    it('still refuses bad tokens with 401 while it runs on cached keys', async () => {
      const { v, link } = cutOff(24 * 60 * MINUTE);
      await v.verify(`Bearer ${await longLived()}`);
      link.up = false;
      link.nowMs += 60 * MINUTE;
      const err = await v
        .verify(`Bearer ${(await longLived()).slice(0, -4)}AAAA`)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnauthorizedError);
    });

    it('answers 503, not 401, for a key id it lacks: only the issuer can tell a rotated key', async () => {
      const { v, link } = cutOff(24 * 60 * MINUTE);
      await v.verify(`Bearer ${await longLived()}`);
      await addKey('k-offline');
      link.up = false;
      const err = await v
        .verify(`Bearer ${await sign({}, { kid: 'k-offline', exp: '3d' })}`)
        .catch((e: unknown) => e);
      expect((err as HttpError).statusCode).toBe(503);
    });

    it('a verifier started while the issuer is down verifies with the keys a cache kept, for what is left of the window', async () => {
      const cache: { saved?: FetchedKeys } = {};
      const first = cutOff(60 * MINUTE, cache);
      const token = await longLived();
      await first.v.verify(`Bearer ${token}`);
      expect(cache.saved?.jwks.keys.length).toBeGreaterThan(0);
      // The restarted process: a new verifier, the issuer unreachable, 50 minutes later.
      const second = cutOff(60 * MINUTE, cache);
      second.link.up = false;
      second.link.nowMs = first.link.nowMs + 50 * MINUTE;
      await expect(second.v.verify(`Bearer ${token}`)).resolves.toMatchObject({
        claims: { sub: 'alice' },
      });
      second.link.nowMs += 11 * MINUTE;
      await expect(second.v.verify(`Bearer ${token}`)).rejects.toMatchObject({ statusCode: 503 });
    });
  });
});
