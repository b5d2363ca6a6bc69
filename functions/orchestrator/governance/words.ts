import type { DesiredTraffic, TrafficSplit } from '../../../core/records/desired-traffic';

/** The candidate a split gives traffic to, if any (a candidate at weight 0 serves nothing). */
const servedCandidate = (x: TrafficSplit) =>
  x.candidate && Number(x.weight) > 0 ? { candidate: x.candidate, weight: Number(x.weight) } : {};

/** Whether two splits serve the same: a candidate without weight is no candidate. */
export function sameSplit(a: TrafficSplit, b: TrafficSplit): boolean {
  const [ca, cb] = [servedCandidate(a), servedCandidate(b)];
  return a.stable === b.stable && ca.candidate === cb.candidate && ca.weight === cb.weight;
}

/** A split in words: `r-a only`, `r-a with 25% to r-b`. */
export function inWords(x: TrafficSplit): string {
  const { candidate, weight } = servedCandidate(x);
  if (!candidate || weight === undefined) return `${x.stable} only`;
  return `${x.stable} with ${Math.round(weight * 1000) / 10}% to ${candidate}`;
}

/**
 * Whether a location has had time to apply its desired traffic: one pull interval to read
 * it, one heartbeat interval to report it. A record without a time (a region's adopted first
 * release) is settled.
 */
export function settled(
  desired: Pick<DesiredTraffic, 'updatedAt'>,
  intervalSeconds: number,
  nowMs: number
): boolean {
  const at = Date.parse(desired.updatedAt);
  return Number.isNaN(at) || nowMs - at >= 2 * intervalSeconds * 1000;
}

/**
 * Whether a host's report can show a move: written at least one pull interval after the
 * desired traffic changed (the host pulls once per interval, from its data region's replica,
 * and reports what it applied). A record without a time (a region's adopted first release)
 * is settled for every report.
 */
export function reportsSince(
  host: { readonly atMs: number },
  desired: Pick<DesiredTraffic, 'updatedAt'>,
  intervalSeconds: number
): boolean {
  const at = Date.parse(desired.updatedAt);
  return Number.isNaN(at) || host.atMs - at >= intervalSeconds * 1000;
}
