import { Records } from '../../../../core/records';
import { RETIRED_ENTRY } from '../../../../core/records/heartbeats';
import { staleHeartbeats } from '../../../../functions/orchestrator/governance/stale-heartbeats';
import { testTableClient } from '../../../support/handlers';
import { createTestTable } from '../../../support/table';
import { governanceContext, heartbeatEntry, NOW, R1 } from './context';

describe('stale-heartbeats job', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  /** One run over `reporting`; every test reports its own locations, so runs do not meet. */
  const run = (reporting: string[], autoDrainStale = false) =>
    staleHeartbeats.run(governanceContext(records, { reporting, autoDrainStale }));

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  it('finds a location that never reported', async () => {
    expect(await run(['never'])).toEqual({
      observed: [
        { job: 'stale-heartbeat', subject: 'never', severity: 'high', message: 'never reported' },
      ],
    });
  });

  it.each([
    ['just now', 1_000],
    ['exactly three intervals ago', 30_000],
  ])('finds nothing at a location that reported %s', async (_, agoMs) => {
    const id = `fresh-${agoMs}`;
    await records.heartbeats.write(heartbeatEntry(id, 'host-1', NOW - agoMs));
    expect(await run([id])).toEqual({ observed: [] });
  });

  it.each([
    ['a moment more than three intervals ago', 30_001],
    ['an hour ago', 3_600_000],
  ])('finds a location last heard from %s, saying when', async (_, agoMs) => {
    const id = `stale-${agoMs}`;
    await records.heartbeats.write(heartbeatEntry(id, 'host-1', NOW - agoMs));
    expect(await run([id])).toEqual({
      observed: [
        {
          job: 'stale-heartbeat',
          subject: id,
          severity: 'high',
          message:
            `no heartbeat since ${new Date(NOW - agoMs).toISOString()}: down, or cut off from its table ` +
            `(a satellite cut off serves its split; its jwt routes until ${new Date(NOW - agoMs + 24 * 3_600_000).toISOString()} at the latest)`,
        },
      ],
    });
  });

  it('judges a location by its freshest host, not by a silent one', async () => {
    await records.heartbeats.write(heartbeatEntry('scaled', 'old-host', NOW - 600_000));
    await records.heartbeats.write(heartbeatEntry('scaled', 'new-host', NOW - 1_000));
    expect((await run(['scaled'])).observed).toEqual([]);
  });

  it('drains a stale location for governance when autoDrainStale is on', async () => {
    await records.heartbeats.write(heartbeatEntry('drained', 'host-1', NOW - 60_000));
    await run(['drained'], true);
    expect(await records.drains.location('drained', { consistent: true })).toMatchObject({
      drained: true,
      by: 'governance',
      reason: `stale heartbeat (last ${new Date(NOW - 60_000).toISOString()})`,
      at: new Date(NOW).toISOString(),
      retryAfterSeconds: 30,
    });
  });

  it('writes no drain for a stale location when autoDrainStale is off', async () => {
    await records.heartbeats.write(heartbeatEntry('kept', 'host-1', NOW - 60_000));
    const { observed } = await run(['kept'], false);
    expect(observed).toHaveLength(1);
    expect(await records.drains.location('kept', { consistent: true })).toBeUndefined();
  });

  it.each([
    ['a fresh location', 'fresh-on', NOW - 1_000],
    ['a location that never reported', 'never-on', undefined],
  ])('writes no drain for %s even with autoDrainStale on', async (_, id, atMs) => {
    if (atMs !== undefined) await records.heartbeats.write(heartbeatEntry(id, 'host-1', atMs));
    await run([id], true);
    expect(await records.drains.location(id, { consistent: true })).toBeUndefined();
  });

  it('folds the entries of processes gone for an hour into the retired entry, keeping the freshest', async () => {
    const totals = { [R1]: { requests: 5, errors4xx: 0, errors5xx: 1 } };
    await records.heartbeats.write(
      heartbeatEntry('folded', 'replaced', NOW - 2 * 3_600_000, { totals })
    );
    await records.heartbeats.write(heartbeatEntry('folded', 'current', NOW - 1_000, { totals }));
    await run(['folded']);
    const after = (await records.heartbeats.record('folded')) as {
      instances: Record<string, unknown>;
    };
    expect(Object.keys(after.instances).sort()).toEqual([
      expect.stringMatching(/^current@/),
      RETIRED_ENTRY,
    ]);
    expect((await records.heartbeats.get('folded'))?.totals[R1]).toEqual({
      requests: 10,
      errors4xx: 0,
      errors5xx: 2,
    });
  });

  it('speaks for every subject and always runs', () => {
    const context = governanceContext(records);
    expect(['boston', 'us-east-1', 'gone'].map((s) => staleHeartbeats.owns(s, context))).toEqual([
      true,
      true,
      true,
    ]);
    expect(staleHeartbeats.enabled).toBeUndefined();
  });
});
