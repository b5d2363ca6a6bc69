import { Records } from '../../../core/records';
import type { Finding } from '../../../core/records/findings';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const finding = (job: Finding['job'], subject: string, fields: Partial<Finding> = {}): Finding => ({
  job,
  subject,
  severity: 'medium',
  message: `${job} at ${subject}`,
  firstSeen: '2026-11-25T12:00:00.000Z',
  lastSeen: '2026-11-25T12:00:00.000Z',
  resolved: false,
  ...fields,
});

describe('finding records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  it('reads no finding before any job wrote one', async () => {
    expect(await records.findings.list()).toEqual([]);
  });

  it('lists open findings before resolved ones, each with its sort key', async () => {
    // Sort keys order them drift < policy < stale-heartbeat: resolved ones come first by key.
    await records.findings.put(
      finding('drift', 'boston', { resolved: true, resolvedAt: '2026-11-25T12:10:00.000Z' })
    );
    await records.findings.put(finding('policy', 'notes', { severity: 'high' }));
    await records.findings.put(finding('drift', 'lab', { resolved: true }));
    await records.findings.put(finding('stale-heartbeat', 'lab', { severity: 'low' }));

    const listed = await records.findings.list();
    expect(listed.map((f) => [f.sk, f.resolved])).toEqual([
      ['policy#notes', false],
      ['stale-heartbeat#lab', false],
      ['drift#boston', true],
      ['drift#lab', true],
    ]);
    expect(listed[0]).toMatchObject(finding('policy', 'notes', { severity: 'high' }));
    expect(listed[2]?.resolvedAt).toBe('2026-11-25T12:10:00.000Z');
  });

  it('keeps one finding per job and subject: writing it again replaces it', async () => {
    await records.findings.put(finding('drift', 'again'));
    await records.findings.put(
      finding('drift', 'again', { lastSeen: '2026-11-25T13:00:00.000Z', severity: 'high' })
    );
    const again = (await records.findings.all()).filter((f) => f.subject === 'again');
    expect(again).toEqual([
      expect.objectContaining({
        sk: 'drift#again',
        lastSeen: '2026-11-25T13:00:00.000Z',
        severity: 'high',
      }),
    ]);
  });
});
