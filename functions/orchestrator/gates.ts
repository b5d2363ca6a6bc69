import type { Environment, GateRule, Wave } from '../../core/environment/schema';
import type { Baseline, ReleaseFigures } from '../../core/records/rollouts';
import type { HealthSample } from './ports';
import { binomialUpperTail, fisherOneSided } from './statistics';

/** What a verdict was judged on: the candidate, and the stable release beside it. */
export interface GateEvidence {
  readonly candidate: ReleaseFigures;
  /** @default - no stable figures (the step sends it no traffic, or the source has none) */
  readonly stable?: ReleaseFigures;
}

/** A gate's verdict for one location at one step. */
export type GateVerdict =
  | {
      readonly verdict: 'pass';
      readonly evidence?: GateEvidence;
      /** What `dryRun` rules would have said, had they decided. */
      readonly dryRun?: readonly string[];
    }
  | {
      readonly verdict: 'wait';
      readonly why: string;
      readonly evidence?: GateEvidence;
      readonly dryRun?: readonly string[];
    }
  | {
      readonly verdict: 'breach';
      readonly why: string;
      /** The rule that decided. */
      readonly rule: GateRule;
      /** How sure the rule is, where it is a test (percent). */
      readonly confidencePercent?: number;
      readonly evidence?: GateEvidence;
      readonly dryRun?: readonly string[];
    };

/** What a gate knows about the location it judges, besides its health sample. */
export interface GateSubject {
  readonly locationId: string;
  readonly nowMs: number;
  /** Why the location is drained; a drained location is not judged. @default - not drained */
  readonly drained?: string;
  /** When the location last reported (epoch ms). @default - unknown */
  readonly lastReportMs?: number;
  /** The step's candidate share, 0..1: at 1 the stable release serves nothing to compare. @default 0.5 */
  readonly weight?: number;
}

/** A time of day in UTC, with the date when it is not today's: `19:05:12 UTC`. */
export function clockTime(ms: number, nowMs: number): string {
  const iso = new Date(ms).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(nowMs).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${iso.slice(0, 10)} `}${iso.slice(11, 19)} UTC`;
}

/** Why a location that stopped reporting has no evidence: `no heartbeat from lab since 19:05:12 UTC`. */
export function silence(
  locationId: string,
  lastReportMs: number | undefined,
  nowMs: number
): string {
  return lastReportMs === undefined
    ? `no fresh heartbeat or metrics from ${locationId}`
    : `no heartbeat from ${locationId} since ${clockTime(lastReportMs, nowMs)}`;
}

type Gates = Environment['rollout']['gates'];

/** The limits a gate judges by; without `compare` the candidate is judged on the limits alone. */
export type GateLimits = Pick<Gates, 'minRequests' | 'maxErrorRatePercent' | 'maxP99LatencyMs'> &
  Partial<Pick<Gates, 'compare' | 'dryRun'>>;

/** The gates of a wave: the environment's, with the wave's own fields over them. */
export function gatesOf(env: Environment, wave: Wave | undefined): Gates {
  const base = env.rollout.gates;
  const own = wave?.gates;
  if (!own) return base;
  return {
    ...base,
    ...Object.fromEntries(
      Object.entries(own).filter(([k, v]) => v !== undefined && k !== 'compare')
    ),
    compare: {
      ...base.compare,
      ...Object.fromEntries(Object.entries(own.compare ?? {}).filter(([, v]) => v !== undefined)),
    },
  } as Gates;
}

const rate = (errors: number, requests: number) => (requests > 0 ? (100 * errors) / requests : 0);
const figures = (requests: number, errors5xx: number, p99Ms: number): ReleaseFigures => ({
  requests,
  errors5xx,
  errorRatePercent: Math.round(rate(errors5xx, requests) * 100) / 100,
  p99Ms,
});
const pct = (x: number) => `${x.toFixed(1)}%`;
const sure = (p: number) => Math.floor((1 - p) * 1000) / 10;

/** What one rule says. */
type RuleResult =
  | { readonly says: 'breach'; readonly why: string; readonly confidencePercent?: number }
  | { readonly says: 'wait'; readonly why: string }
  | { readonly says: 'pass' };

/**
 * Judges a location's health at a step, from the candidate's (and the stable release's)
 * counts since the step began. Rules, in the order they decide:
 * - `alarm`: a firing alarm breaches;
 * - `error-rate`: above `maxErrorRatePercent` breaches only when an exact binomial test is
 *   `compare.confidencePercent` sure the true rate is above it; above it but not yet sure waits
 *   for more requests (1 error in 20 neither passes nor fails);
 * - `p99`: above `maxP99LatencyMs` breaches;
 * - `compare-errors`: the candidate erring more than the stable release in the same window, by
 *   a one-sided Fisher exact test at that confidence, breaches;
 * - `compare-latency`: the candidate's p99 above `maxP99Ratio` times stable's (and more than
 *   `minP99DifferenceMs` above it) breaches, once each p99 stands on `minLatencySamples` requests.
 * Too few candidate requests, too few stable requests to compare (unless the step gives the
 * candidate all traffic), a silent or a drained location wait. Rules named in `dryRun` are
 * reported and never decide.
 */
export function judge(
  sample: HealthSample,
  baseline: Baseline,
  gates: GateLimits,
  subject?: GateSubject
): GateVerdict {
  if (subject?.drained) return { verdict: 'wait', why: subject.drained };
  const name = (text: string) => (subject ? `${subject.locationId}: ${text}` : text);
  const requests = sample.requests - baseline.requests;
  const errors = sample.errors5xx - baseline.errors5xx;
  const stable = sample.stable
    ? {
        requests: sample.stable.requests - (baseline.stableRequests ?? 0),
        errors: sample.stable.errors5xx - (baseline.stableErrors5xx ?? 0),
        p99Ms: sample.stable.p99Ms,
        p99Requests: sample.stable.p99Requests ?? sample.stable.requests,
      }
    : undefined;
  const evidence: GateEvidence = {
    candidate: figures(requests, errors, sample.p99Ms),
    ...(stable ? { stable: figures(stable.requests, stable.errors, stable.p99Ms) } : {}),
  };
  const alpha = 1 - (gates.compare?.confidencePercent ?? 95) / 100;
  const results: [GateRule, RuleResult][] = [];

  results.push([
    'alarm',
    sample.alarmsOk ? { says: 'pass' } : { says: 'breach', why: 'an alarm is firing' },
  ]);
  if (!sample.fresh) {
    const why = subject
      ? silence(subject.locationId, subject.lastReportMs, subject.nowMs)
      : 'no fresh heartbeat';
    return decide(results, gates, { verdict: 'wait', why, evidence });
  }
  if (requests < gates.minRequests) {
    const wait: GateVerdict = {
      verdict: 'wait',
      why: name(`${requests} of ${gates.minRequests} requests served`),
      evidence,
    };
    return decide(results, gates, wait);
  }

  const errorRate = rate(errors, requests);
  if (errorRate > gates.maxErrorRatePercent) {
    const p = binomialUpperTail(errors, requests, gates.maxErrorRatePercent / 100);
    const over = `error rate ${errorRate.toFixed(1)}% over ${requests} requests (limit ${gates.maxErrorRatePercent}%)`;
    results.push([
      'error-rate',
      p < alpha
        ? { says: 'breach', why: over, confidencePercent: sure(p) }
        : { says: 'wait', why: name(`${over}, ${sure(p)}% sure: more requests decide`) },
    ]);
  } else results.push(['error-rate', { says: 'pass' }]);

  results.push([
    'p99',
    sample.p99Ms > gates.maxP99LatencyMs
      ? { says: 'breach', why: `p99 ${sample.p99Ms} ms (limit ${gates.maxP99LatencyMs} ms)` }
      : { says: 'pass' },
  ]);

  const compare = gates.compare;
  const allTraffic = (subject?.weight ?? 0.5) >= 1;
  if (compare && stable && !allTraffic) {
    if (stable.requests < compare.minStableRequests) {
      const why = name(
        `stable served ${stable.requests} of the ${compare.minStableRequests} requests to compare with`
      );
      results.push(['compare-errors', { says: 'wait', why }]);
      results.push(['compare-latency', { says: 'wait', why }]);
    } else {
      const p = fisherOneSided(errors, requests, stable.errors, stable.requests);
      results.push([
        'compare-errors',
        p < alpha
          ? {
              says: 'breach',
              why: `error rate ${pct(errorRate)} against stable's ${pct(rate(stable.errors, stable.requests))} in the same window (${requests} and ${stable.requests} requests)`,
              confidencePercent: sure(p),
            }
          : { says: 'pass' },
      ]);
      // A p99 over a handful of requests is their slowest one: compared only on enough of both.
      const enough =
        (sample.p99Requests ?? sample.requests) >= (compare.minLatencySamples ?? 200) &&
        stable.p99Requests >= (compare.minLatencySamples ?? 200);
      const slower =
        enough &&
        sample.p99Ms > stable.p99Ms * compare.maxP99Ratio &&
        sample.p99Ms - stable.p99Ms > compare.minP99DifferenceMs;
      results.push([
        'compare-latency',
        slower
          ? {
              says: 'breach',
              why: `p99 ${sample.p99Ms} ms against stable's ${stable.p99Ms} ms (at most ${compare.maxP99Ratio}×)`,
            }
          : { says: 'pass' },
      ]);
    }
  }
  return decide(results, gates, { verdict: 'pass', evidence });
}

/**
 * The verdict of the rules that decide (the first breach, else the first wait, else
 * `otherwise`), with what the `dryRun` rules said beside it.
 */
function decide(
  results: readonly [GateRule, RuleResult][],
  gates: GateLimits,
  otherwise: GateVerdict
): GateVerdict {
  const dry = new Set(gates.dryRun ?? []);
  const dryRun = results
    .filter(([rule, r]) => dry.has(rule) && r.says !== 'pass')
    .map(([rule, r]) => `${rule} would ${r.says}: ${(r as { why: string }).why}`);
  const deciding = results.filter(([rule]) => !dry.has(rule));
  const breach = deciding.find(([, r]) => r.says === 'breach');
  const extra = dryRun.length > 0 ? { dryRun } : {};
  const evidence = otherwise.evidence ? { evidence: otherwise.evidence } : {};
  if (breach) {
    const [rule, r] = breach as [GateRule, Extract<RuleResult, { says: 'breach' }>];
    return {
      verdict: 'breach',
      why: r.why,
      rule,
      ...(r.confidencePercent !== undefined ? { confidencePercent: r.confidencePercent } : {}),
      ...evidence,
      ...extra,
    };
  }
  if (otherwise.verdict === 'wait') return { ...otherwise, ...extra };
  const wait = deciding.find(([, r]) => r.says === 'wait');
  if (wait) {
    return { verdict: 'wait', why: (wait[1] as { why: string }).why, ...evidence, ...extra };
  }
  return { ...otherwise, ...extra };
}
