import type { APIGatewayEventRequestContextJWTAuthorizer } from 'aws-lambda';
import {
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { ForbiddenError, ServiceUnavailableError, UnauthorizedError } from '../../core/errors';

/** What API Gateway's JWT authorizer hands a function, and what the runtime hands it too. */
export type JwtAuthorizerContext = APIGatewayEventRequestContextJWTAuthorizer['jwt'];

/** Props of a {@link JwtVerifier}. */
export interface JwtVerifierOptions {
  /** Must equal the token's `iss`. */
  readonly issuer: string;
  /** The token's `aud` (or `client_id` when it has no `aud`) must be one of these. */
  readonly audience: readonly string[];
  /** @default - `jwks_uri` of `<issuer>/.well-known/openid-configuration`, read once */
  readonly jwksUri?: string;
  /** Clock skew tolerated on `exp` and `nbf`, in seconds. @default 5 */
  readonly clockToleranceSeconds?: number;
  /**
   * Least time between two key fetches, so a flood of tokens with unknown key ids cannot
   * hammer the issuer; a rotated key is picked up after it.
   * @default 30000
   */
  readonly jwksCooldownMs?: number;
  /** How long fetched keys are used before they are fetched again. @default 600000 */
  readonly jwksMaxAgeMs?: number;
  /**
   * How long after the issuer last answered the keys it gave keep verifying tokens, while it
   * cannot be reached (a satellite cut off from the network); past it, tokens are 503
   * `issuer-unavailable`. @default - as long as `jwksMaxAgeMs`
   */
  readonly offlineMaxMs?: number;
  /**
   * Where fetched keys are kept across restarts (a public key set is no secret), so that a
   * runtime restarted while the issuer cannot be reached still verifies. @default - memory only
   */
  readonly keyCache?: JwksCache;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Keys as fetched, and when (epoch ms). */
export interface FetchedKeys {
  readonly jwks: JSONWebKeySet;
  readonly fetchedAtMs: number;
}

/** Where a {@link JwtVerifier} keeps the keys it fetched. */
export interface JwksCache {
  load(): FetchedKeys | undefined;
  save(keys: FetchedKeys): void;
}

/**
 * Only asymmetric signatures: API Gateway accepts nothing else, and a shared-secret (HS*)
 * key would let anyone who can verify tokens also mint them.
 */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
];

const invalid = (description: string) =>
  new UnauthorizedError(
    `the bearer token is not valid: ${description}`,
    `Bearer error="invalid_token", error_description="${description}"`
  );

/**
 * Verifies bearer tokens the way API Gateway's HTTP API JWT authorizer does, for satellites
 * and the local fleet: signature against the issuer's JWKS (fetched once, cached, refetched
 * for an unknown key id), issuer, expiry and audience. Bad tokens are 401; a good token for
 * another audience is 403 (API Gateway itself answers 401 there). An issuer that cannot be
 * reached is 503, because the token may well be fine.
 */
export class JwtVerifier {
  private jwksUri: string | undefined;
  private fetched: (FetchedKeys & { readonly resolve: JWTVerifyGetKey }) | undefined;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: JwtVerifierOptions) {
    this.now = options.now ?? Date.now;
    this.jwksUri = options.jwksUri;
    const cached = options.keyCache?.load();
    if (cached) this.use(cached);
  }

  /** Verifies `Authorization: Bearer <token>`; resolves to the authorizer context. */
  async verify(authorization: string | undefined): Promise<JwtAuthorizerContext> {
    const token = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]*)\s*$/i.exec(authorization ?? '')?.[1];
    if (!authorization) {
      throw new UnauthorizedError(
        "this route needs a bearer token from the environment's issuer",
        'Bearer'
      );
    }
    if (!token) throw invalid('the Authorization header is not a bearer token');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header, t) => this.key(header, t), {
        issuer: this.options.issuer,
        algorithms: ALGORITHMS,
        clockTolerance: this.options.clockToleranceSeconds ?? 5,
      }));
    } catch (err) {
      throw this.translate(err);
    }
    const audiences = payload.aud === undefined ? [payload.client_id] : [payload.aud].flat();
    if (!audiences.some((a) => typeof a === 'string' && this.options.audience.includes(a))) {
      throw new ForbiddenError(
        'the bearer token was issued for another audience',
        'Bearer error="invalid_token", error_description="the token does not have a valid audience"'
      );
    }
    const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : payload.scp;
    return {
      claims: payload as JwtAuthorizerContext['claims'],
      scopes: Array.isArray(scope) ? (scope as string[]) : null,
    };
  }

  /**
   * The key a token names. Keys are fetched at the first token and again once `jwksMaxAgeMs`
   * old, or for a key id they lack (at most once per cooldown, so a flood of unknown ids cannot
   * hammer the issuer). While the issuer cannot be reached, the keys it last gave keep
   * verifying for `offlineMaxMs` after it last answered; then, or with no keys yet, 503.
   */
  private async key(...args: Parameters<JWTVerifyGetKey>) {
    const maxAgeMs = this.options.jwksMaxAgeMs ?? 600_000;
    const offlineMaxMs = Math.max(maxAgeMs, this.options.offlineMaxMs ?? maxAgeMs);
    const age = () => (this.fetched ? this.now() - this.fetched.fetchedAtMs : Infinity);
    if (age() >= maxAgeMs)
      await this.refresh().catch((err) => this.unlessCached(err, offlineMaxMs));
    if (age() > offlineMaxMs) throw unavailable(new Error('the cached keys are too old'));
    const fetched = this.fetched as NonNullable<typeof this.fetched>;
    try {
      return await fetched.resolve(...args);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      // A rotated key: only the issuer can tell; unreachable, it might well be fine.
      await this.refresh();
      if (this.fetched === fetched) throw err;
      return (this.fetched as NonNullable<typeof this.fetched>).resolve(...args);
    }
  }

  /** Keeps serving from the cache while it is young enough; otherwise the issuer is missing. */
  private unlessCached(err: unknown, offlineMaxMs: number): void {
    if (!this.fetched || this.now() - this.fetched.fetchedAtMs > offlineMaxMs) throw err;
  }

  /** Fetches the keys again, once at a time and at most once per cooldown. */
  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (this.now() - this.lastAttemptMs < (this.options.jwksCooldownMs ?? 30_000)) {
      return this.fetched
        ? Promise.resolve()
        : Promise.reject(unavailable(new Error('the last attempt to fetch the keys failed')));
    }
    this.lastAttemptMs = this.now();
    this.refreshing = this.fetchKeys()
      .then((keys) => {
        this.use(keys);
        this.options.keyCache?.save(keys);
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private use(keys: FetchedKeys): void {
    this.fetched = { ...keys, resolve: createLocalJWKSet(keys.jwks) };
  }

  private async fetchKeys(): Promise<FetchedKeys> {
    try {
      if (!this.jwksUri) {
        const discovery = `${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
        const res = await fetch(discovery, { signal: AbortSignal.timeout(5_000) });
        if (!res.ok) throw new Error(`${discovery} answered ${res.status}`);
        const uri = ((await res.json()) as { jwks_uri?: string }).jwks_uri;
        if (!uri) throw new Error(`${discovery} names no jwks_uri`);
        this.jwksUri = uri;
      }
      const res = await fetch(this.jwksUri, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`${this.jwksUri} answered ${res.status}`);
      const jwks = (await res.json()) as JSONWebKeySet;
      if (!Array.isArray(jwks?.keys)) throw new Error(`${this.jwksUri} holds no key set`);
      return { jwks, fetchedAtMs: this.now() };
    } catch (err) {
      throw unavailable(err);
    }
  }

  private translate(err: unknown): Error {
    if (err instanceof errors.JWTExpired) return invalid('the token has expired');
    if (err instanceof errors.JWTClaimValidationFailed) {
      return invalid(
        err.claim === 'nbf' ? 'the token is not valid yet' : `the ${err.claim} claim is not valid`
      );
    }
    if (err instanceof errors.JWKSNoMatchingKey)
      return invalid('the token is signed with an unknown key');
    if (err instanceof errors.JWSSignatureVerificationFailed)
      return invalid('the signature is not valid');
    if (err instanceof errors.JOSEAlgNotAllowed)
      return invalid('the signing algorithm is not allowed');
    if (err instanceof errors.JWKSTimeout || (err as Error)?.name === 'TypeError')
      return unavailable(err);
    if (err instanceof errors.JOSEError) return invalid('the token is malformed');
    return unavailable(err);
  }
}

function unavailable(err: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'issuer-unavailable',
    'the token issuer cannot be reached to check the token; retry later',
    5,
    { cause: err }
  );
}
