import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { defineFunction } from '../../../core/declaration';
import { Records } from '../../../core/records';
import { servesRelease } from '../../../core/records/desired-traffic';
import { keys } from '../../../core/records/keys';
import { DrainState, SERVED_RECHECK_MS } from '../../../functions/shared/drain-state';
import { route } from '../../../functions/shared/http';
import { orbitHandler } from '../../../functions/shared/orbit-handler';
import { httpEvent, lambdaContext } from '../../support/events';
import { invoke, testLocation, testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

/**
 * At a region location the `live` alias routes per function, so a deploy that adds a
 * function makes its first version reachable, and a function that a release removed keeps
 * its versions (the stack retains them). Deploy is not release: such code answers only when
 * the location serves its release, as the desired-traffic record says.
 */
describe('a function at a region location answers only for a release the location serves', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const client = testTableClient();
  const declaration = defineFunction({ routes: [{ method: 'GET', path: '/new', auth: 'none' }] });
  const make = (releaseId: string, checkServedRelease?: boolean) =>
    orbitHandler(
      declaration,
      { 'GET /new': route({ handle: async () => ({ status: 200, body: { ok: true } }) }) },
      {
        functionName: 'brand-new',
        location: { ...testLocation(table.tableName), releaseId },
        table: client,
        drainCacheMs: 0,
        checkServedRelease,
      }
    );
  const get = (releaseId: string, check: boolean | 'default' = true) =>
    invoke(
      make(releaseId, check === 'default' ? undefined : check),
      httpEvent({ method: 'GET', path: '/new', routeKey: 'GET /new' })
    );
  const desire = (item: Record<string, unknown>) =>
    client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.desiredTraffic('use1'), updatedAt: '2026-12-01T00:00:00.000Z', ...item },
      })
    );

  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(() => table.drop());
  afterEach(() =>
    client.send(new DeleteCommand({ TableName: table.tableName, Key: keys.desiredTraffic('use1') }))
  );

  it('answers 404, as the stable release would, while its release is only staged', async () => {
    await desire({ stable: 'r-old', weight: 0 });
    const res = await get('r-new');
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ type: 'urn:orbit:problem:not-found' });
  });

  it('serves once a rollout gives its release a share, and when it is stable', async () => {
    await desire({ stable: 'r-old', candidate: 'r-new', weight: 0.05 });
    expect((await get('r-new')).status).toBe(200);
    await desire({ stable: 'r-new', weight: 0 });
    expect((await get('r-new')).status).toBe(200);
  });

  it('stops answering for a release the location no longer serves (a removed function)', async () => {
    await desire({ stable: 'r-newer', weight: 0 });
    expect((await get('r-new')).status).toBe(404);
  });

  it('serves at a location that has not recorded what it serves yet (its first deploy)', async () => {
    expect((await get('r-new')).status).toBe(200);
  });

  // The orchestrator's smoke checks invoke the staged version itself (`Qualifier: 7`), before
  // the location serves its release; API Gateway only ever invokes the `live` alias.
  it('answers a smoke check that invokes its version directly while its release is only staged', async () => {
    await desire({ stable: 'r-old', weight: 0 });
    const handler = make('r-new', true);
    const event = () => httpEvent({ method: 'GET', path: '/new', routeKey: 'GET /new' });
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:orbit-test-brand-new';
    const byVersion = { ...lambdaContext('orbit-test-brand-new'), invokedFunctionArn: `${arn}:7` };
    expect((await handler(event(), byVersion)).statusCode).toBe(200);
    const byAlias = { ...byVersion, invokedFunctionArn: `${arn}:live` };
    expect((await handler(event(), byAlias)).statusCode).toBe(404);
  });

  it('leaves satellites alone: their runtime loads only the releases they serve', async () => {
    await desire({ stable: 'r-old', weight: 0 });
    expect((await get('r-new', false)).status).toBe(200);
  });

  it('checks by default only on Lambda at a region location', async () => {
    await desire({ stable: 'r-old', weight: 0 });
    const previous = process.env.AWS_LAMBDA_FUNCTION_NAME;
    try {
      expect((await get('r-new', 'default')).status).toBe(200);
      process.env.AWS_LAMBDA_FUNCTION_NAME = 'orbit-test-brand-new';
      expect((await get('r-new', 'default')).status).toBe(404);
    } finally {
      if (previous === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      else process.env.AWS_LAMBDA_FUNCTION_NAME = previous;
    }
  });

  it.each([
    [{ stable: 'a', weight: 0 }, 'a', true],
    [{ stable: 'a', candidate: 'b', weight: 0.25 }, 'b', true],
    [{ stable: 'a', candidate: 'b', weight: 0 }, 'b', false],
    [{ stable: 'a', weight: 0 }, 'b', false],
    [undefined, 'b', true],
  ])('servesRelease(%j, %s) is %s', (desired, release, expected) => {
    expect(servesRelease(desired, release)).toBe(expected);
  });
});

describe('a refusal re-reads what the location serves', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const client = testTableClient();
  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(() => table.drop());

  it('serves at once when the release was added after the cached read, and re-reads at most once per recheck period', async () => {
    let now = 1_000_000;
    const state = new DrainState({
      records: new Records(client, table.tableName),
      locationId: 'use1',
      functionName: 'brand-new',
      releaseId: 'r-new',
      ttlMs: 60_000,
      now: () => now,
    });
    const put = (item: Record<string, unknown>) =>
      client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.desiredTraffic('use1'), updatedAt: 'x', ...item },
        })
      );
    await put({ stable: 'r-old', weight: 0 });
    expect((await state.get()).released).toBe(false);
    // The orchestrator records the candidate, waits SERVED_RECHECK_MS, then moves the alias.
    await put({ stable: 'r-old', candidate: 'r-new', weight: 0.05 });
    now += SERVED_RECHECK_MS;
    expect((await state.get()).released).toBe(false); // the cache is trusted for ttlMs…
    const send = jest.spyOn(client, 'send');
    expect((await state.recheckServed()).released).toBe(true); // …a refusal is not…
    // …and it reads strongly consistent, not from a possibly stale replica.
    const [command] = send.mock.calls[0] ?? [];
    const batch = command as unknown as {
      input: { RequestItems: Record<string, { ConsistentRead?: boolean }> };
    };
    expect(batch.input.RequestItems[table.tableName]?.ConsistentRead).toBe(true);
    send.mockRestore();
    const again = jest.spyOn(client, 'send');
    await put({ stable: 'r-newer', weight: 0 });
    again.mockClear();
    for (let i = 0; i < 10; i++) await state.recheckServed();
    expect(again).not.toHaveBeenCalled();
    again.mockRestore();
  });
});
