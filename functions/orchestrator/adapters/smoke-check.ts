import type { Environment } from '../../../core/environment/schema';
import type { SmokeResult } from '../ports';

/** One entry of `rollout.smoke`, as parsed. */
export type SmokeCheck = Environment['rollout']['smoke'][number];

/** What a smoke check got back, from a satellite's HTTP answer or a function's invocation. */
export interface SmokeAnswer {
  readonly status: number;
  /** The release that gave the answer (`x-orbit-release`); undefined when none did. */
  readonly answeredBy: string | undefined;
  /** Whether the answer is a drain's refusal (`x-orbit-drained`). */
  readonly drained: boolean;
  readonly body: string;
  /** How long the answer took, in ms. */
  readonly ms: number;
}

/** The check's name in the rollout's history: its own, else `METHOD path`. */
export const smokeCheckName = (check: SmokeCheck): string =>
  check.name ?? `${check.method} ${check.path}`;

/** A failed result, in words. */
export const smokeFailure = (check: SmokeCheck, detail: string): SmokeResult => ({
  check: smokeCheckName(check),
  ok: false,
  detail,
});

/**
 * Judges one answer against its check: it must come from the release under test, with the
 * expected status and, when the check says so, the expected JSON fields. Passes read
 * `200 in 35 ms`; failures say what was expected and what came instead.
 */
export function judgeSmokeAnswer(
  check: SmokeCheck,
  release: string,
  answer: SmokeAnswer
): SmokeResult {
  const problem = problemOf(answer.body);
  if (answer.answeredBy === undefined) {
    const why = problem ? ` ${problem.slug}${problem.detail ? `: ${problem.detail}` : ''}` : '';
    return smokeFailure(check, `answered by no release: ${answer.status}${why}`);
  }
  if (answer.answeredBy !== release) {
    return smokeFailure(check, `answered by ${answer.answeredBy}, not ${release}`);
  }
  if (answer.status !== check.expectStatus) {
    const why = answer.drained
      ? ' (drained)'
      : problem?.detail && answer.status >= 400
        ? `: ${problem.detail}`
        : '';
    return smokeFailure(check, `expected ${check.expectStatus}, got ${answer.status}${why}`);
  }
  const fields = Object.entries(check.expectJson ?? {});
  if (fields.length > 0) {
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      return smokeFailure(check, `expected a JSON body, got ${clip(answer.body) || 'none'}`);
    }
    const mismatches = fields.flatMap(([path, expected]) => {
      const got = valueAt(json, path);
      return got === expected ? [] : [`${path}: expected ${show(expected)}, got ${show(got)}`];
    });
    if (mismatches.length > 0) return smokeFailure(check, mismatches.join('; '));
  }
  return { check: smokeCheckName(check), ok: true, detail: `${answer.status} in ${answer.ms} ms` };
}

/** Why a request got no answer: its time ran out, or the error's own cause. */
export function unanswered(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `${e.name ?? 'Error'}: ${e.message ?? String(err)}${cause ? ` (${cause})` : ''}`;
}

/** A dotted path (`checks.table.ok`) into parsed JSON; undefined where it leads nowhere. */
function valueAt(json: unknown, path: string): unknown {
  let current = json;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : clip(JSON.stringify(value));
}

function clip(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A problem+json body's slug and detail, when the body is one. */
function problemOf(body: string): { slug: string; detail?: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { type?: unknown; detail?: unknown };
    if (typeof parsed.type !== 'string') return undefined;
    return {
      slug: parsed.type.replace(/^urn:orbit:problem:/, ''),
      ...(typeof parsed.detail === 'string' ? { detail: clip(parsed.detail, 200) } : {}),
    };
  } catch {
    return undefined;
  }
}
