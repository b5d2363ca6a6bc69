import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/**
 * The global table's key schema: string `pk` and `sk` (see `keys.ts`). The global-state stack
 * declares the table with these names; the local fleet's store, the tests and the benchmarks
 * create theirs with {@link ensureTable}, so every table Orbit code meets has the same keys.
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

/** The CreateTable request for a table with Orbit's key schema, billed on demand. */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' as const },
      { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' as const },
    ],
    BillingMode: 'PAY_PER_REQUEST' as const,
  };
}

/**
 * Creates the table with Orbit's key schema unless it exists, and waits until it is active
 * (at most `timeoutMs`, then throws saying so). A DynamoDB-compatible local store only: in
 * AWS, the global-state stack owns the table.
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  timeoutMs = 10_000
): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() >= deadline) {
      throw new Error(`table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
