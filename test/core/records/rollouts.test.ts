import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import { keys } from '../../../core/records/keys';
import type { Rollout } from '../../../core/records/rollouts';
import { ConflictError } from '../../../core/records/table';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R2 = 'r-2222222222222222';

const rollout = (rolloutId: string, fields: Partial<Rollout> = {}): Rollout => ({
  rolloutId,
  release: R2,
  previous: { use1: 'r-1111111111111111' },
  status: 'running',
  wave: 0,
  step: 0,
  phase: 'applying',
  bakeUntilMs: 0,
  baseline: { use1: { requests: 10, errors5xx: 0 } },
  touched: [],
  waiting: {},
  version: 1,
  createdBy: 'alice',
  createdAt: '2026-11-25T12:00:00.000Z',
  updatedAt: '2026-11-25T12:00:00.000Z',
  history: [{ at: '2026-11-25T12:00:00.000Z', event: 'started' }],
  ...fields,
});

describe('rollout records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  describe('save', () => {
    it('writes a new rollout at version 1, and reads it back', async () => {
      await records.rollouts.save(rollout('ro-new'));
      expect(await records.rollouts.get('ro-new')).toEqual({
        ...keys.rollout('ro-new'),
        ...rollout('ro-new'),
      });
    });

    it('throws a ConflictError saving version 1 twice: the rollout exists already', async () => {
      await records.rollouts.save(rollout('ro-twice'));
      const err = await records.rollouts
        .save(rollout('ro-twice', { createdBy: 'bob' }))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({
        message: 'rollout ro-twice was changed by another writer',
        cause: expect.objectContaining({ name: 'ConditionalCheckFailedException' }),
      });
      expect((await records.rollouts.get('ro-twice'))?.createdBy).toBe('alice');
    });

    it('writes each next version over the one before it', async () => {
      await records.rollouts.save(rollout('ro-steps'));
      await records.rollouts.save(rollout('ro-steps', { version: 2, step: 1 }));
      await records.rollouts.save(rollout('ro-steps', { version: 3, step: 2, phase: 'baking' }));
      expect(await records.rollouts.get('ro-steps')).toMatchObject({
        version: 3,
        step: 2,
        phase: 'baking',
      });
    });

    it.each([
      ['version 3 over version 1 (a write in between was missed)', 1, 3],
      ['version 2 over version 2 (another run wrote it first)', 2, 2],
    ])('throws a ConflictError writing %s, leaving the stored one', async (_, stored, next) => {
      const id = `ro-fence-${stored}-${next}`;
      for (let v = 1; v <= stored; v++) await records.rollouts.save(rollout(id, { version: v }));
      await expect(
        records.rollouts.save(rollout(id, { version: next, status: 'aborted' }))
      ).rejects.toThrow(ConflictError);
      expect(await records.rollouts.get(id)).toMatchObject({ version: stored, status: 'running' });
    });

    it('throws a ConflictError writing version 2 of a rollout that was never written', async () => {
      await expect(records.rollouts.save(rollout('ro-missing', { version: 2 }))).rejects.toThrow(
        ConflictError
      );
      expect(await records.rollouts.get('ro-missing')).toBeUndefined();
    });

    it('throws an error that is no refused condition as the store raised it', async () => {
      const broken = new Records(client, 'orbit-test-no-such-table');
      const err = await broken.rollouts.save(rollout('ro-x')).catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ name: 'ResourceNotFoundException' });
    });

    it('lets exactly one of two runs racing on the same version win', async () => {
      await records.rollouts.save(rollout('ro-race'));
      const results = await Promise.allSettled([
        records.rollouts.save(rollout('ro-race', { version: 2, step: 1 })),
        records.rollouts.save(rollout('ro-race', { version: 2, status: 'paused' })),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(ConflictError);
    });
  });

  describe('the active-rollout slot', () => {
    afterEach(() =>
      client.send(new DeleteCommand({ TableName: table.tableName, Key: keys.activeRollout }))
    );

    it('claims the slot once: a second rollout is refused while the first holds it', async () => {
      expect(await records.rollouts.claimActive('ro-a')).toBe(true);
      expect(await records.rollouts.claimActive('ro-b')).toBe(false);
      expect(await records.rollouts.activeId()).toBe('ro-a');
    });

    it('lets the holder claim it again (a run that crashed after claiming)', async () => {
      expect(await records.rollouts.claimActive('ro-a')).toBe(true);
      expect(await records.rollouts.claimActive('ro-a')).toBe(true);
      expect(await records.rollouts.activeId()).toBe('ro-a');
    });

    it('is left as it is when a rollout that does not hold it releases it', async () => {
      await records.rollouts.claimActive('ro-a');
      await records.rollouts.releaseActive('ro-b');
      expect(await records.rollouts.activeId()).toBe('ro-a');
      expect(await records.rollouts.claimActive('ro-b')).toBe(false);
    });

    it('is free for the next rollout once its holder releases it', async () => {
      await records.rollouts.claimActive('ro-a');
      await records.rollouts.releaseActive('ro-a');
      expect(await records.rollouts.activeId()).toBeUndefined();
      expect(
        (await client.send(new GetCommand({ TableName: table.tableName, Key: keys.activeRollout })))
          .Item
      ).toBeUndefined();
      expect(await records.rollouts.claimActive('ro-b')).toBe(true);
      expect(await records.rollouts.activeId()).toBe('ro-b');
    });

    it('releasing an empty slot changes nothing and does not throw', async () => {
      await expect(records.rollouts.releaseActive('ro-a')).resolves.toBeUndefined();
      expect(await records.rollouts.activeId()).toBeUndefined();
    });

    it('lets exactly one of several racing rollouts claim it', async () => {
      const ids = ['ro-1', 'ro-2', 'ro-3', 'ro-4'];
      const claimed = await Promise.all(ids.map((id) => records.rollouts.claimActive(id)));
      expect(claimed.filter(Boolean)).toHaveLength(1);
      expect(await records.rollouts.activeId()).toBe(ids[claimed.indexOf(true)]);
    });

    it('reads the active rollout through the slot, and none when the slot is free', async () => {
      expect(await records.rollouts.active()).toBeUndefined();
      await records.rollouts.save(rollout('ro-active'));
      await records.rollouts.claimActive('ro-active');
      expect(await records.rollouts.active()).toMatchObject({ rolloutId: 'ro-active' });
    });
  });

  describe('list', () => {
    let listed: Records;
    let listTable: Awaited<ReturnType<typeof createTestTable>>;
    const at = (minute: number) => `2026-11-25T12:${String(minute).padStart(2, '0')}:00.000Z`;

    beforeAll(async () => {
      listTable = await createTestTable();
      listed = new Records(client, listTable.tableName);
      for (const id of ['ro-old', 'ro-mid', 'ro-new']) await listed.rollouts.save(rollout(id));
      const entries: [number, string | undefined][] = [
        [1, 'ro-old'],
        [2, 'ro-mid'],
        [3, undefined],
        [4, 'ro-old'],
        [5, 'ro-gone'],
        [6, 'ro-new'],
      ];
      for (const [minute, rolloutId] of entries) {
        await listed.audit.append({
          at: at(minute),
          by: 'orchestrator',
          action: rolloutId ? `rollout ${rolloutId}` : 'drain lab',
          outcome: 'ok',
          ...(rolloutId ? { detail: { rolloutId } } : {}),
        });
      }
    });
    afterAll(() => listTable.drop());

    it('lists the rollouts the audit log names, most recently named first, each once', async () => {
      // ro-gone is named in the log but has no record: it is left out.
      expect((await listed.rollouts.list()).map((r) => r.rolloutId)).toEqual([
        'ro-new',
        'ro-old',
        'ro-mid',
      ]);
    });

    it('lists at most `limit` of the ids it found', async () => {
      expect((await listed.rollouts.list(1)).map((r) => r.rolloutId)).toEqual(['ro-new']);
    });

    it('does not count an id without a rollout record against the limit', async () => {
      // Newest first the ids are ro-new, ro-gone (no record), ro-old, ro-mid.
      expect((await listed.rollouts.list(2)).map((r) => r.rolloutId)).toEqual(['ro-new', 'ro-old']);
    });

    it('lists none when the audit log names no rollout', async () => {
      expect(await new Records(client, table.tableName).rollouts.list()).toEqual([]);
    });
  });
});
