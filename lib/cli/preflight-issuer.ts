import type { CheckOutcome } from './preflight-checks';

/**
 * What API Gateway's HTTP API JWT authorizer allows its issuer ("Quotas for configuring and
 * running an HTTP API in API Gateway"): 1,500 ms for the OpenID Connect discovery endpoint and
 * for the JWKS endpoint, and at most 150,000 bytes of JWKS.
 */
export const AUTHORIZER_LIMITS = {
  discoveryTimeoutMs: 1_500,
  jwksTimeoutMs: 1_500,
  jwksMaxBytes: 150_000,
} as const;

/** Fetching from here is not fetching from AWS; past this share of a limit, warn. */
const CLOSE_TO_LIMIT = 2 / 3;

/** Options of {@link checkIssuer}. */
export interface IssuerCheckOptions {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Aborts the whole check (the runner's own timeout). */
  readonly signal?: AbortSignal;
}

/** The issuer's answer was not usable: what to say, and what to do. */
class IssuerProblem extends Error {
  readonly fix: string;

  constructor(message: string, fix: string) {
    super(message);
    this.name = 'IssuerProblem';
    this.fix = fix;
  }
}

interface Fetched {
  readonly body: Uint8Array;
  readonly ms: number;
}

/** The discovery document's address: `<issuer>/.well-known/openid-configuration` (OIDC Discovery 1.0 §4). */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** GETs `url` within `timeoutMs`, reading at most `maxBytes` + 1 bytes of body. */
async function get(
  what: string,
  url: string,
  timeoutMs: number,
  maxBytes: number,
  options: IssuerCheckOptions
): Promise<Fetched> {
  const started = performance.now();
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  const tooSlow = () =>
    new IssuerProblem(
      `${what} (${url}) did not answer within ${timeoutMs.toLocaleString('en-US')} ms, API Gateway's limit`,
      `serve ${what} faster, e.g. from a CDN in front of the issuer`
    );
  try {
    const res = await (options.fetch ?? fetch)(url, {
      signal: AbortSignal.any(signals),
      headers: { accept: 'application/json' },
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new IssuerProblem(
        `${what} (${url}) answered HTTP ${res.status}`,
        `make ${url} answer 200 with JSON`
      );
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        break;
      }
    }
    return { body: Buffer.concat(chunks), ms: Math.round(performance.now() - started) };
  } catch (err) {
    if (err instanceof IssuerProblem) throw err;
    if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') {
      throw tooSlow();
    }
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    throw new IssuerProblem(
      `${what} (${url}) is unreachable (${cause?.code ?? cause?.message ?? (err as Error).message})`,
      `check the issuer URL (auth.issuer), and that ${new URL(url).host} is reachable from the internet`
    );
  }
}

function json(what: string, fetched: Fetched): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(fetched.body).toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Said below.
  }
  throw new IssuerProblem(`${what} is not a JSON object`, `serve ${what} as JSON`);
}

/**
 * Fetches the issuer's discovery document and its JWKS as API Gateway's JWT authorizer does,
 * and holds them to the authorizer's limits: each within 1,500 ms, the JWKS at most 150,000
 * bytes, and the document's `issuer` exactly the configured one (the authorizer accepts only
 * tokens whose `iss` is the configured issuer).
 */
export async function checkIssuer(
  issuer: string,
  options: IssuerCheckOptions = {}
): Promise<CheckOutcome> {
  const limits = AUTHORIZER_LIMITS;
  try {
    const discoveryUrl = discoveryUrlOf(issuer);
    const discovery = await get(
      'the discovery document',
      discoveryUrl,
      limits.discoveryTimeoutMs,
      limits.jwksMaxBytes,
      options
    );
    const doc = json('the discovery document', discovery);
    if (doc.issuer !== issuer) {
      throw new IssuerProblem(
        `the discovery document names issuer ${JSON.stringify(doc.issuer)}, not the configured '${issuer}'; tokens would fail the authorizer's iss check`,
        `set auth.issuer to exactly the iss its tokens carry${typeof doc.issuer === 'string' ? ` ('${doc.issuer}')` : ''}`
      );
    }
    if (typeof doc.jwks_uri !== 'string') {
      throw new IssuerProblem(
        'the discovery document has no jwks_uri',
        `publish jwks_uri in ${discoveryUrl}`
      );
    }
    const jwks = await get(
      'the JWKS',
      doc.jwks_uri,
      limits.jwksTimeoutMs,
      limits.jwksMaxBytes,
      options
    );
    if (jwks.body.byteLength > limits.jwksMaxBytes) {
      throw new IssuerProblem(
        `the JWKS (${doc.jwks_uri}) is larger than ${limits.jwksMaxBytes.toLocaleString('en-US')} bytes, API Gateway's limit`,
        'publish fewer keys: drop retired ones from the JWKS'
      );
    }
    const keys = json('the JWKS', jwks).keys;
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new IssuerProblem(
        'the JWKS holds no keys',
        `publish the signing keys at ${doc.jwks_uri}`
      );
    }
    // HTTP APIs' JWT authorizer verifies only RSA-based algorithms, by the token's `kid`
    // ("Control access to HTTP APIs with JWT authorizers", API Gateway developer guide).
    const rsa = keys.filter(
      (k: { kty?: unknown; kid?: unknown; use?: unknown }) =>
        k?.kty === 'RSA' && typeof k.kid === 'string' && (k.use === undefined || k.use === 'sig')
    );
    if (rsa.length === 0) {
      throw new IssuerProblem(
        'the JWKS holds no RSA signing key with a kid, the only kind the HTTP API JWT authorizer verifies',
        `sign tokens with RS256 (or RS384, RS512) and publish the key with its kid at ${doc.jwks_uri}`
      );
    }
    const figures = `${issuer}: discovery ${discovery.ms} ms, JWKS ${jwks.ms} ms and ${jwks.body.byteLength.toLocaleString('en-US')} bytes (limits ${limits.jwksTimeoutMs.toLocaleString('en-US')} ms, ${limits.jwksMaxBytes.toLocaleString('en-US')} bytes)`;
    const slowest = Math.max(discovery.ms, jwks.ms);
    return slowest > limits.discoveryTimeoutMs * CLOSE_TO_LIMIT
      ? {
          status: 'warn',
          message: `${figures}: close to the limit (measured from here, not from AWS)`,
          fix: 'serve the discovery document and the JWKS faster, e.g. from a CDN',
        }
      : { status: 'ok', message: figures };
  } catch (err) {
    if (!(err instanceof IssuerProblem)) throw err;
    return { status: 'fail', message: err.message, fix: err.fix };
  }
}
