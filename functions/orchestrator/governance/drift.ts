import { isStale } from '../../../core/records/heartbeats';
import type { GovernanceJob, Observation } from './job';
import { inWords, reportsSince, sameSplit, settled } from './words';

/**
 * **Drift** at locations that report heartbeats: a host serving something other than the
 * location's desired traffic. Judged only once a move has had time to settle (a location
 * still settling is neither found nor cleared), and for every host still reporting whose last
 * report came after the move, not only the freshest: one host stuck on an old split is drift.
 * A silent location is the stale-heartbeats job's to find.
 */
export const drift: GovernanceJob = {
  name: 'drift',
  finding: 'drift',
  // Region locations that report no heartbeat are the region-drift job's.
  owns: (subject, context) =>
    context.reporting.includes(subject) ||
    !context.environment.locations.some((l) => l.id === subject && l.kind === 'region'),
  run: async (context) => {
    const observed: Observation[] = [];
    const unjudged: string[] = [];
    for (const id of context.reporting) {
      const [{ report: hb }, desired] = await Promise.all([
        context.heartbeat(id),
        context.desired(id),
      ]);
      if (!hb || isStale(hb, context.nowMs) || !desired) continue;
      // Judged are the hosts whose last report came after they could have applied the move:
      // a host that skipped a heartbeat or two (not yet stale) is not judged on a report
      // from before the move.
      const judged = hb.hosts.filter((h) => reportsSince(h, desired, hb.intervalSeconds));
      if (!settled(desired, hb.intervalSeconds, context.nowMs) || judged.length === 0) {
        unjudged.push(id);
        continue;
      }
      const drifted = judged.filter((h) => !sameSplit(h, desired));
      if (drifted.length > 0) {
        observed.push({
          job: 'drift',
          subject: id,
          severity: 'medium',
          message: `${drifted.map((h) => `${h.instanceId} serves ${inWords(h)}`).join('; ')}; desired ${inWords(desired)}`,
        });
      }
    }
    return { observed, unjudged };
  },
};
