import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import { keys } from '../../../core/records/keys';
import { ConflictError } from '../../../core/records/table';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

describe('intent records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  let now = 0;

  beforeEach(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName, () => now);
  });
  afterEach(() => table.drop());

  const submitAt = (atMs: number, ...args: Parameters<Records['intents']['submit']>) => {
    now = atMs;
    return records.intents.submit(...args);
  };

  it('records a command as pending, stamped with the clock, under a key ordered by time', async () => {
    const atMs = Date.UTC(2026, 10, 25, 12);
    const intent = await submitAt(
      atMs,
      { command: 'start', release: 'r-2222222222222222' },
      'alice'
    );
    expect(intent).toEqual({
      ...keys.intent(atMs, intent.intentId),
      command: 'start',
      release: 'r-2222222222222222',
      intentId: expect.stringMatching(/^[0-9a-f]{8}$/),
      by: 'alice',
      at: '2026-11-25T12:00:00.000Z',
      status: 'pending',
    });
    expect(
      (
        await client.send(
          new GetCommand({ TableName: table.tableName, Key: keys.intent(atMs, intent.intentId) })
        )
      ).Item
    ).toEqual(intent);
  });

  it('lists pending intents oldest first, whatever order they were written in', async () => {
    // 999 and 1000 ms: the padded key orders them by time, not as text.
    const later = await submitAt(1_000, { command: 'pause' }, 'alice');
    const earlier = await submitAt(999, { command: 'drain', location: 'lab', reason: 'x' }, 'bob');
    const latest = await submitAt(50_000, { command: 'resume' }, 'alice');
    expect((await records.intents.pending()).map((i) => i.intentId)).toEqual([
      earlier.intentId,
      later.intentId,
      latest.intentId,
    ]);
  });

  it('leaves closed intents out of the pending ones', async () => {
    const done = await submitAt(1, { command: 'pause' }, 'alice');
    const rejected = await submitAt(2, { command: 'promote' }, 'alice');
    const open = await submitAt(3, { command: 'abort' }, 'alice');
    await records.intents.close(done, 'done', 'paused');
    await records.intents.close(rejected, 'rejected', 'no rollout to promote');
    expect(await records.intents.pending()).toEqual([open]);
  });

  it('lists no pending intent when none was submitted', async () => {
    expect(await records.intents.pending()).toEqual([]);
  });

  it('reads one intent by its key with its outcome once closed, and undefined for an unknown key', async () => {
    const intent = await submitAt(5, { command: 'restore', function: 'notes' }, 'alice');
    expect(await records.intents.get(intent)).toEqual(intent);
    await records.intents.close(intent, 'done', 'notes restored');
    expect(await records.intents.get({ pk: intent.pk, sk: intent.sk })).toEqual({
      ...intent,
      status: 'done',
      outcome: 'notes restored',
    });
    expect(await records.intents.get(keys.intent(5, 'unknown'))).toBeUndefined();
  });

  it('closes an intent once: a second close throws a ConflictError and the first outcome stands', async () => {
    const intent = await submitAt(7, { command: 'pause' }, 'alice');
    await records.intents.close(intent, 'done', 'paused ro-1');
    const err = await records.intents
      .close(intent, 'rejected', 'nothing to pause')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({
      message: `intent ${intent.intentId} was changed by another writer`,
    });
    expect(await records.intents.get(intent)).toMatchObject({
      status: 'done',
      outcome: 'paused ro-1',
    });
  });

  it('lets exactly one of two runs racing to close an intent close it', async () => {
    const intent = await submitAt(8, { command: 'abort' }, 'alice');
    const results = await Promise.allSettled([
      records.intents.close(intent, 'done', 'run 1'),
      records.intents.close(intent, 'done', 'run 2'),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const won = results.findIndex((r) => r.status === 'fulfilled');
    expect((await records.intents.get(intent))?.outcome).toBe(`run ${won + 1}`);
  });

  it('throws a ConflictError closing an intent that was never submitted, creating nothing', async () => {
    now = 9;
    const ghost = {
      ...keys.intent(9, 'ghost'),
      command: 'pause' as const,
      intentId: 'ghost',
      by: 'alice',
      at: new Date(9).toISOString(),
      status: 'pending' as const,
    };
    await expect(records.intents.close(ghost, 'done', 'x')).rejects.toThrow(ConflictError);
    expect(await records.intents.get(ghost)).toBeUndefined();
  });

  // DynamoDB Developer Guide, "Query": a page holds at most 1 MB, read before the filter is
  // applied, so the closed intents ahead of a pending one can fill whole pages.
  it('finds a pending intent behind more than 1 MB of closed ones', async () => {
    const reason = 'x'.repeat(300_000);
    for (let i = 0; i < 4; i++) {
      const intent = await submitAt(1_000 + i, { command: 'drain', location: 'lab', reason }, 'ci');
      await records.intents.close(intent, 'done', 'drained');
    }
    const pause = await submitAt(2_000, { command: 'pause' }, 'alice');
    expect((await records.intents.pending()).map((i) => i.intentId)).toEqual([pause.intentId]);
  });
});
