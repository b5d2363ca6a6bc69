import type { Environment } from '../../core/environment/schema';
import type { Baseline } from '../../core/records/rollouts';
import type { HealthSample } from './ports';

/** A gate's verdict for one location at one step. */
export type GateVerdict =
  | { readonly verdict: 'pass' }
  | { readonly verdict: 'wait'; readonly why: string }
  | { readonly verdict: 'breach'; readonly why: string };

/** What a gate knows about the location it judges, besides its health sample. */
export interface GateSubject {
  readonly locationId: string;
  readonly nowMs: number;
  /** Why the location is drained; a drained location is not judged. @default - not drained */
  readonly drained?: string;
  /** When the location last reported (epoch ms). @default - unknown */
  readonly lastReportMs?: number;
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

/** The limits a gate judges by. */
export type GateLimits = Pick<
  Environment['rollout']['gates'],
  'minRequests' | 'maxErrorRatePercent' | 'maxP99LatencyMs'
>;

/**
 * Judges a location's health for the candidate since the step began: a firing alarm, an
 * error rate or a p99 above the limits is a breach; too few requests, a location that
 * stopped reporting, or a drained one (its refusals are no evidence either way), is not yet
 * a pass. With a `subject`, a wait's `why` names the location.
 */
export function judge(
  sample: HealthSample,
  baseline: Baseline,
  gates: GateLimits,
  subject?: GateSubject
): GateVerdict {
  if (subject?.drained) return { verdict: 'wait', why: subject.drained };
  if (!sample.alarmsOk) return { verdict: 'breach', why: 'an alarm is firing' };
  if (!sample.fresh) {
    return {
      verdict: 'wait',
      why: subject
        ? silence(subject.locationId, subject.lastReportMs, subject.nowMs)
        : 'no fresh heartbeat',
    };
  }
  const requests = sample.requests - baseline.requests;
  const errors = sample.errors5xx - baseline.errors5xx;
  if (requests < gates.minRequests) {
    const served = `${requests} of ${gates.minRequests} requests served`;
    return { verdict: 'wait', why: subject ? `${subject.locationId}: ${served}` : served };
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
