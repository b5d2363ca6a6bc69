import { isStale } from '../../../core/records/heartbeats';
import type { GovernanceJob, Observation } from './job';

/**
 * **Stale heartbeats**: a location silent for three intervals (or that never reported) is
 * found; with `governance.autoDrainStale` it is drained too. On the way, heartbeat entries of
 * runtime processes long gone are folded into the location's retired entry.
 */
export const staleHeartbeats: GovernanceJob = {
  name: 'stale-heartbeats',
  finding: 'stale-heartbeat',
  owns: () => true,
  run: async (context) => {
    const observed: Observation[] = [];
    for (const id of context.reporting) {
      const { record, report: hb } = await context.heartbeat(id);
      await context.records.heartbeats.foldGone(id, record, context.nowMs);
      if (hb && !isStale(hb, context.nowMs)) continue;
      if (hb && context.autoDrainStale) {
        await context.records.drains.set({
          location: id,
          drained: true,
          reason: `stale heartbeat (last ${hb.at})`,
          by: 'governance',
          at: new Date(context.nowMs).toISOString(),
        });
      }
      observed.push({
        job: 'stale-heartbeat',
        subject: id,
        severity: 'high',
        message: hb ? `no heartbeat since ${hb.at}` : 'never reported',
      });
    }
    return { observed };
  },
};
