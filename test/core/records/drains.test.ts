import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { Records } from '../../../core/records';
import { DRAIN_RETRY_AFTER_SECONDS, type DrainChange } from '../../../core/records/drains';
import { keys, type TableKey } from '../../../core/records/keys';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const AT = '2026-11-25T12:00:00.000Z';

describe('drain records', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const stored = async (key: TableKey) =>
    (await client.send(new GetCommand({ TableName: table.tableName, Key: key }))).Item;
  const drain = (change: Partial<DrainChange>) =>
    records.drains.set({ drained: true, reason: 'incident 42', by: 'alice', at: AT, ...change });

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
  });
  afterAll(() => table.drop());

  describe('set', () => {
    it('drains a location under its own key, telling clients to retry after 30 s by default', async () => {
      await drain({ location: 'set-default' });
      expect(DRAIN_RETRY_AFTER_SECONDS).toBe(30);
      expect(await stored(keys.locationDrain('set-default'))).toEqual({
        ...keys.locationDrain('set-default'),
        drained: true,
        reason: 'incident 42',
        by: 'alice',
        at: AT,
        retryAfterSeconds: 30,
      });
    });

    it('drains a function fleet-wide under its own key, with the Retry-After it was given', async () => {
      await drain({ function: 'set-notes', retryAfterSeconds: 120 });
      expect(await stored(keys.functionDrain('set-notes'))).toEqual({
        ...keys.functionDrain('set-notes'),
        drained: true,
        reason: 'incident 42',
        by: 'alice',
        at: AT,
        retryAfterSeconds: 120,
      });
    });

    it('restores by writing drained: false, keeping who restored it and why', async () => {
      await drain({ location: 'set-restored' });
      await records.drains.set({
        location: 'set-restored',
        drained: false,
        reason: 'fixed',
        by: 'bob',
        at: '2026-11-25T13:00:00.000Z',
      });
      expect(await records.drains.location('set-restored', { consistent: true })).toEqual({
        ...keys.locationDrain('set-restored'),
        drained: false,
        reason: 'fixed',
        by: 'bob',
        at: '2026-11-25T13:00:00.000Z',
        retryAfterSeconds: 30,
      });
    });
  });

  it('reads undefined for a location or a function never drained', async () => {
    expect(await records.drains.location('never')).toBeUndefined();
    expect(await records.drains.function('never')).toBeUndefined();
  });

  it('reads a function drain by the function name', async () => {
    await drain({ function: 'read-fn' });
    expect(await records.drains.function('read-fn', { consistent: true })).toMatchObject({
      drained: true,
      reason: 'incident 42',
    });
  });

  describe('drainedFunctions', () => {
    beforeAll(async () => {
      await drain({ function: 'df-b' });
      await drain({ function: 'df-d', reason: 'd is broken' });
      await records.drains.set({
        function: 'df-c',
        drained: false,
        reason: 'restored',
        by: 'bob',
        at: AT,
      });
    });

    it('lists the drained ones of the names asked for, in the order asked, with their records', async () => {
      const drained = await records.drains.drainedFunctions(['df-d', 'df-a', 'df-c', 'df-b'], {
        consistent: true,
      });
      expect(drained.map((d) => d.name)).toEqual(['df-d', 'df-b']);
      expect(drained[0]?.record).toMatchObject({ drained: true, reason: 'd is broken' });
    });

    it('lists none for no names', async () => {
      expect(await records.drains.drainedFunctions([])).toEqual([]);
    });

    // BatchGetItem refuses a request that names the same key twice.
    it('reads a name asked for twice once, and lists it once', async () => {
      const drained = await records.drains.drainedFunctions(['df-d', 'df-d', 'df-b']);
      expect(drained.map((d) => d.name)).toEqual(['df-d', 'df-b']);
    });

    it('tells why a location is drained when the same names come twice', async () => {
      const reasons = await records.drains.reasons(['lab', 'lab'], ['df-d', 'df-d']);
      expect(reasons.get('lab')).toBe('function df-d is drained fleet-wide');
    });

    it('reads more than 100 names in one call', async () => {
      const names = Array.from({ length: 150 }, (_, i) => `df-many-${i}`);
      await drain({ function: 'df-many-140' });
      await drain({ function: 'df-many-3' });
      const drained = await records.drains.drainedFunctions(names, { consistent: true });
      expect(drained.map((d) => d.name)).toEqual(['df-many-3', 'df-many-140']);
    });
  });

  describe('reasons', () => {
    beforeAll(async () => {
      await drain({ location: 'why-drained' });
      await drain({ function: 'why-fn-drained' });
      await records.drains.set({
        location: 'why-restored',
        drained: false,
        reason: 'ok',
        by: 'bob',
        at: AT,
      });
    });

    it.each<[string, string[], string[], Record<string, string>]>([
      ['no location when nothing is drained', ['why-ok', 'why-restored'], ['why-fn-ok'], {}],
      [
        'a drained location by its own drain',
        ['why-drained', 'why-ok'],
        ['why-fn-ok'],
        { 'why-drained': 'why-drained is drained' },
      ],
      [
        'every location by a function drained fleet-wide',
        ['why-ok', 'why-restored'],
        ['why-fn-ok', 'why-fn-drained'],
        {
          'why-ok': 'function why-fn-drained is drained fleet-wide',
          'why-restored': 'function why-fn-drained is drained fleet-wide',
        },
      ],
      [
        'a drained location by its own drain even when a function is drained too',
        ['why-drained', 'why-ok'],
        ['why-fn-drained'],
        {
          'why-drained': 'why-drained is drained',
          'why-ok': 'function why-fn-drained is drained fleet-wide',
        },
      ],
      ['nothing when asked about no location', [], ['why-fn-drained'], {}],
    ])('names %s', async (_, locations, functions, expected) => {
      const reasons = await records.drains.reasons(locations, functions);
      expect(Object.fromEntries(reasons)).toEqual(expected);
    });
  });

  describe('flags', () => {
    beforeAll(async () => {
      await drain({ location: 'flags-loc' });
      await drain({ function: 'flags-fn', retryAfterSeconds: 5 });
      await records.desired.put('flags-loc', { stable: R1, weight: 0 }, Date.parse(AT));
      await records.desired.put('flags-quiet', { stable: R1, weight: 0 }, Date.parse(AT));
    });

    it('reads the location drain, the function drain and what the location serves in one call', async () => {
      const flags = await records.drains.flags('flags-loc', 'flags-fn', {
        withDesired: true,
        consistent: true,
      });
      expect(flags.location).toMatchObject({ drained: true, retryAfterSeconds: 30 });
      expect(flags.function).toMatchObject({ drained: true, retryAfterSeconds: 5 });
      expect(flags.desired).toMatchObject({ stable: R1, weight: 0 });
    });

    it('leaves out what the location serves unless asked for it', async () => {
      const flags = await records.drains.flags('flags-loc', 'flags-fn', {
        withDesired: false,
        consistent: false,
      });
      expect(Object.keys(flags).sort()).toEqual(['function', 'location']);
    });

    it('leaves out the records nobody wrote', async () => {
      expect(
        await records.drains.flags('flags-quiet', 'flags-other-fn', {
          withDesired: true,
          consistent: true,
        })
      ).toEqual({ desired: expect.objectContaining({ stable: R1 }) });
      expect(
        await records.drains.flags('flags-nothing', 'flags-other-fn', {
          withDesired: true,
          consistent: true,
        })
      ).toEqual({});
    });
  });
});
