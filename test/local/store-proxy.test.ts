import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createTableClient } from '../../core/records/table';
import { startStoreProxy } from '../../lib/local/store-proxy';
import { createTestTable, testEndpoint } from '../support/table';

describe('the store proxy (fault rehearsals)', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(() => table.drop());

  it('cuts clients off the store for the outage, then forwards again, losing nothing acknowledged', async () => {
    const proxy = await startStoreProxy(Number(new URL(testEndpoint()).port));
    const client = createTableClient({
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      maxAttempts: 1,
    });
    try {
      const Key = { pk: 'ITEMS', sk: 'ITEM#a' };
      await client.send(new PutCommand({ TableName: table.tableName, Item: { ...Key, v: 1 } }));
      const outage = proxy.outage(1_000);
      await expect(
        client.send(new GetCommand({ TableName: table.tableName, Key }))
      ).rejects.toThrow();
      await outage;
      const back = await client.send(new GetCommand({ TableName: table.tableName, Key }));
      expect(back.Item).toMatchObject({ v: 1 });
    } finally {
      client.destroy();
      await proxy.stop();
    }
  });
});
