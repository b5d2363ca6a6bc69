import { Records } from '../../../../core/records';
import { type InstanceHeartbeat, locationHeartbeat } from '../../../../core/records/heartbeats';
import type { GovernanceContext } from '../../../../functions/orchestrator/governance/job';
import { loadEnvironment } from '../../../../lib/config/load';
import { testTableClient } from '../../../support/handlers';

/** The time every governance run of these tests happens at. */
export const NOW = Date.UTC(2026, 10, 25, 12);
export const R1 = 'r-1111111111111111';
export const R2 = 'r-2222222222222222';
export const R3 = 'r-3333333333333333';

/** The shipped `dev` fleet: regions us-east-1 and eu-west-1, satellites boston and lab. */
export const DEV = loadEnvironment({ env: 'dev' });

/** Records over a table that does not exist: for jobs that must read nothing but the context. */
export const noRecords = () => new Records(testTableClient(), 'orbit-test-no-such-table');

/**
 * A governance context as `runGovernance` builds one, over `records`: heartbeats and desired
 * traffic read from them (strongly consistent), the `dev` fleet, nothing reporting, at {@link NOW}.
 */
export function governanceContext(
  records: Records,
  fields: Partial<Omit<GovernanceContext, 'records'>> = {}
): GovernanceContext {
  return {
    environment: DEV,
    records,
    reporting: [],
    autoDrainStale: false,
    nowMs: NOW,
    heartbeat: async (id) => {
      const record = await records.heartbeats.record(id);
      const report = locationHeartbeat(record);
      return report ? { record, report } : { record };
    },
    desired: (id) => records.desired.get(id, { consistent: true }),
    ...fields,
  };
}

/** One runtime process's heartbeat entry: serving {@link R1} only, every 10 s. */
export function heartbeatEntry(
  locationId: string,
  instanceId: string,
  atMs: number,
  fields: Partial<InstanceHeartbeat> = {}
): InstanceHeartbeat {
  return {
    instanceId,
    startedAt: '2026-11-25T09:00:00.000Z',
    locationId,
    atMs,
    at: new Date(atMs).toISOString(),
    intervalSeconds: 10,
    stable: R1,
    weight: 0,
    releases: {},
    totals: {},
    ...fields,
  };
}
