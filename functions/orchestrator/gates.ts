import type { Environment } from '../../lib/config/schema';
import type { Baseline } from './model';
import type { HealthSample } from './ports';

/** A gate's verdict for one location at one step. */
export type GateVerdict =
  | { readonly verdict: 'pass' }
  | { readonly verdict: 'wait'; readonly why: string }
  | { readonly verdict: 'breach'; readonly why: string };

/**
 * Judges a location's health for the candidate since the step began: a firing alarm, an
 * error rate or a p99 above the limits is a breach; too few requests, or a location that
 * stopped reporting, is not yet a pass.
 */
export function judge(
  sample: HealthSample,
  baseline: Baseline,
  gates: Environment['rollout']['gates']
): GateVerdict {
  if (!sample.alarmsOk) return { verdict: 'breach', why: 'an alarm is firing' };
  if (!sample.fresh) return { verdict: 'wait', why: 'no fresh heartbeat' };
  const requests = sample.requests - baseline.requests;
  const errors = sample.errors5xx - baseline.errors5xx;
  if (requests < gates.minRequests) {
    return { verdict: 'wait', why: `${requests} of ${gates.minRequests} requests served` };
  }
  const errorRate = (100 * errors) / requests;
  if (errorRate > gates.maxErrorRatePercent) {
    return {
      verdict: 'breach',
      why: `error rate ${errorRate.toFixed(1)}% over ${requests} requests (limit ${gates.maxErrorRatePercent}%)`,
    };
  }
  if (sample.p99Ms > gates.maxP99LatencyMs) {
    return { verdict: 'breach', why: `p99 ${sample.p99Ms} ms (limit ${gates.maxP99LatencyMs} ms)` };
  }
  return { verdict: 'pass' };
}
