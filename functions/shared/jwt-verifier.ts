import type { APIGatewayEventRequestContextJWTAuthorizer } from 'aws-lambda';
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
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
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(private readonly options: JwtVerifierOptions) {}

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
      ({ payload } = await jwtVerify(token, await this.keys(), {
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

  private async keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    let uri = this.options.jwksUri;
    if (!uri) {
      const discovery = `${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      try {
        const res = await fetch(discovery, { signal: AbortSignal.timeout(5_000) });
        if (!res.ok) throw new Error(`${discovery} answered ${res.status}`);
        uri = ((await res.json()) as { jwks_uri?: string }).jwks_uri;
        if (!uri) throw new Error(`${discovery} names no jwks_uri`);
      } catch (err) {
        throw unavailable(err);
      }
    }
    this.jwks = createRemoteJWKSet(new URL(uri), {
      cooldownDuration: this.options.jwksCooldownMs ?? 30_000,
      cacheMaxAge: 600_000,
    });
    return this.jwks;
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
