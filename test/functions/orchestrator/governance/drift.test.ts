import { Records } from '../../../../core/records';
import type { TrafficSplit } from '../../../../core/records/desired-traffic';
import type { InstanceHeartbeat } from '../../../../core/records/heartbeats';
import { drift } from '../../../../functions/orchestrator/governance/drift';
import { testTableClient } from '../../../support/handlers';
import { createTestTable } from '../../../support/table';
import { governanceContext, heartbeatEntry, NOW, R1, R2 } from './context';

describe('drift job', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const MOVE: TrafficSplit = { stable: R1, candidate: R2, weight: 0.25 };
  /** `id` was moved to `desired` `agoMs` ago. */
  const desire = (id: string, desired: TrafficSplit, agoMs: number) =>
    records.desired.put(id, desired, NOW - agoMs);
  /** A host of `id` reported a second ago, serving what `fields` say (R1 only by default). */
  const report = (id: string, host: string, fields: Partial<InstanceHeartbeat> = {}) =>
    records.heartbeats.write(heartbeatEntry(id, host, NOW - 1_000, fields));
  /** Every test reports its own locations, so that runs do not meet. */
  const run = (...reporting: string[]) => drift.run(governanceContext(records, { reporting }));

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  it.each([
    ['a second', 1_000],
    ['just under one pull and one heartbeat interval', 19_999],
  ])('leaves a location moved %s ago unjudged, observing nothing', async (_, agoMs) => {
    const id = `settling-${agoMs}`;
    await desire(id, MOVE, agoMs);
    await report(id, 'host-1');
    expect(await run(id)).toEqual({ observed: [], unjudged: [id] });
  });

  it('judges a move once it had one pull and one heartbeat interval to settle', async () => {
    await desire('settled', MOVE, 20_000);
    await report('settled', 'host-1');
    expect(await run('settled')).toEqual({
      observed: [
        {
          job: 'drift',
          subject: 'settled',
          severity: 'medium',
          message: `host-1 serves ${R1} only; desired ${R1} with 25% to ${R2}`,
        },
      ],
      unjudged: [],
    });
  });

  // A host that skipped a heartbeat or two is not stale yet; its last report predates the move.
  it('does not judge a host on a report written before it could have applied the move', async () => {
    await desire('behind', MOVE, 25_000);
    await records.heartbeats.write(heartbeatEntry('behind', 'host-1', NOW - 28_000));
    expect(await run('behind')).toEqual({ observed: [], unjudged: ['behind'] });
  });

  it('judges only the hosts that reported since the move: a fresh one that drifts, not a late one', async () => {
    await desire('late-host', MOVE, 25_000);
    await records.heartbeats.write(heartbeatEntry('late-host', 'host-late', NOW - 20_000));
    await report('late-host', 'host-fresh');
    const { observed } = await run('late-host');
    expect(observed.map((o) => o.message)).toEqual([
      `host-fresh serves ${R1} only; desired ${R1} with 25% to ${R2}`,
    ]);
  });

  it('names the one host of two that serves another split, both splits in words', async () => {
    await desire('two-hosts', MOVE, 60_000);
    await report('two-hosts', 'host-a', { candidate: R2, weight: 0.25 });
    await report('two-hosts', 'host-b');
    expect(await run('two-hosts')).toEqual({
      observed: [
        {
          job: 'drift',
          subject: 'two-hosts',
          severity: 'medium',
          message: `host-b serves ${R1} only; desired ${R1} with 25% to ${R2}`,
        },
      ],
      unjudged: [],
    });
  });

  it('finds nothing where every host serves the desired split', async () => {
    await desire('aligned', MOVE, 60_000);
    await report('aligned', 'host-a', { candidate: R2, weight: 0.25 });
    await report('aligned', 'host-b', { candidate: R2, weight: 0.25 });
    expect(await run('aligned')).toEqual({ observed: [], unjudged: [] });
  });

  it('takes a host that reports a candidate at weight 0 as serving the stable release only', async () => {
    await desire('no-candidate', { stable: R1, weight: 0 }, 60_000);
    await report('no-candidate', 'host-1', { candidate: R2, weight: 0 });
    expect(await run('no-candidate')).toEqual({ observed: [], unjudged: [] });
  });

  it.each([
    [
      'whose heartbeat went stale',
      'stale',
      async (id: string) => {
        await desire(id, MOVE, 1_000);
        await records.heartbeats.write(heartbeatEntry(id, 'host-1', NOW - 60_000));
      },
    ],
    ['that never reported', 'silent', (id: string) => desire(id, MOVE, 60_000)],
    ['that has no desired traffic', 'undesired', (id: string) => report(id, 'host-1')],
  ])('neither observes nor leaves unjudged a location %s', async (_, id, arrange) => {
    await arrange(id);
    expect(await run(id)).toEqual({ observed: [], unjudged: [] });
  });

  it.each([
    ['a satellite that reports', 'boston', ['boston', 'lab']],
    ['a satellite that does not report', 'boston', []],
    ['a region location that reports (the local fleet)', 'us-east-1', ['us-east-1']],
    ['a location no longer in the environment', 'gone', []],
  ])('speaks for drift at %s', (_, subject, reporting) => {
    expect(drift.owns(subject, governanceContext(records, { reporting }))).toBe(true);
  });

  it('leaves drift at a region location that does not report to the region-drift job', () => {
    const context = governanceContext(records, { reporting: ['boston', 'lab'] });
    expect(drift.owns('us-east-1', context)).toBe(false);
  });

  it('always runs', () => {
    expect(drift.enabled).toBeUndefined();
  });
});
