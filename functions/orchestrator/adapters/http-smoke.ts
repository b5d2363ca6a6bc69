import type { Records } from '../../../core/records';
import { RELEASE_OVERRIDE_HEADER } from '../../shared/http';
import { DRAINED_HEADER } from '../../shared/metric-contract';
import type { SmokeResult, SmokeRunner } from '../ports';
import { judgeSmokeAnswer, type SmokeCheck, smokeFailure, unanswered } from './smoke-check';

/** The header naming the release that gave an answer (the runtime's and every function's). */
export const ANSWERED_BY_HEADER = 'x-orbit-release';

/** Options of an {@link HttpSmokeRunner}. */
export interface HttpSmokeRunnerOptions {
  /** The environment's `rollout.smoke`. */
  readonly checks: readonly SmokeCheck[];
  /**
   * Where a location's runtime answers (`http://127.0.0.1:4102/`, `https://…/`); throws,
   * saying why, when the location cannot be reached (its checks then fail with that reason).
   */
  readonly urlOf: (locationId: string) => string | Promise<string>;
}

/**
 * Satellites and the local fleet: each check is one HTTP request to the location's runtime
 * with `x-orbit-target-release: <release>`, which the runtime serves from that release even
 * while it serves no traffic (loaded on demand). The answer must name that release in
 * `x-orbit-release`: one that another release gave, or none did, fails. Each request is
 * bounded by its check's `timeoutMs`.
 */
export class HttpSmokeRunner implements SmokeRunner {
  constructor(private readonly options: HttpSmokeRunnerOptions) {}

  async run(locationId: string, release: string): Promise<readonly SmokeResult[]> {
    let base: string;
    try {
      base = await this.options.urlOf(locationId);
    } catch (err) {
      return this.options.checks.map((c) => smokeFailure(c, (err as Error).message));
    }
    const results: SmokeResult[] = [];
    for (const check of this.options.checks) results.push(await this.check(base, check, release));
    return results;
  }

  private async check(base: string, check: SmokeCheck, release: string): Promise<SmokeResult> {
    const url = new URL(check.path, base);
    const signal = AbortSignal.timeout(check.timeoutMs);
    const started = performance.now();
    try {
      const res = await fetch(url, {
        method: check.method,
        headers: {
          [RELEASE_OVERRIDE_HEADER]: release,
          'user-agent': 'orbit-smoke',
          ...(check.body ? { 'content-type': 'application/json' } : {}),
        },
        ...(check.body ? { body: JSON.stringify(check.body) } : {}),
        redirect: 'manual',
        signal,
      });
      const body = await res.text();
      return judgeSmokeAnswer(check, release, {
        status: res.status,
        answeredBy: res.headers.get(ANSWERED_BY_HEADER) ?? undefined,
        drained: res.headers.get(DRAINED_HEADER) === '1',
        body,
        ms: Math.round(performance.now() - started),
      });
    } catch (err) {
      const why = unanswered(err, signal.aborted, check.timeoutMs);
      return smokeFailure(check, signal.aborted ? why : `unreachable at ${url.origin}: ${why}`);
    }
  }
}

/**
 * A satellite's URL from its registration's `apiUrl` fact (the load balancer of a Local Zone
 * or Outpost location). On-prem sites front their runtime with their own HTTPS terminator,
 * whose URL no deploy knows: such a location cannot be smoke-tested, and says so.
 */
export function registeredUrl(records: Records): (locationId: string) => Promise<string> {
  return async (locationId) => {
    const apiUrl = (await records.registrations.get(locationId))?.apiUrl;
    if (typeof apiUrl === 'string' && apiUrl.length > 0) return apiUrl;
    throw new Error(
      `no URL reaches ${locationId}: its registration names no apiUrl (on-prem sites front the runtime with their own HTTPS terminator), so the candidate cannot be checked there`
    );
  };
}
