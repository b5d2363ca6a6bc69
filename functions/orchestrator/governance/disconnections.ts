import { heartbeatEntries, RETIRED_ENTRY } from '../../../core/records/heartbeats';
import type { GovernanceJob, Observation } from './job';

const minutesBetween = (from: string, to: string) =>
  Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 60_000));

/**
 * **Disconnections**: a satellite that was cut off from its table says so in its heartbeats
 * once it reaches the table again (for an hour): from when to when, while it kept serving its
 * split. Found as a medium finding, resolved when the heartbeats stop reporting it. While the
 * link is still down no heartbeat arrives at all: that is the stale-heartbeat job's finding.
 */
export const disconnections: GovernanceJob = {
  name: 'disconnections',
  finding: 'disconnected',
  owns: () => true,
  run: async (context) => {
    const observed: Observation[] = [];
    for (const id of context.reporting) {
      const { record } = await context.heartbeat(id);
      const ended = heartbeatEntries(record)
        .filter((e) => e.instanceId !== RETIRED_ENTRY && e.disconnection?.until)
        .map((e) => ({
          host: e.instanceId,
          ...(e.disconnection as { since: string; until: string }),
        }));
      if (ended.length === 0) continue;
      const longest = ended.reduce((a, b) =>
        minutesBetween(b.since, b.until) > minutesBetween(a.since, a.until) ? b : a
      );
      observed.push({
        job: 'disconnected',
        subject: id,
        severity: 'medium',
        message:
          `cut off from its table from ${longest.since} to ${longest.until} ` +
          `(${minutesBetween(longest.since, longest.until)} min${ended.length > 1 ? `, ${ended.length} hosts` : ''}); ` +
          'it served its split meanwhile and has delivered the heartbeats it kept',
      });
    }
    return { observed };
  },
};
