import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TableUnavailableError } from './errors';

/** Where and how to reach the global table. */
export interface TableClientOptions {
  /** The data region: the replica this location reads and writes. */
  readonly region: string;
  /**
   * A DynamoDB-compatible endpoint (the local fleet's embedded store, tests).
   * @default - the AWS regional endpoint, or `ORBIT_DYNAMODB_ENDPOINT` when set
   */
  readonly endpoint?: string;
  /**
   * Attempts per request, the first included; throttling is retried with adaptive backoff.
   * @default 4
   */
  readonly maxAttempts?: number;
}

/**
 * A document client for the global table in the location's data region. Throttling is
 * retried with the SDK's adaptive backoff and requests time out quickly, so that a slow
 * replica turns into a 503 with `Retry-After` well before the function's own timeout.
 * Local endpoints get static credentials because they check none.
 */
export function createTableClient(options: TableClientOptions): DynamoDBDocumentClient {
  const endpoint = options.endpoint ?? process.env.ORBIT_DYNAMODB_ENDPOINT;
  const client = new DynamoDBClient({
    region: options.region,
    maxAttempts: options.maxAttempts ?? 4,
    retryMode: 'adaptive',
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_500 },
    ...(endpoint
      ? { endpoint, credentials: { accessKeyId: 'orbit-local', secretAccessKey: 'orbit-local' } }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** Errors that mean "the table is saturated or unreachable right now", not "the request is bad". */
const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  // MRSC: another region is writing the same item; retrying later succeeds (DynamoDB API
  // Reference, "Common errors" / ReplicatedWriteConflictException).
  'ReplicatedWriteConflictException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
]);

/** Seconds a client should wait before retrying after the table was unavailable. */
export const TABLE_RETRY_AFTER_SECONDS = 2;

/**
 * Translates a table failure the SDK could not retry away into a 503 with `Retry-After`;
 * anything else (a bug, a permission error) is rethrown unchanged and becomes a logged 500.
 */
export function mapTableError(err: unknown): never {
  const e = err as { name?: string; code?: string; $retryable?: unknown };
  if (TRANSIENT.has(e?.name ?? '') || TRANSIENT.has(e?.code ?? '') || e?.$retryable) {
    throw new TableUnavailableError(
      'the data store is busy or unreachable; retry after the indicated delay',
      TABLE_RETRY_AFTER_SECONDS,
      { cause: err }
    );
  }
  throw err;
}

/** True when `err` is DynamoDB refusing a conditional write or delete. */
export const isConditionFailed = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'ConditionalCheckFailedException';
