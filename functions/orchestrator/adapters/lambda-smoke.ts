import { randomUUID } from 'node:crypto';
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { ReleaseManifest } from '../../../core/manifest';
import type { StagedFunctions, StagedRelease } from '../../../core/records/staged-releases';
import { fromResult, toEvent } from '../../shared/http-event';
import { DRAINED_HEADER } from '../../shared/metric-contract';
import { type ReleaseRoute, RouteTable, routeKeyOf } from '../../shared/route-table';
import type { SmokeResult, SmokeRunner } from '../ports';
import { type AwsAdapterOptions, createLambdaClient, perRegion } from './aws-clients';
import { ANSWERED_BY_HEADER } from './http-smoke';
import { judgeSmokeAnswer, type SmokeCheck, smokeFailure, unanswered } from './smoke-check';

/** Options of a {@link LambdaSmokeRunner}. */
export interface LambdaSmokeRunnerOptions extends AwsAdapterOptions {
  /** The environment's `rollout.smoke`. */
  readonly checks: readonly SmokeCheck[];
}

/** Which function of a staged release serves a request, and the event's route fields. */
interface Target {
  readonly functionName: string;
  readonly routeKey: string;
  readonly pathParameters?: Record<string, string>;
}

/**
 * Region locations: each check invokes the function version the release staged there
 * (`Qualifier: <version>`, never the `live` alias, so no user request is involved) with the
 * API Gateway HTTP API payload 2.0 event API Gateway would send for the check's method and
 * path, and judges the result it returns. The function is the one the release's route
 * table (its staged manifest) names for the path, or its fallback function (404, 405), as
 * API Gateway routes. A function error (a crash, a timeout) fails the check with its
 * message; so does an answer from another version. Each invocation is bounded by its
 * check's `timeoutMs`. Checks carry no token: `jwt` routes answer 401, as at a satellite.
 */
export class LambdaSmokeRunner implements SmokeRunner {
  private readonly lambdaFor: (region: string) => LambdaClient;

  constructor(private readonly options: LambdaSmokeRunnerOptions) {
    this.lambdaFor = options.lambdaFor ?? perRegion((region) => createLambdaClient(region));
  }

  async run(locationId: string, release: string): Promise<readonly SmokeResult[]> {
    const { checks, records } = this.options;
    const staged = await records.stagedReleases.get(locationId, release, { consistent: true });
    if (!staged?.functions) {
      return checks.map((c) =>
        smokeFailure(c, `release ${release} is not staged at ${locationId}`)
      );
    }
    const route = router(staged);
    const lambda = this.lambdaFor(this.options.regionOf(locationId));
    const results: SmokeResult[] = [];
    for (const check of checks) {
      results.push(await this.check(lambda, staged.functions, route, check, release));
    }
    return results;
  }

  private async check(
    lambda: LambdaClient,
    functions: StagedFunctions,
    route: (method: string, path: string) => Target | undefined,
    check: SmokeCheck,
    release: string
  ): Promise<SmokeResult> {
    const target = route(check.method, check.path.split('?')[0] as string);
    const fn = target ? functions[target.functionName] : undefined;
    if (!target || !fn) {
      return smokeFailure(check, `no function of ${release} serves ${check.method} ${check.path}`);
    }
    const requestId = randomUUID();
    const event = toEvent({
      method: check.method,
      url: check.path,
      headers: {
        'user-agent': 'orbit-smoke',
        ...(check.body ? { 'content-type': 'application/json' } : {}),
      },
      body: Buffer.from(check.body ? JSON.stringify(check.body) : ''),
      sourceIp: '',
      requestId,
      routeKey: target.routeKey,
      ...(target.pathParameters ? { pathParameters: target.pathParameters } : {}),
      domainName: 'orbit-smoke',
      now: new Date(),
    });
    const signal = AbortSignal.timeout(check.timeoutMs);
    const started = performance.now();
    let out: InvokeCommandOutput;
    try {
      const invoke = new InvokeCommand({
        FunctionName: fn.functionName,
        Qualifier: fn.version,
        Payload: JSON.stringify(event),
      });
      // The signal cancels the request; the race bounds the wait whatever the client does.
      out = await Promise.race([lambda.send(invoke, { abortSignal: signal }), aborted(signal)]);
    } catch (err) {
      const why = unanswered(err, signal.aborted, check.timeoutMs);
      return smokeFailure(
        check,
        signal.aborted ? why : `invoking ${fn.functionName}:${fn.version} failed: ${why}`
      );
    }
    const ms = Math.round(performance.now() - started);
    const payload = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      return smokeFailure(
        check,
        `${fn.functionName}:${fn.version} failed (${out.FunctionError}): ${functionErrorOf(payload)}`
      );
    }
    if (out.ExecutedVersion !== undefined && out.ExecutedVersion !== fn.version) {
      return smokeFailure(
        check,
        `answered by version ${out.ExecutedVersion} of ${fn.functionName}, not ${fn.version}`
      );
    }
    let parsed: unknown;
    try {
      parsed = payload ? JSON.parse(payload) : null;
    } catch {
      parsed = payload;
    }
    const response = fromResult(parsed as APIGatewayProxyResultV2);
    const header = (name: string) => {
      const value = response.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    return judgeSmokeAnswer(check, release, {
      status: response.status,
      // The version ran (Lambda says so); a bundle that names no release is still its.
      answeredBy: header(ANSWERED_BY_HEADER) ?? release,
      drained: header(DRAINED_HEADER) === '1',
      body: response.body.toString('utf8'),
      ms,
    });
  }
}

/**
 * Routes as API Gateway does for the staged release: by its manifest's route table, else to
 * its fallback function. A record staged without a manifest (an older deploy) is routed by
 * the path's first segment, the name of the function serving it by convention.
 */
function router(staged: StagedRelease): (method: string, path: string) => Target | undefined {
  const manifest = parseManifest(staged.manifest);
  if (!manifest) {
    return (_, path) => {
      const [first = ''] = path.split('/').filter((s) => s.length > 0);
      return first ? { functionName: first, routeKey: '$default' } : undefined;
    };
  }
  const routes: ReleaseRoute[] = manifest.functions.flatMap((fn) =>
    fn.routes.map((r) => ({ ...r, functionName: fn.name }))
  );
  const table = new RouteTable(routes);
  const fallback = manifest.functions.find((fn) => fn.fallback)?.name;
  return (method, path) => {
    const match = table.match(method, path);
    if (match.kind === 'route') {
      return {
        functionName: match.route.functionName,
        routeKey: routeKeyOf(match.route),
        pathParameters: match.pathParameters,
      };
    }
    return fallback ? { functionName: fallback, routeKey: '$default' } : undefined;
  };
}

function parseManifest(raw: string | undefined): ReleaseManifest | undefined {
  if (!raw) return undefined;
  try {
    const manifest = JSON.parse(raw) as ReleaseManifest;
    return Array.isArray(manifest.functions) ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** Rejects when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** A function error's payload (`errorType`, `errorMessage`), in words. */
function functionErrorOf(payload: string): string {
  try {
    const e = JSON.parse(payload) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof e.errorType === 'string' ? `${e.errorType}: ` : '';
    if (typeof e.errorMessage === 'string') return `${type}${e.errorMessage}`;
  } catch {
    // Not JSON: say what it was.
  }
  return payload.slice(0, 200) || 'no message';
}
