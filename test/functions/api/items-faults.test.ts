import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  ReplicatedWriteConflictException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createTableClient } from '../../../core/records/table';
import { declaration } from '../../../functions/api/items/function';
import { itemRoutes } from '../../../functions/api/items/items';
import { ItemStore } from '../../../functions/api/items/store';
import { orbitHandler } from '../../../functions/shared/orbit-handler';
import { httpEvent } from '../../support/events';
import { invoke, testLocation } from '../../support/handlers';

const meta = { $metadata: {} };
const throttled = () =>
  new ProvisionedThroughputExceededException({
    message: 'Rate of requests exceeds the allowed throughput',
    ...meta,
  });
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', ...meta });
const timeout = () => Object.assign(new Error('Request timed out'), { name: 'TimeoutError' });
const denied = () =>
  new DynamoDBServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    message: 'User: arn:aws:sts::123456789012:assumed-role/x is not authorized',
    ...meta,
  });

describe('the items API when the table fails', () => {
  // One attempt: the SDK's own retries are its business; these tests see what is left.
  const table = createTableClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    maxAttempts: 1,
  });
  const ddb = mockClient(DynamoDBDocumentClient);
  const location = testLocation('orbit-test');
  const store = new ItemStore({ table, tableName: 'orbit-test', locationId: 'use1' });
  const handler = orbitHandler(declaration, itemRoutes(store), {
    functionName: 'items',
    location,
    table,
    drainCacheMs: 0,
  });
  const call = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {}
  ) =>
    invoke(
      handler,
      httpEvent({
        method,
        path,
        routeKey: path.startsWith('/items/') ? `${method} /items/{id}` : `${method} /items`,
        pathParameters: path.startsWith('/items/') ? { id: path.slice(7) } : undefined,
        body,
        headers,
        claims: { sub: 'alice' },
      })
    );

  beforeEach(() => {
    ddb.reset();
    ddb.on(BatchGetCommand).resolves({ Responses: {} });
  });

  it.each([
    ['throttling', throttled],
    ['a timeout', timeout],
  ])('answers 503 with Retry-After when a read meets %s', async (_, fault) => {
    ddb.on(GetCommand).rejects(fault());
    const res = await call('GET', '/items/a');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json).toMatchObject({
      type: 'urn:orbit:problem:table-unavailable',
      retryAfterSeconds: 2,
    });
  });

  // On a multi-Region strongly consistent table a write can meet a concurrent write of the
  // same item in another region; DynamoDB answers ReplicatedWriteConflictException, which
  // a retry resolves: 503 with Retry-After, not a 500. Both the SDK's modelled exception and
  // one known only by name (as another SDK build or a proxy may deliver it).
  it.each([
    [
      'the modelled exception',
      () => new ReplicatedWriteConflictException({ message: 'conflict', ...meta }),
    ],
    [
      'an exception known by name only',
      () => Object.assign(new Error('conflict'), { name: 'ReplicatedWriteConflictException' }),
    ],
  ])('answers 503 with Retry-After when an MRSC write conflicts (%s)', async (_, fault) => {
    ddb.on(UpdateCommand).rejects(fault());
    const res = await call('PUT', '/items/a', { x: 1 });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
  });

  it('answers 503 with Retry-After when a write is throttled', async () => {
    ddb.on(UpdateCommand).rejects(throttled());
    const res = await call('PUT', '/items/a', { x: 1 });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
  });

  it('answers 503 when a listing is throttled', async () => {
    ddb.on(QueryCommand).rejects(throttled());
    expect((await call('GET', '/items')).status).toBe(503);
  });

  it('maps a failed condition on a conditional write to 412', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    const res = await call('PUT', '/items/a', { x: 1 }, { 'if-match': '"abc"' });
    expect(res.status).toBe(412);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: '#etag = :expectedEtag',
      ExpressionAttributeValues: expect.objectContaining({ ':expectedEtag': 'abc' }),
    });
  });

  it('retries a PATCH that lost a race, then gives up with 412 after three attempts', async () => {
    ddb.on(GetCommand).resolves({
      Item: { pk: 'ITEMS', sk: 'ITEM#a', id: 'a', value: {}, version: 1, etag: 'e1' },
    });
    ddb.on(UpdateCommand).rejects(conditionFailed());
    const res = await call(
      'PATCH',
      '/items/a',
      { x: 1 },
      { 'content-type': 'application/merge-patch+json' }
    );
    expect(res.status).toBe(412);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 3);
  });

  it('answers a permission error with a generic 500 that does not leak the role', async () => {
    ddb.on(GetCommand).rejects(denied());
    const res = await call('GET', '/items/a');
    expect(res.status).toBe(500);
    expect(res.body).not.toContain('arn:aws');
  });

  it('keeps serving when the drain flags cannot be read (last known state: not drained)', async () => {
    ddb.on(BatchGetCommand).rejects(throttled());
    ddb.on(GetCommand).resolves({});
    expect((await call('GET', '/items/a')).status).toBe(404);
  });
});
