import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where and how to reach the global table. */
export interface TableClientOptions {
  /** The data region: the replica this location reads and writes. */
  readonly region: string;
  /**
   * A DynamoDB-compatible endpoint (the local fleet's embedded store, tests).
   * @default - the AWS regional endpoint, read from `ORBIT_DYNAMODB_ENDPOINT` when set
   */
  readonly endpoint?: string;
}

/**
 * A document client for the global table in the location's data region. Throttling is
 * retried with the SDK's adaptive backoff; local endpoints get static credentials because
 * they check none.
 */
export function createTableClient(options: TableClientOptions): DynamoDBDocumentClient {
  const endpoint = options.endpoint ?? process.env.ORBIT_DYNAMODB_ENDPOINT;
  const client = new DynamoDBClient({
    region: options.region,
    maxAttempts: 4,
    retryMode: 'adaptive',
    ...(endpoint
      ? { endpoint, credentials: { accessKeyId: 'orbit-local', secretAccessKey: 'orbit-local' } }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}
