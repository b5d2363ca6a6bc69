import { isStale } from '../../../core/records/heartbeats';
import type { GovernanceJob, Observation } from './job';

/**
 * **Stale heartbeats**: a location silent for three intervals (or that never reported) is
 * found; with `governance.autoDrainStale` it is drained too. On the way, heartbeat entries of
 * runtime processes long gone are folded into the location's retired entry.
 */
/** When a satellite silent since `at` stops verifying tokens, if the issuer is cut off too. */
const offlineUntil = (at: string, offlineMaxMinutes: number) =>
  new Date(Date.parse(at) + offlineMaxMinutes * 60_000).toISOString();

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
        message: hb
          ? `no heartbeat since ${hb.at}: down, or cut off from its table (a satellite cut off serves its split; its jwt routes until ${offlineUntil(hb.at, context.environment.satellite.offlineMaxMinutes)} at the latest)`
          : 'never reported',
      });
    }
    return { observed };
  },
};
