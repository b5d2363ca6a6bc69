import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { ensureTable } from '../../core/records/schema';
import { close, listen } from './listen';

/** The local fleet's embedded DynamoDB-compatible store. */
export interface LocalStore {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts dynalite on loopback (in memory, or in `persistDir` to keep data between runs) and
 * makes sure the fleet's table exists with Orbit's key schema.
 */
export async function startLocalStore(
  port: number,
  tableName: string,
  persistDir?: string
): Promise<LocalStore> {
  const server = dynalite({
    path: persistDir,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const bound = await listen(server, port, 'the embedded store');
  const endpoint = `http://127.0.0.1:${bound}`;
  const client = new DynamoDBClient({
    region: 'local',
    endpoint,
    credentials: { accessKeyId: 'orbit-local', secretAccessKey: 'orbit-local' },
  });
  try {
    await ensureTable(client, tableName);
  } finally {
    client.destroy();
  }
  return { endpoint, stop: () => close(server) };
}
