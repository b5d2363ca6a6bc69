import type { LocationContext } from '../../core/location-env';
import { createTableClient } from '../../core/records/table';
import type { OrbitEvent, OrbitResult } from '../../functions/shared/http';
import { lambdaContext } from './events';
import { testEndpoint } from './table';

/** A location context for handler tests, on the given test table. */
export function testLocation(tableName: string, locationId = 'use1'): LocationContext {
  return {
    environment: 'test',
    locationId,
    locationKind: 'region',
    region: 'us-east-1',
    releaseId: 'r-0123456789abcdef',
    tableName,
    dataRegion: 'us-east-1',
  };
}

/** A table client on the test store with few retries, so fault tests stay quick. */
export const testTableClient = () =>
  createTableClient({
    region: 'us-east-1',
    endpoint: testEndpoint(),
    maxAttempts: 2,
    // The store shares a loaded machine with the suite: a busy event loop is no outage.
    timeouts: { connectionMs: 10_000, requestMs: 30_000 },
  });

/** A response with its body parsed (when JSON) for assertions. */
export interface TestResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly json: any;
  readonly body: string;
}

/** Calls a handler like Lambda would and parses what it answers. */
export async function invoke(
  handler: (event: OrbitEvent, context: ReturnType<typeof lambdaContext>) => Promise<OrbitResult>,
  event: OrbitEvent
): Promise<TestResponse> {
  const result = await handler(event, lambdaContext());
  const type = result.headers['content-type'] ?? '';
  return {
    status: result.statusCode,
    headers: result.headers,
    body: result.body,
    json: type.includes('json') && result.body ? JSON.parse(result.body) : undefined,
  };
}
