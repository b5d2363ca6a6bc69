import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { Records } from '../../../../core/records';
import { LambdaSmokeRunner } from '../../../../functions/orchestrator/adapters/lambda-smoke';
import type { SmokeCheck } from '../../../../functions/orchestrator/adapters/smoke-check';
import type { OrbitEvent } from '../../../../functions/shared/http';
import { testTableClient } from '../../../support/handlers';
import { fakeRelease } from '../../../support/release';
import { createTestTable } from '../../../support/table';

const CANDIDATE = 'r-cccccccccccccccc';
const OTHER = 'r-5555555555555555';

const check = (overrides: Partial<SmokeCheck> = {}): SmokeCheck => ({
  method: 'GET',
  path: '/health',
  expectStatus: 200,
  timeoutMs: 5_000,
  ...overrides,
});

const payload = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];

/** What Lambda answers for a version that returned `result` (API Gateway payload 2.0). */
const answered = (result: unknown, version = '7') => ({
  StatusCode: 200,
  ExecutedVersion: version,
  Payload: payload(result),
});

const okHealth = {
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'x-orbit-release': CANDIDATE },
  body: JSON.stringify({ status: 'ok', table: { ok: true } }),
};

describe('smoke checks by invoking staged function versions (regions)', () => {
  const lambda = mockClient(LambdaClient);
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let records: Records;
  const runner = (...checks: SmokeCheck[]) =>
    new LambdaSmokeRunner({
      records,
      regionOf: () => 'us-east-1',
      lambdaFor: () => new LambdaClient({ region: 'us-east-1' }),
      checks,
    });
  const sentEvent = (i = 0): OrbitEvent =>
    JSON.parse(String(lambda.commandCalls(InvokeCommand)[i]?.args[0].input.Payload));

  beforeAll(async () => {
    table = await createTestTable();
    records = new Records(client, table.tableName);
    // As a region stack stages a release: per function its Lambda version, and the manifest.
    await records.stagedReleases.stage({
      locationId: 'use1',
      releaseId: CANDIDATE,
      functions: {
        health: { functionName: 'orbit-test-health', version: '7' },
        echo: { functionName: 'orbit-test-echo', version: '7' },
        fallback: { functionName: 'orbit-test-fallback', version: '7' },
      },
      manifest: JSON.stringify({ ...fakeRelease('S').manifest, releaseId: CANDIDATE }),
    });
  });
  afterAll(async () => {
    await table.drop();
    client.destroy();
  });
  afterEach(() => lambda.reset());

  it('invokes the staged version of the function that serves the path, with the event API Gateway would send', async () => {
    lambda.on(InvokeCommand).resolves(answered(okHealth));
    const [result] = await runner(check({ expectJson: { status: 'ok', 'table.ok': true } })).run(
      'use1',
      CANDIDATE
    );
    expect(result).toEqual({
      check: 'GET /health',
      ok: true,
      detail: expect.stringMatching(/^200 in \d+ ms$/),
    });
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: 'orbit-test-health',
      Qualifier: '7',
    });
    expect(sentEvent()).toMatchObject({
      version: '2.0',
      routeKey: 'GET /health',
      rawPath: '/health',
      rawQueryString: '',
      requestContext: { http: { method: 'GET', path: '/health' }, routeKey: 'GET /health' },
      isBase64Encoded: false,
    });
  });

  it('names path parameters and sends the JSON body, as for a request API Gateway routed', async () => {
    lambda
      .on(InvokeCommand)
      .resolves(answered({ statusCode: 401, headers: { 'x-orbit-release': CANDIDATE }, body: '' }));
    await runner(
      check({ path: '/echo/hello?loud=1', expectStatus: 401 }),
      check({ method: 'POST', path: '/echo', body: { word: 'hi' }, expectStatus: 401 })
    ).run('use1', CANDIDATE);
    expect(sentEvent(0)).toMatchObject({
      routeKey: 'GET /echo/{word}',
      rawPath: '/echo/hello',
      rawQueryString: 'loud=1',
      pathParameters: { word: 'hello' },
      queryStringParameters: { loud: '1' },
    });
    expect(sentEvent(1)).toMatchObject({
      routeKey: 'POST /echo',
      headers: { 'content-type': 'application/json' },
      body: '{"word":"hi"}',
    });
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: 'orbit-test-echo' });
  });

  it('sends a path no route matches to the release’s fallback function', async () => {
    lambda
      .on(InvokeCommand)
      .resolves(answered({ statusCode: 404, headers: { 'x-orbit-release': CANDIDATE }, body: '' }));
    const [result] = await runner(check({ path: '/nowhere', expectStatus: 404 })).run(
      'use1',
      CANDIDATE
    );
    expect(result?.ok).toBe(true);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: 'orbit-test-fallback',
      Qualifier: '7',
    });
    expect(sentEvent().routeKey).toBe('$default');
  });

  it.each([
    ['another status', { ...okHealth, statusCode: 503 }, {}, 'expected 200, got 503'],
    [
      'another JSON field',
      { ...okHealth, body: JSON.stringify({ status: 'unhealthy', table: { ok: false } }) },
      { status: 'ok' },
      'status: expected "ok", got "unhealthy"',
    ],
    [
      'another release’s name',
      { ...okHealth, headers: { 'x-orbit-release': OTHER } },
      {},
      `answered by ${OTHER}, not ${CANDIDATE}`,
    ],
  ])('fails a result with %s, saying what came instead', async (_, result, expectJson, detail) => {
    lambda.on(InvokeCommand).resolves(answered(result));
    expect((await runner(check({ expectJson })).run('use1', CANDIDATE))[0]).toEqual({
      check: 'GET /health',
      ok: false,
      detail,
    });
  });

  it('fails with the function error’s type and message when the version crashed', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      ExecutedVersion: '7',
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'TypeError', errorMessage: 'x is not a function' }),
    });
    expect((await runner(check()).run('use1', CANDIDATE))[0]?.detail).toBe(
      'orbit-test-health:7 failed (Unhandled): TypeError: x is not a function'
    );
  });

  it('fails when another version than the staged one ran', async () => {
    lambda.on(InvokeCommand).resolves(answered(okHealth, '6'));
    expect((await runner(check()).run('use1', CANDIDATE))[0]?.detail).toBe(
      'answered by version 6 of orbit-test-health, not 7'
    );
  });

  it('fails naming the error when the invocation itself fails', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(new ResourceNotFoundException({ message: 'Function not found', $metadata: {} }));
    expect((await runner(check()).run('use1', CANDIDATE))[0]?.detail).toBe(
      'invoking orbit-test-health:7 failed: ResourceNotFoundException: Function not found'
    );
  });

  it('fails after timeoutMs when the version does not answer in time', async () => {
    lambda
      .on(InvokeCommand)
      .callsFake(
        () => new Promise((resolve) => setTimeout(() => resolve(answered(okHealth)), 1_000))
      );
    const started = Date.now();
    expect((await runner(check({ timeoutMs: 100 })).run('use1', CANDIDATE))[0]).toEqual({
      check: 'GET /health',
      ok: false,
      detail: 'timed out after 100 ms',
    });
    expect(Date.now() - started).toBeLessThan(900);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  });

  it('fails every check of a release not staged at the location, invoking nothing', async () => {
    const results = await runner(check(), check({ path: '/echo' })).run('use1', OTHER);
    expect(results.map((r) => r.detail)).toEqual([
      `release ${OTHER} is not staged at use1`,
      `release ${OTHER} is not staged at use1`,
    ]);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('routes by the path’s first segment when the staged record holds no manifest', async () => {
    await records.stagedReleases.stage({
      locationId: 'euw1',
      releaseId: CANDIDATE,
      functions: { health: { functionName: 'orbit-test-health', version: '3' } },
    });
    lambda.on(InvokeCommand).resolves(answered(okHealth, '3'));
    const results = await runner(check(), check({ path: '/items' })).run('euw1', CANDIDATE);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(results[1]?.detail).toBe(`no function of ${CANDIDATE} serves GET /items`);
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
  });
});
