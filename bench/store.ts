import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../core/records/schema';

const STORE = `
const dynalite = require('dynalite');
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port));
`;

/**
 * An in-memory dynalite for the benchmarks, in its own process: the store is another
 * machine's work in production, so it must not share a core's time with the load generator.
 */
export async function startBenchStore(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', STORE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the bench store exited with ${code}`)));
  });
  return {
    endpoint,
    stop: async () => {
      child.kill();
    },
  };
}

/** Creates a table with Orbit's key schema and waits until it is active. */
export async function createLocalTable(endpoint: string, tableName: string): Promise<string> {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  await ensureTable(client, tableName);
  client.destroy();
  return tableName;
}
