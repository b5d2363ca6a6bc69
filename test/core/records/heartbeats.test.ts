import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import {
  HEARTBEAT_ENTRY_RETENTION_MS,
  type HeartbeatRecord,
  heartbeatRecord,
  type InstanceHeartbeat,
  instanceKey,
  RETIRED_ENTRY,
} from '../../../core/records/heartbeats';
import { keys } from '../../../core/records/keys';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const NOW = Date.UTC(2026, 10, 25, 12);
const HOUR = HEARTBEAT_ENTRY_RETENTION_MS;

const entry = (
  locationId: string,
  instanceId: string,
  atMs: number,
  fields: Partial<InstanceHeartbeat> = {}
): InstanceHeartbeat => ({
  locationId,
  instanceId,
  startedAt: '2026-11-25T09:00:00.000Z',
  atMs,
  at: new Date(atMs).toISOString(),
  intervalSeconds: 10,
  stable: R1,
  weight: 0,
  releases: {},
  totals: { [R1]: { requests: 5, errors4xx: 1, errors5xx: 0 } },
  ...fields,
});

/**
 * HeartbeatRecords itself: one entry per process, reads of many locations, and the fence of
 * folding. What folding keeps (totals, the freshest entry) is in
 * test/functions/orchestrator/governance.test.ts.
 */
describe('heartbeat records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const stored = async (locationId: string) =>
    (
      await client.send(
        new GetCommand({ TableName: table.tableName, Key: keys.heartbeat(locationId) })
      )
    ).Item as (HeartbeatRecord & Record<string, unknown>) | undefined;

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  describe('write', () => {
    it("creates the location's item with the first process's entry", async () => {
      const first = entry('w-first', 'host-1', NOW);
      await records.heartbeats.write(first);
      expect(await stored('w-first')).toEqual({
        ...keys.heartbeat('w-first'),
        instances: { [instanceKey(first)]: first },
      });
    });

    it("adds each process's entry without touching the others', and replaces only its own", async () => {
      const a = entry('w-hosts', 'host-a', NOW);
      const b = entry('w-hosts', 'host-b', NOW + 1);
      await records.heartbeats.write(a);
      await records.heartbeats.write(b);
      const aLater = entry('w-hosts', 'host-a', NOW + 10_000, {
        totals: { [R1]: { requests: 9, errors4xx: 1, errors5xx: 0 } },
      });
      await records.heartbeats.write(aLater);
      expect((await stored('w-hosts'))?.instances).toEqual({
        [instanceKey(a)]: aLater,
        [instanceKey(b)]: b,
      });
    });

    it('keeps a restarted process apart from its earlier run: a new start is a new entry', async () => {
      const before = entry('w-restart', 'host-1', NOW);
      const after = entry('w-restart', 'host-1', NOW + 5_000, {
        startedAt: '2026-11-25T11:59:59.000Z',
        totals: {},
      });
      await records.heartbeats.write(before);
      await records.heartbeats.write(after);
      expect(Object.keys((await stored('w-restart'))?.instances ?? {}).sort()).toEqual(
        [instanceKey(before), instanceKey(after)].sort()
      );
    });

    it("keeps every process's entry when several write a new location's first heartbeat at once", async () => {
      const hosts = Array.from({ length: 6 }, (_, i) => entry('w-race', `host-${i}`, NOW + i));
      await Promise.all(hosts.map((h) => records.heartbeats.write(h)));
      expect((await stored('w-race'))?.instances).toEqual(
        Object.fromEntries(hosts.map((h) => [instanceKey(h), h]))
      );
    });

    it('keeps the attributes other writers keep on the item', async () => {
      await client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.heartbeat('w-other'), note: 'kept' },
        })
      );
      const first = entry('w-other', 'host-1', NOW);
      await records.heartbeats.write(first);
      expect(await stored('w-other')).toEqual({
        ...keys.heartbeat('w-other'),
        note: 'kept',
        instances: { [instanceKey(first)]: first },
      });
    });

    it('throws an error that is no refused condition as the store raised it', async () => {
      const broken = new Records(client, 'orbit-test-no-such-table');
      await expect(broken.heartbeats.write(entry('x', 'host-1', NOW))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    });
  });

  describe('get and record', () => {
    it('reads the stored entries as they are, and the report folded from them', async () => {
      const a = entry('g-loc', 'host-a', NOW);
      const b = entry('g-loc', 'host-b', NOW + 2_000, { stable: 'r-2222222222222222' });
      await records.heartbeats.write(a);
      await records.heartbeats.write(b);
      expect(await records.heartbeats.record('g-loc')).toEqual({
        ...keys.heartbeat('g-loc'),
        ...heartbeatRecord(a, b),
      });
      expect(await records.heartbeats.get('g-loc')).toMatchObject({
        atMs: NOW + 2_000,
        stable: 'r-2222222222222222',
        totals: { [R1]: { requests: 10, errors4xx: 2, errors5xx: 0 } },
      });
    });

    it('reads nothing for a location no process reported from', async () => {
      expect(await records.heartbeats.record('g-silent')).toBeUndefined();
      expect(await records.heartbeats.get('g-silent')).toBeUndefined();
    });
  });

  describe('many and lastReports', () => {
    const ids = Array.from({ length: 130 }, (_, i) => `m-${String(i).padStart(3, '0')}`);
    const reporting = ids.filter((_, i) => i % 4 !== 0);

    beforeAll(async () => {
      for (const [i, id] of ids.entries()) {
        if (!reporting.includes(id)) continue;
        await records.heartbeats.write(entry(id, 'host-a', NOW + i));
        await records.heartbeats.write(entry(id, 'host-b', NOW + i - 1_000));
      }
    });

    it('reads the reports of more than 100 locations by id, leaving silent ones out', async () => {
      const reports = await records.heartbeats.many(ids);
      expect([...reports.keys()].sort()).toEqual(reporting);
      expect(reports.get('m-001')).toMatchObject({
        locationId: 'm-001',
        atMs: NOW + 1,
        hosts: [
          expect.objectContaining({ instanceId: 'host-a' }),
          expect.objectContaining({ instanceId: 'host-b' }),
        ],
      });
    });

    it('says when each reporting location last reported: its freshest process', async () => {
      const last = await records.heartbeats.lastReports(['m-001', 'm-004', 'm-129', 'm-nope']);
      expect(Object.fromEntries(last)).toEqual({ 'm-001': NOW + 1, 'm-129': NOW + 129 });
    });

    it('reads none for no locations', async () => {
      expect((await records.heartbeats.many([])).size).toBe(0);
    });

    it('leaves out a location whose item holds no entry yet', async () => {
      await client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.heartbeat('m-empty'), instances: {} },
        })
      );
      expect((await records.heartbeats.many(['m-empty', 'm-001'])).has('m-empty')).toBe(false);
    });
  });

  describe('foldGone', () => {
    const gone = (id: string) => entry(id, 'gone', NOW - 2 * HOUR);
    const current = (id: string) => entry(id, 'current', NOW - 1_000);

    it('writes nothing when no process has been gone long enough', async () => {
      const fresh = [entry('f-none', 'a', NOW - HOUR + 1), entry('f-none', 'b', NOW)];
      for (const e of fresh) await records.heartbeats.write(e);
      const before = await stored('f-none');
      await records.heartbeats.foldGone('f-none', await records.heartbeats.record('f-none'), NOW);
      expect(await stored('f-none')).toEqual(before);
    });

    it('does nothing for a location without a record', async () => {
      await records.heartbeats.foldGone('f-absent', undefined, NOW);
      expect(await stored('f-absent')).toBeUndefined();
    });

    it('changes nothing when a process reported again since the record was read', async () => {
      await records.heartbeats.write(gone('f-back'));
      await records.heartbeats.write(current('f-back'));
      const read = await records.heartbeats.record('f-back');
      // The process thought gone reports again (same start, so the same entry) before the fold.
      const back = entry('f-back', 'gone', NOW);
      await records.heartbeats.write(back);
      const before = await stored('f-back');

      await expect(records.heartbeats.foldGone('f-back', read, NOW)).resolves.toBeUndefined();
      expect(await stored('f-back')).toEqual(before);
      expect(before?.instances[instanceKey(back)]).toEqual(back);
      expect(before?.instances[RETIRED_ENTRY]).toBeUndefined();
    });

    it('folds once from one read: a second fold from the same stale read changes nothing', async () => {
      await records.heartbeats.write(gone('f-twice'));
      await records.heartbeats.write(current('f-twice'));
      const read = await records.heartbeats.record('f-twice');
      await records.heartbeats.foldGone('f-twice', read, NOW);
      const folded = await stored('f-twice');
      expect(Object.keys(folded?.instances ?? {}).sort()).toEqual(
        [instanceKey(current('f-twice')), RETIRED_ENTRY].sort()
      );
      expect(folded?.instances[RETIRED_ENTRY]).toMatchObject({ version: 1 });

      await expect(records.heartbeats.foldGone('f-twice', read, NOW)).resolves.toBeUndefined();
      expect(await stored('f-twice')).toEqual(folded);
    });

    it('lets exactly one of two concurrent folds count a gone process', async () => {
      await records.heartbeats.write(gone('f-race'));
      await records.heartbeats.write(entry('f-race', 'gone-too', NOW - 3 * HOUR));
      await records.heartbeats.write(current('f-race'));
      const read = await records.heartbeats.record('f-race');
      await Promise.all([
        records.heartbeats.foldGone('f-race', read, NOW),
        records.heartbeats.foldGone('f-race', read, NOW),
      ]);
      const retired = (await stored('f-race'))?.instances[RETIRED_ENTRY] as InstanceHeartbeat & {
        version: number;
      };
      expect(retired.version).toBe(1);
      expect(retired.totals[R1]).toEqual({ requests: 10, errors4xx: 2, errors5xx: 0 });
    });

    it('throws an error that is no refused condition as the store raised it', async () => {
      await records.heartbeats.write(gone('f-broken'));
      await records.heartbeats.write(current('f-broken'));
      const read = await records.heartbeats.record('f-broken');
      const broken = new Records(client, 'orbit-test-no-such-table');
      await expect(broken.heartbeats.foldGone('f-broken', read, NOW)).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    });
  });
});
