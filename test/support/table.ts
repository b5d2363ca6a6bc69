import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../core/records/schema';

/** The dynalite endpoint the jest global setup started. */
export function testEndpoint(): string {
  const endpoint = process.env.ORBIT_TEST_DYNAMODB_ENDPOINT;
  if (!endpoint)
    throw new Error('ORBIT_TEST_DYNAMODB_ENDPOINT is unset: run tests through jest (npm test)');
  return endpoint;
}

/** A raw client for the test store (setup and inspection in tests). */
export function testDynamoClient(): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint: testEndpoint(),
    credentials: { accessKeyId: 'orbit-local', secretAccessKey: 'orbit-local' },
  });
}

/** Creates a fresh table with Orbit's key schema; returns its name and a function to drop it. */
export async function createTestTable(): Promise<{ tableName: string; drop: () => Promise<void> }> {
  const client = testDynamoClient();
  const tableName = `orbit-test-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, tableName);
  return {
    tableName,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}
