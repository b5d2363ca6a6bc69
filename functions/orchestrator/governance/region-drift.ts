import type { GovernanceContext, GovernanceJob, Observation } from './job';
import { inWords } from './words';

const unreported = (context: GovernanceContext) =>
  context.environment.locations.filter(
    (l) => l.kind === 'region' && !context.reporting.includes(l.id)
  );

/**
 * **Drift** at region locations: what their `live` aliases actually route (read back from
 * Lambda) against their desired traffic. Runs only where a region observer is wired (AWS);
 * without one, region drift found earlier stays open rather than being cleared unseen.
 */
export const regionDrift: GovernanceJob = {
  name: 'region-drift',
  finding: 'drift',
  enabled: (context) => context.observer !== undefined,
  owns: (subject, context) => unreported(context).some((l) => l.id === subject),
  run: async (context) => {
    const observed: Observation[] = [];
    const observer = context.observer;
    if (!observer) return { observed };
    for (const location of context.environment.locations.filter((l) => l.kind === 'region')) {
      const desired = await context.desired(location.id);
      if (!desired) continue;
      const actual = await observer.observe(location.id, desired);
      const expectedWeight = desired.candidate ? Number(desired.weight) : 0;
      if (actual.unknown.length > 0 || Math.abs(actual.weight - expectedWeight) > 1e-9) {
        observed.push({
          job: 'drift',
          subject: location.id,
          severity: 'high',
          message:
            actual.unknown.length > 0
              ? `aliases route versions of no desired release: ${actual.unknown.join(', ')}`
              : `serves ${inWords(actual)}; desired ${inWords(desired)}`,
        });
      }
    }
    return { observed };
  },
};
