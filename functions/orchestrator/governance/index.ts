import type { Environment } from '../../../core/environment/schema';
import type { Records } from '../../../core/records';
import type { DesiredTraffic } from '../../../core/records/desired-traffic';
import type { Finding, StoredFinding } from '../../../core/records/findings';
import { locationHeartbeat } from '../../../core/records/heartbeats';
import { keys } from '../../../core/records/keys';
import type { RegionObserver } from '../ports';
import { allowedRegions } from './allowed-regions';
import { disconnections } from './disconnections';
import { drift } from './drift';
import type { GovernanceContext, GovernanceJob, Observation } from './job';
import { publicRoutes } from './public-routes';
import { refusedReleases } from './refused-releases';
import { regionDrift } from './region-drift';
import { staleHeartbeats } from './stale-heartbeats';

export type { GovernanceJob } from './job';
export { inWords, settled } from './words';

/** Every governance job, in the order they run. */
export const GOVERNANCE_JOBS: readonly GovernanceJob[] = [
  staleHeartbeats,
  disconnections,
  drift,
  regionDrift,
  publicRoutes,
  allowedRegions,
  refusedReleases,
];

/** Options of {@link runGovernance}. */
export interface GovernanceOptions {
  readonly environment: Environment;
  readonly records: Records;
  /** Locations whose heartbeats the jobs read (satellites; every location in the local fleet). */
  readonly reporting: readonly string[];
  /** Reads what a region location's aliases actually route (AWS only). @default - region drift is not checked */
  readonly observer?: RegionObserver;
  /** Drain a location whose heartbeat went stale. @default - the environment's `governance.autoDrainStale` */
  readonly autoDrainStale?: boolean;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default GOVERNANCE_JOBS */
  readonly jobs?: readonly GovernanceJob[];
}

/** One read per location and record for all jobs of a run. */
function memo<T>(read: (id: string) => Promise<T>): (id: string) => Promise<T> {
  const seen = new Map<string, Promise<T>>();
  return (id) => {
    let value = seen.get(id);
    if (!value) {
      value = read(id);
      seen.set(id, value);
    }
    return value;
  };
}

/**
 * Runs the governance jobs over one environment ({@link GOVERNANCE_JOBS}) and keeps the
 * findings: each keeps when it was first and last seen; one no longer observed is marked
 * resolved, but only by a job that ran and speaks for its subject, and not while its subject
 * is still settling a move. Returns the open findings.
 */
export async function runGovernance(options: GovernanceOptions): Promise<Finding[]> {
  const { environment, records } = options;
  const nowMs = (options.now ?? Date.now)();
  const context: GovernanceContext = {
    environment,
    records,
    reporting: options.reporting,
    ...(options.observer ? { observer: options.observer } : {}),
    autoDrainStale: options.autoDrainStale ?? environment.governance.autoDrainStale,
    nowMs,
    heartbeat: memo(async (id) => {
      const record = await records.heartbeats.record(id);
      const report = locationHeartbeat(record);
      return report ? { record, report } : { record };
    }),
    desired: memo(
      (id): Promise<DesiredTraffic | undefined> => records.desired.get(id, { consistent: true })
    ),
  };
  const ran = (options.jobs ?? GOVERNANCE_JOBS).filter((j) => j.enabled?.(context) ?? true);
  const observed: Observation[] = [];
  const unjudged = new Set<string>();
  for (const job of ran) {
    const result = await job.run(context);
    observed.push(...result.observed);
    for (const subject of result.unjudged ?? [])
      unjudged.add(keys.finding(job.finding, subject).sk);
  }
  return keepFindings(
    records,
    observed,
    (stale) => {
      if (unjudged.has(stale.sk)) return false;
      return ran.some((j) => j.finding === stale.job && j.owns(stale.subject, context));
    },
    new Date(nowMs).toISOString()
  );
}

/**
 * Writes what was observed (keeping when each was first seen) and resolves the open findings
 * no longer observed that `judged` says were looked at; returns the open findings.
 */
async function keepFindings(
  records: Records,
  observed: readonly Observation[],
  judged: (finding: StoredFinding) => boolean,
  at: string
): Promise<Finding[]> {
  const byKey = new Map((await records.findings.all()).map((f) => [f.sk, f]));
  const open: Finding[] = [];
  for (const o of observed) {
    const sk = keys.finding(o.job, o.subject).sk;
    const before = byKey.get(sk);
    byKey.delete(sk);
    const finding: Finding = {
      ...o,
      firstSeen: before && !before.resolved ? before.firstSeen : at,
      lastSeen: at,
      resolved: false,
    };
    await records.findings.put(finding);
    open.push(finding);
  }
  for (const stale of byKey.values()) {
    if (stale.resolved) continue;
    if (!judged(stale)) {
      const { sk: _sk, pk: _pk, ...kept } = stale as StoredFinding & { pk: string };
      open.push(kept);
      continue;
    }
    await records.findings.put({ ...stale, resolved: true, resolvedAt: at });
  }
  return open;
}
