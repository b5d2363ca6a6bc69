import { Records } from '../../../../core/records';
import { disconnections } from '../../../../functions/orchestrator/governance/disconnections';
import { testTableClient } from '../../../support/handlers';
import { createTestTable } from '../../../support/table';
import { governanceContext, heartbeatEntry, NOW } from './context';

describe('disconnections job', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const run = (reporting: string[]) =>
    disconnections.run(governanceContext(records, { reporting }));

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  it('finds a satellite that was cut off from its table, saying from when to when', async () => {
    await records.heartbeats.write(
      heartbeatEntry('cut', 'host-1', NOW - 1_000, {
        disconnection: { since: '2026-11-25T11:00:00.000Z', until: '2026-11-25T11:42:00.000Z' },
      })
    );
    expect(await run(['cut'])).toEqual({
      observed: [
        {
          job: 'disconnected',
          subject: 'cut',
          severity: 'medium',
          message:
            'cut off from its table from 2026-11-25T11:00:00.000Z to 2026-11-25T11:42:00.000Z (42 min); ' +
            'it served its split meanwhile and has delivered the heartbeats it kept',
        },
      ],
    });
  });

  it('finds nothing at a satellite that never lost its link, nor while one is still cut off (no heartbeat says so yet)', async () => {
    await records.heartbeats.write(heartbeatEntry('steady', 'host-1', NOW - 1_000));
    await records.heartbeats.write(
      heartbeatEntry('still-cut', 'host-1', NOW - 1_000, {
        disconnection: { since: '2026-11-25T11:00:00.000Z' },
      })
    );
    expect(await run(['steady', 'still-cut', 'never'])).toEqual({ observed: [] });
  });
});
