import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TableUnavailableError } from '../../../core/errors';
import { keys, type TableKey } from '../../../core/records/keys';
import {
  batchGetItems,
  ConflictError,
  conditionally,
  getItem,
  isConditionFailed,
  itemAt,
  lowLevelPut,
  lowLevelUpdate,
  mapTableError,
  queryAll,
  type RecordTable,
  setAttributes,
  TABLE_RETRY_AFTER_SECONDS,
  toAttributeValue,
  toAttributeValues,
} from '../../../core/records/table';
import { testTableClient } from '../../support/handlers';
import { createTestTable, testDynamoClient } from '../../support/table';

/** A string of about `kb` KiB: a few of these fill a query page (1 MB) or a batch read. */
const padding = (kb: number) => 'x'.repeat(kb * 1024);

describe('the records table helpers', () => {
  const client = testTableClient();
  const raw = testDynamoClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: RecordTable;

  const putAll = async (items: Record<string, unknown>[]) => {
    for (let i = 0; i < items.length; i += 25) {
      await client.send(
        new BatchWriteCommand({
          RequestItems: {
            [table.tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
          },
        })
      );
    }
  };
  const stored = async (key: TableKey) =>
    (await client.send(new GetCommand({ TableName: table.tableName, Key: key }))).Item;

  beforeAll(async () => {
    table = await createTestTable();
    records = { client, tableName: table.tableName };
  });
  afterAll(async () => {
    raw.destroy();
    await table.drop();
  });

  describe('getItem', () => {
    it('reads an item by key, and undefined for a key nobody wrote', async () => {
      await putAll([{ pk: 'GET', sk: 'one', a: 1, b: 'two' }]);
      expect(await getItem(records, { pk: 'GET', sk: 'one' })).toEqual({
        pk: 'GET',
        sk: 'one',
        a: 1,
        b: 'two',
      });
      expect(await getItem(records, { pk: 'GET', sk: 'none' }, { consistent: true })).toBe(
        undefined
      );
    });

    it('reads only the projected attributes when given a projection', async () => {
      await putAll([{ pk: 'GET', sk: 'projected', a: 1, b: 'two' }]);
      expect(await getItem(records, { pk: 'GET', sk: 'projected' }, { projection: 'b' })).toEqual({
        b: 'two',
      });
    });

    it('throws when the read is aborted before it is sent', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(
        getItem(records, { pk: 'GET', sk: 'one' }, { abortSignal: controller.signal })
      ).rejects.toMatchObject({ name: 'AbortError' });
    });
  });

  describe('batchGetItems', () => {
    const present = Array.from({ length: 250 }, (_, i) => ({
      pk: 'BATCH',
      sk: `item#${String(i).padStart(3, '0')}`,
    }));
    const absent = Array.from({ length: 30 }, (_, i) => ({ pk: 'BATCH', sk: `absent#${i}` }));

    beforeAll(() => putAll(present.map((key, i) => ({ ...key, n: i }))));

    it('throws when one BatchGetItem asks for more than 100 keys: the store enforces the page size', async () => {
      await expect(
        client.send(
          new BatchGetCommand({
            RequestItems: { [table.tableName]: { Keys: present.slice(0, 101) } },
          })
        )
      ).rejects.toThrow(/100/);
    });

    it('reads more than 100 keys in pages, leaving absent keys out', async () => {
      // Absent keys interleaved, so that every page of 100 has some.
      const all = present.flatMap((key, i) => (i % 10 === 0 ? [key, absent[i / 10]!] : [key]));
      expect(all.length).toBeGreaterThan(200);
      const found = await batchGetItems(records, all, { consistent: true });
      expect(found).toHaveLength(present.length);
      expect(found.map((i) => i.sk).sort()).toEqual(present.map((k) => k.sk));
      expect(found.find((i) => String(i.sk).startsWith('absent#'))).toBeUndefined();
      expect(itemAt(found, present[137]!)).toEqual({ ...present[137], n: 137 });
    });

    it('reads nothing for no keys', async () => {
      expect(await batchGetItems(records, [])).toEqual([]);
    });

    it('reads again the keys the store left unprocessed, until it has them all', async () => {
      const big = Array.from({ length: 6 }, (_, i) => ({ pk: 'BIG', sk: `big#${i}` }));
      await putAll(big.map((key) => ({ ...key, blob: padding(300) })));
      // One BatchGetItem returns about 1.4 MB at most here: some keys come back unprocessed.
      const once = await client.send(
        new BatchGetCommand({ RequestItems: { [table.tableName]: { Keys: big } } })
      );
      expect(once.UnprocessedKeys?.[table.tableName]?.Keys?.length).toBeGreaterThan(0);

      const found = await batchGetItems(records, big);
      expect(found.map((i) => i.sk).sort()).toEqual(big.map((k) => k.sk));
    });
  });

  describe('itemAt', () => {
    const items = [
      { pk: 'A', sk: '1', v: 'a1' },
      { pk: 'A', sk: '2', v: 'a2' },
      { pk: 'B', sk: '1', v: 'b1' },
    ];

    it.each([
      [{ pk: 'A', sk: '2' }, 'a2'],
      [{ pk: 'B', sk: '1' }, 'b1'],
      [{ pk: 'B', sk: '2' }, undefined],
    ])('finds the item stored under %o', (key, v) => {
      expect(itemAt<{ v: string }>(items, key)?.v).toBe(v);
    });
  });

  describe('queryAll', () => {
    it('reads every item of a query that needs more than one page, in key order', async () => {
      const paged = Array.from({ length: 7 }, (_, i) => ({
        pk: 'PAGED',
        sk: `p#${i}`,
        blob: padding(300),
      }));
      await putAll(paged);
      const input = {
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'PAGED' },
      };
      // One Query stops at 1 MB: the rest is on later pages.
      const first = await client.send(new QueryCommand({ TableName: table.tableName, ...input }));
      expect(first.LastEvaluatedKey).toBeDefined();
      expect(first.Items?.length).toBeLessThan(paged.length);

      const items = await queryAll(records, { ...input, ProjectionExpression: 'sk' });
      expect(items).toEqual(paged.map(({ sk }) => ({ sk })));
    });

    it('reads nothing from a partition nobody wrote', async () => {
      expect(
        await queryAll(records, {
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'EMPTY' },
        })
      ).toEqual([]);
    });
  });

  describe('conditionally', () => {
    const createOnce = (sk: string) =>
      client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { pk: 'COND', sk, by: 'first' },
          ConditionExpression: 'attribute_not_exists(pk)',
        })
      );

    it('is true when the write was made, and false when its condition failed', async () => {
      expect(await conditionally(createOnce('once'))).toBe(true);
      expect(await conditionally(createOnce('once'))).toBe(false);
      expect(await stored({ pk: 'COND', sk: 'once' })).toEqual({
        pk: 'COND',
        sk: 'once',
        by: 'first',
      });
    });

    it('throws what the store raised when the write fails for another reason', async () => {
      const missing = client.send(
        new PutCommand({ TableName: 'orbit-test-no-such-table', Item: { pk: 'COND', sk: 'x' } })
      );
      await expect(conditionally(missing)).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    });

    it('throws any other error unchanged', async () => {
      const err = new Error('boom');
      await expect(conditionally(Promise.reject(err))).rejects.toBe(err);
    });
  });

  describe('isConditionFailed', () => {
    it.each([
      [new ConditionalCheckFailedException({ message: 'refused', $metadata: {} }), true],
      [{ name: 'ConditionalCheckFailedException' }, true],
      [{ name: 'TransactionCanceledException' }, false],
      [new Error('ConditionalCheckFailedException'), false],
      [undefined, false],
      [null, false],
    ])('says whether %p is a refused condition', (err, expected) => {
      expect(isConditionFailed(err)).toBe(expected);
    });
  });

  describe('mapTableError', () => {
    it.each([
      'ProvisionedThroughputExceededException',
      'ThrottlingException',
      'ReplicatedWriteConflictException',
      'RequestLimitExceeded',
      'InternalServerError',
      'ServiceUnavailable',
      'TimeoutError',
      'AbortError',
    ])('throws a TableUnavailableError with Retry-After for %s', (name) => {
      const err = Object.assign(new Error('busy'), { name });
      let thrown: unknown;
      try {
        mapTableError(err);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(TableUnavailableError);
      expect(thrown).toMatchObject({
        headers: { 'retry-after': String(TABLE_RETRY_AFTER_SECONDS) },
        cause: err,
      });
    });

    it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'])(
      'throws a TableUnavailableError for a connection failure with code %s',
      (code) => {
        expect(() => mapTableError(Object.assign(new Error('socket'), { code }))).toThrow(
          TableUnavailableError
        );
      }
    );

    it('throws a TableUnavailableError for an error the SDK marked retryable', () => {
      const err = Object.assign(new Error('odd'), { name: 'Odd', $retryable: {} });
      expect(() => mapTableError(err)).toThrow(TableUnavailableError);
    });

    it.each(['ValidationException', 'AccessDeniedException', 'ResourceNotFoundException'])(
      'throws %s unchanged: a bug or a permission error is no outage',
      (name) => {
        const err = Object.assign(new Error('bad'), { name });
        expect(() => mapTableError(err)).toThrow(err);
      }
    );
  });

  describe('ConflictError', () => {
    it('says what another writer changed, and keeps the cause', () => {
      const cause = new Error('refused');
      const err = new ConflictError('rollout ro-1', { cause });
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('ConflictError');
      expect(err.message).toBe('rollout ro-1 was changed by another writer');
      expect(err.cause).toBe(cause);
    });
  });

  describe('setAttributes', () => {
    it('names every attribute and value by placeholder, so reserved words are fine', () => {
      expect(
        setAttributes('t', { pk: 'P', sk: 'S' }, { status: 'x', name: 'y', count: 3 })
      ).toEqual({
        TableName: 't',
        Key: { pk: 'P', sk: 'S' },
        UpdateExpression: 'SET #a0 = :v0, #a1 = :v1, #a2 = :v2',
        ExpressionAttributeNames: { '#a0': 'status', '#a1': 'name', '#a2': 'count' },
        ExpressionAttributeValues: { ':v0': 'x', ':v1': 'y', ':v2': 3 },
      });
    });

    it('keeps the attributes other writers own on the item', async () => {
      const key = { pk: 'SET', sk: 'shared' };
      await client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...key, owner: 'orchestrator', note: 'kept', status: 'old' },
        })
      );
      await client.send(
        new UpdateCommand(
          setAttributes(table.tableName, key, { status: 'new', deployedBy: 'deploy' })
        )
      );
      expect(await stored(key)).toEqual({
        ...key,
        owner: 'orchestrator',
        note: 'kept',
        status: 'new',
        deployedBy: 'deploy',
      });
    });

    it('creates the item when nobody wrote it yet', async () => {
      const key = { pk: 'SET', sk: 'fresh' };
      await client.send(new UpdateCommand(setAttributes(table.tableName, key, { a: 'b' })));
      expect(await stored(key)).toEqual({ ...key, a: 'b' });
    });
  });

  describe('toAttributeValue', () => {
    it.each([
      ['a string', 'lab', { S: 'lab' }],
      ['an empty string', '', { S: '' }],
      ['an integer', 3, { N: '3' }],
      ['a fraction', 0.25, { N: '0.25' }],
      ['a negative number', -1, { N: '-1' }],
      ['true', true, { BOOL: true }],
      ['false', false, { BOOL: false }],
      ['an empty map', {}, { M: {} }],
      [
        'nested maps',
        { notes: { functionName: 'orbit-notes', version: '7', live: true, weight: 0 } },
        {
          M: {
            notes: {
              M: {
                functionName: { S: 'orbit-notes' },
                version: { S: '7' },
                live: { BOOL: true },
                weight: { N: '0' },
              },
            },
          },
        },
      ],
    ])('stores %s in the low-level form', (_, value, expected) => {
      expect(toAttributeValue(value)).toEqual(expected);
    });

    it.each([
      ['undefined', undefined],
      ['null', null],
      ['a bigint', 10n],
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['an array', ['a', 'b']],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
    ])('throws for %s, which no platform record holds', (_, value) => {
      expect(() => toAttributeValue(value)).toThrow(
        /^cannot store .* as a platform record attribute$/
      );
    });

    it('throws for an unsupported value nested in a map', () => {
      expect(() => toAttributeValue({ ok: 'x', bad: { deeper: null } })).toThrow(
        'cannot store null as a platform record attribute'
      );
    });

    it('converts every value of a record', () => {
      expect(toAttributeValues({ a: 'x', b: 2, c: false })).toEqual({
        a: { S: 'x' },
        b: { N: '2' },
        c: { BOOL: false },
      });
    });
  });

  describe('lowLevelPut and lowLevelUpdate', () => {
    it('turn the Item of a put into low-level values, and keep the rest of the request', () => {
      expect(
        lowLevelPut({
          TableName: 't',
          Item: { pk: 'P', sk: 'S', weight: 0, on: true, m: { a: 'b' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        })
      ).toEqual({
        TableName: 't',
        Item: {
          pk: { S: 'P' },
          sk: { S: 'S' },
          weight: { N: '0' },
          on: { BOOL: true },
          m: { M: { a: { S: 'b' } } },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('turn the Key and values of an update into low-level values, and keep its expressions', () => {
      const update = setAttributes('t', { pk: 'P', sk: 'S' }, { n: 1, m: { on: false } });
      expect(lowLevelUpdate(update)).toEqual({
        TableName: 't',
        Key: { pk: { S: 'P' }, sk: { S: 'S' } },
        UpdateExpression: 'SET #a0 = :v0, #a1 = :v1',
        ExpressionAttributeNames: { '#a0': 'n', '#a1': 'm' },
        ExpressionAttributeValues: { ':v0': { N: '1' }, ':v1': { M: { on: { BOOL: false } } } },
      });
    });

    // DynamoDB API Reference, UpdateItem: ExpressionAttributeValues, when given, may not be empty.
    it('leaves ExpressionAttributeValues out of an update that has none', () => {
      expect(
        lowLevelUpdate({ Key: { pk: 'P', sk: 'S' }, UpdateExpression: 'REMOVE #a' })
      ).not.toHaveProperty('ExpressionAttributeValues');
      expect(
        lowLevelUpdate({ Key: { pk: 'P', sk: 'S' }, ExpressionAttributeValues: {} })
      ).not.toHaveProperty('ExpressionAttributeValues');
    });

    it('throws for a put or an update holding a value the low-level form cannot take', () => {
      expect(() => lowLevelPut({ Item: { pk: 'P', sk: 'S', gone: undefined } })).toThrow(
        'cannot store undefined as a platform record attribute'
      );
      expect(() =>
        lowLevelUpdate({ Key: { pk: 'P', sk: 'S' }, ExpressionAttributeValues: { ':v': null } })
      ).toThrow('cannot store null as a platform record attribute');
    });

    it('store through the low-level client exactly what the document client stores', async () => {
      const values = { weight: 0.5, stable: 'r-1', on: true, fns: { notes: { version: '3' } } };
      const viaDocument = { pk: 'LOW', sk: 'document' };
      const viaLowLevel = { pk: 'LOW', sk: 'low-level' };
      await client.send(
        new PutCommand({ TableName: table.tableName, Item: { ...viaDocument, ...values } })
      );
      await raw.send(
        new PutItemCommand(
          lowLevelPut({ TableName: table.tableName, Item: { ...viaLowLevel, ...values } })
        )
      );
      const updated = { pk: 'LOW', sk: 'updated' };
      await raw.send(
        new UpdateItemCommand(lowLevelUpdate(setAttributes(table.tableName, updated, values)))
      );
      const rawItem = async (key: TableKey) =>
        (
          await raw.send(
            new GetItemCommand({
              TableName: table.tableName,
              Key: toAttributeValues({ ...key }),
            })
          )
        ).Item;
      const { sk: _1, ...expected } = (await rawItem(viaDocument)) ?? {};
      const { sk: _2, ...put } = (await rawItem(viaLowLevel)) ?? {};
      const { sk: _3, ...update } = (await rawItem(updated)) ?? {};
      expect(expected.weight).toEqual({ N: '0.5' });
      expect(put).toEqual(expected);
      expect(update).toEqual(expected);
    });
  });

  describe('the document client of createTableClient', () => {
    it('leaves undefined attributes out instead of refusing the write', async () => {
      const key = keys.item('undefined-attribute');
      await client.send(
        new PutCommand({ TableName: table.tableName, Item: { ...key, a: 'x', b: undefined } })
      );
      expect(await stored(key)).toEqual({ ...key, a: 'x' });
    });
  });
});
