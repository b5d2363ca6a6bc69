import { Records } from '../../../core/records';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

describe('audit records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const entry = (at: string, action: string) => ({
    at,
    by: 'alice',
    action,
    outcome: 'ok',
    detail: { n: 1 },
  });

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
    await records.audit.append(entry('2026-11-25T12:00:02.000Z', 'second'));
    await records.audit.append(entry('2026-11-25T12:00:01.000Z', 'first'));
    await records.audit.append(entry('2026-11-25T12:00:03.000Z', 'third'));
    // Two entries at the same instant are both kept: each has its own id in the key.
    await records.audit.append(entry('2026-11-25T12:00:03.000Z', 'third again'));
  });
  afterAll(() => table.drop());

  it('reads the newest entries first, as many as asked for', async () => {
    const latest = await records.audit.latest(3);
    expect(latest.map((e) => e.action).slice(2)).toEqual(['second']);
    expect(
      latest
        .map((e) => e.action)
        .slice(0, 2)
        .sort()
    ).toEqual(['third', 'third again']);
    expect(latest[2]).toMatchObject(entry('2026-11-25T12:00:02.000Z', 'second'));
  });

  it('reads every entry when asked for more than there are', async () => {
    const actions = (await records.audit.latest(10)).map((e) => e.action);
    expect(actions).toHaveLength(4);
    expect(actions.slice(2)).toEqual(['second', 'first']);
  });
});
