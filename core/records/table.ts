import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { TableUnavailableError } from '../errors';
import type { TableKey } from './keys';

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
  /**
   * How long connecting, and then answering, may take in ms. Short by default so that a slow
   * replica fails fast; tests on a loaded machine give the embedded store longer.
   * @default { connectionMs: 1000, requestMs: 2500 }
   */
  readonly timeouts?: { readonly connectionMs: number; readonly requestMs: number };
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
    requestHandler: {
      connectionTimeout: options.timeouts?.connectionMs ?? 1_000,
      requestTimeout: options.timeouts?.requestMs ?? 2_500,
    },
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

/** The global table as the records layer reaches it: a document client and the table's name. */
export interface RecordTable {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** How a record is read. */
export interface ReadOptions {
  /** A strongly consistent read. @default - the request leaves it out (eventually consistent) */
  readonly consistent?: boolean;
  /** Ends the read early (health probes bound their reads). @default - no limit but the client's */
  readonly abortSignal?: AbortSignal;
}

/** Another writer changed the record first; the caller stops and lets the next run look again. */
export class ConflictError extends Error {
  constructor(what: string, options?: ErrorOptions) {
    super(`${what} was changed by another writer`, options);
    this.name = 'ConflictError';
  }
}

const consistency = (options: ReadOptions) =>
  options.consistent === undefined ? {} : { ConsistentRead: options.consistent };
const signal = (options: ReadOptions) =>
  options.abortSignal ? { abortSignal: options.abortSignal } : undefined;

/** One item by key, or `undefined` when there is none. */
export async function getItem(
  table: RecordTable,
  key: TableKey,
  options: ReadOptions & { readonly projection?: string } = {}
): Promise<Record<string, unknown> | undefined> {
  const out = await table.client.send(
    new GetCommand({
      TableName: table.tableName,
      Key: key,
      ...consistency(options),
      ...(options.projection ? { ProjectionExpression: options.projection } : {}),
    }),
    signal(options)
  );
  return out.Item;
}

/** Items by key, in BatchGetItem pages of 100, unprocessed keys retried; absent ones left out. */
export async function batchGetItems(
  table: RecordTable,
  all: readonly TableKey[],
  options: ReadOptions = {}
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < all.length; i += 100) {
    let request: BatchGetCommandInput['RequestItems'] = {
      [table.tableName]: { Keys: all.slice(i, i + 100), ...consistency(options) },
    };
    // BatchGetItem may leave keys unprocessed under load; the next round reads them.
    while (request && Object.keys(request).length > 0) {
      const out: BatchGetCommandOutput = await table.client.send(
        new BatchGetCommand({ RequestItems: request }),
        signal(options)
      );
      found.push(...(out.Responses?.[table.tableName] ?? []));
      request = out.UnprocessedKeys;
    }
  }
  return found;
}

/** The item of `items` stored under `key`, if any. */
export const itemAt = <T = Record<string, unknown>>(
  items: readonly Record<string, unknown>[],
  key: TableKey
): T | undefined => items.find((i) => i.pk === key.pk && i.sk === key.sk) as T | undefined;

/** Every item of a query, page after page. */
export async function queryAll(
  table: RecordTable,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out: QueryCommandOutput = await table.client.send(
      new QueryCommand({ TableName: table.tableName, ...input, ExclusiveStartKey: start })
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Runs a conditional write: true when it was made, false when its condition failed. */
export async function conditionally(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}

/**
 * An update that sets `attributes` and nothing else, so that what other writers own on the
 * same item survives (deploys and the orchestrator share location items).
 */
export function setAttributes(
  tableName: string,
  key: TableKey,
  attributes: Readonly<Record<string, unknown>>
): UpdateCommandInput & { Key: TableKey } {
  const names = Object.keys(attributes);
  return {
    TableName: tableName,
    Key: key,
    UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
    ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
    ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:v${i}`, attributes[n]])),
  };
}

/** A DynamoDB attribute value in the low-level API's form (what a CloudFormation custom resource sends). */
export type AttributeValue =
  | { readonly S: string }
  | { readonly N: string }
  | { readonly BOOL: boolean }
  | { readonly M: Readonly<Record<string, AttributeValue>> };

/** `value` (strings, numbers, booleans and maps of them) as a low-level attribute value. */
export function toAttributeValue(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number' && Number.isFinite(value)) return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return {
      M: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toAttributeValue(v)])),
    };
  }
  throw new Error(`cannot store ${String(value)} as a platform record attribute`);
}

/** Every value of `values` as a low-level attribute value. */
export const toAttributeValues = (
  values: Readonly<Record<string, unknown>>
): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, toAttributeValue(v)]));

/** A put in the low-level API's form, for a CloudFormation custom resource to send. */
export const lowLevelPut = <T extends { readonly Item: Readonly<Record<string, unknown>> }>(
  put: T
) => ({ ...put, Item: toAttributeValues(put.Item) });

/** An update in the low-level API's form, for a CloudFormation custom resource to send. */
export const lowLevelUpdate = <
  T extends {
    readonly Key: TableKey;
    readonly ExpressionAttributeValues?: Readonly<Record<string, unknown>>;
  },
>(
  update: T
) => {
  const { ExpressionAttributeValues: values, ...rest } = update;
  return {
    ...rest,
    Key: toAttributeValues({ ...update.Key }),
    // DynamoDB refuses an empty ExpressionAttributeValues map.
    ...(values && Object.keys(values).length > 0
      ? { ExpressionAttributeValues: toAttributeValues(values) }
      : {}),
  };
};
