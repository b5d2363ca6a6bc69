import { Readable } from 'node:stream';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import {
  GetAliasCommand,
  LambdaClient,
  TooManyRequestsException,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Records } from '../../../../core/records';
import { keys } from '../../../../core/records/keys';
import type { Rollout } from '../../../../core/records/rollouts';
import {
  createLambdaClient,
  LAMBDA_MAX_ATTEMPTS,
} from '../../../../functions/orchestrator/adapters/aws-clients';
import { CloudWatchHealthSource } from '../../../../functions/orchestrator/adapters/cloudwatch-health';
import { LambdaTrafficObserver } from '../../../../functions/orchestrator/adapters/lambda-observer';
import { LambdaTrafficDriver } from '../../../../functions/orchestrator/adapters/lambda-traffic';
import { judge } from '../../../../functions/orchestrator/gates';
import { serveCandidate } from '../../../support/candidate';
import {
  answerGetMetricData,
  type DataPoint,
  emfDataPoints,
  lambdaDataPoints,
} from '../../../support/emf';
import { testLocation, testTableClient } from '../../../support/handlers';
import { createTestTable } from '../../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';
const R3 = 'r-3333333333333333';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const throttled = () => new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} });
const gates = { minRequests: 50, maxErrorRatePercent: 1, maxP99LatencyMs: 2000 };

const client = testTableClient();
let table: Awaited<ReturnType<typeof createTestTable>>;
const regions: Record<string, string> = {
  use1: 'us-east-1',
  euw1: 'eu-west-1',
  usw2: 'us-west-2',
};
const options = () => ({
  records: new Records(client, table.tableName),
  regionOf: (id: string) => regions[id] ?? 'us-east-1',
});
const stage = (location: string, release: string, versions: Record<string, string>) =>
  client.send(
    new PutCommand({
      TableName: table.tableName,
      Item: {
        ...keys.stagedRelease(location, release),
        functions: Object.fromEntries(
          Object.entries(versions).map(([fn, version]) => [
            fn,
            { functionName: `orbit-prod-${fn}`, version },
          ])
        ),
      },
    })
  );
const desiredAt = async (location: string) =>
  (
    await client.send(
      new GetCommand({ TableName: table.tableName, Key: keys.desiredTraffic(location) })
    )
  ).Item;

beforeAll(async () => {
  table = await createTestTable();
  for (const location of Object.keys(regions)) {
    await stage(location, R1, { health: '3', items: '7' });
    await stage(location, R2, { health: '4', items: '8', reports: '1' });
  }
});
afterAll(() => table.drop());

// Lambda's API cannot run here: every LambdaClient answers from this mock, but for the
// client retry tests at the end, which restore the real client over a fake endpoint.
const lambda = mockClient(LambdaClient);

describe('the AWS Lambda traffic driver', () => {
  beforeEach(() => {
    lambda.reset();
    lambda.on(UpdateAliasCommand).resolves({});
  });

  it('routes a share to the candidate version with AdditionalVersionWeights', async () => {
    await new LambdaTrafficDriver(options()).apply('use1', {
      stable: R1,
      candidate: R2,
      weight: 0.05,
    });
    expect(lambda).toHaveReceivedCommandWith(UpdateAliasCommand, {
      FunctionName: 'orbit-prod-items',
      Name: 'live',
      FunctionVersion: '7',
      RoutingConfig: { AdditionalVersionWeights: { '8': 0.05 } },
    });
    expect(lambda).toHaveReceivedCommandWith(UpdateAliasCommand, {
      FunctionName: 'orbit-prod-health',
      FunctionVersion: '3',
      RoutingConfig: { AdditionalVersionWeights: { '4': 0.05 } },
    });
    // A function new in the candidate has only its own version.
    expect(lambda).toHaveReceivedCommandWith(UpdateAliasCommand, {
      FunctionName: 'orbit-prod-reports',
      FunctionVersion: '1',
      RoutingConfig: { AdditionalVersionWeights: {} },
    });
  });

  it('points the alias at the candidate alone at 100%, and back at stable alone on rollback', async () => {
    const driver = new LambdaTrafficDriver(options());
    await driver.apply('use1', { stable: R1, candidate: R2, weight: 1 });
    expect(lambda).toHaveReceivedCommandWith(UpdateAliasCommand, {
      FunctionName: 'orbit-prod-items',
      FunctionVersion: '8',
      RoutingConfig: { AdditionalVersionWeights: {} },
    });
    lambda.reset();
    lambda.on(UpdateAliasCommand).resolves({});
    await driver.apply('use1', { stable: R1, weight: 0 });
    expect(lambda.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input)).toEqual([
      {
        FunctionName: 'orbit-prod-health',
        Name: 'live',
        FunctionVersion: '3',
        RoutingConfig: { AdditionalVersionWeights: {} },
      },
      {
        FunctionName: 'orbit-prod-items',
        Name: 'live',
        FunctionVersion: '7',
        RoutingConfig: { AdditionalVersionWeights: {} },
      },
    ]);
  });

  it('leaves throttling to the Lambda client: the driver sends a throttled UpdateAlias once, then fails naming it', async () => {
    lambda.on(UpdateAliasCommand, { FunctionName: 'orbit-prod-health' }).rejects(throttled());
    await expect(
      new LambdaTrafficDriver(options()).apply('euw1', { stable: R1, weight: 0 })
    ).rejects.toThrow(/orbit-prod-health: TooManyRequestsException: Rate exceeded/);
    expect(
      lambda
        .commandCalls(UpdateAliasCommand)
        .filter((c) => c.args[0].input.FunctionName === 'orbit-prod-health')
    ).toHaveLength(1);
  });

  it('updates every other function when one fails, then fails naming it', async () => {
    lambda
      .on(UpdateAliasCommand, { FunctionName: 'orbit-prod-health' })
      .rejects(Object.assign(new Error('access denied'), { name: 'AccessDeniedException' }));
    await expect(
      new LambdaTrafficDriver(options()).apply('euw1', { stable: R1, candidate: R2, weight: 0.25 })
    ).rejects.toThrow(
      /location euw1: 1 alias update\(s\) failed: orbit-prod-health: AccessDeniedException/
    );
    expect(lambda).toHaveReceivedCommandWith(UpdateAliasCommand, {
      FunctionName: 'orbit-prod-items',
    });
  });

  it('uses the Lambda client of each location region', async () => {
    const made: string[] = [];
    const driver = new LambdaTrafficDriver({
      ...options(),
      lambdaFor: (region) => {
        made.push(region);
        return new LambdaClient({ region });
      },
    });
    await driver.apply('use1', { stable: R1, weight: 0 });
    await driver.apply('euw1', { stable: R1, weight: 0 });
    expect(made).toEqual(['us-east-1', 'eu-west-1']);
  });

  describe('the desired-traffic record (what the location serves, written as for satellites)', () => {
    const driver = () => new LambdaTrafficDriver({ ...options(), servedRecheckMs: 50 });
    const setDesired = (record: { stable: string; candidate?: string; weight: number }) =>
      client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.desiredTraffic('usw2'), ...record, updatedAt: 'earlier' },
        })
      );
    /** What the record said at each alias update, and when the update was sent. */
    const recordDuringUpdates = () => {
      const seen: { at: number; record: Record<string, unknown> | undefined }[] = [];
      lambda.on(UpdateAliasCommand).callsFake(async () => {
        seen.push({ at: Date.now(), record: await desiredAt('usw2') });
        return {};
      });
      return seen;
    };

    it('changes weights in the record once every alias moved', async () => {
      await setDesired({ stable: R1, candidate: R2, weight: 0.25 });
      const seen = recordDuringUpdates();
      await driver().apply('usw2', { stable: R1, candidate: R2, weight: 0.5 });
      expect(seen.map((s) => s.record?.weight)).toEqual([0.25, 0.25, 0.25]);
      expect(await desiredAt('usw2')).toEqual({
        ...keys.desiredTraffic('usw2'),
        stable: R1,
        candidate: R2,
        weight: 0.5,
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    });

    it('fails without touching the record when an alias update fails', async () => {
      await setDesired({ stable: R1, candidate: R2, weight: 0.25 });
      lambda
        .on(UpdateAliasCommand, { FunctionName: 'orbit-prod-items' })
        .rejects(
          Object.assign(new Error('version 8 is gone'), { name: 'ResourceNotFoundException' })
        );
      await expect(
        driver().apply('usw2', { stable: R1, candidate: R2, weight: 0.5 })
      ).rejects.toThrow(/orbit-prod-items: ResourceNotFoundException/);
      expect(await desiredAt('usw2')).toMatchObject({ weight: 0.25, updatedAt: 'earlier' });
    });

    it('takes a release out of the record only once no alias routes to it (rollback)', async () => {
      await setDesired({ stable: R1, candidate: R2, weight: 0.5 });
      const seen = recordDuringUpdates();
      await driver().apply('usw2', { stable: R1, weight: 0 });
      expect(seen.map((s) => s.record?.candidate)).toEqual([R2, R2]);
      expect(await desiredAt('usw2')).toMatchObject({ stable: R1, weight: 0 });
      expect((await desiredAt('usw2'))?.candidate).toBeUndefined();
    });

    it('records a release it adds before routing to it, once cached refusals have expired', async () => {
      await setDesired({ stable: R1, weight: 0 });
      const seen = recordDuringUpdates();
      await driver().apply('usw2', { stable: R1, candidate: R2, weight: 0.05 });
      const recorded = Date.parse(String(seen[0]?.record?.updatedAt));
      expect(seen[0]?.record).toMatchObject({ stable: R1, candidate: R2, weight: 0.05 });
      expect((seen[0]?.at ?? 0) - recorded).toBeGreaterThanOrEqual(50);
    });
  });
});

describe('the CloudWatch health source', () => {
  const cloudWatch = mockClient(CloudWatchClient);
  // The rollout of R2 started at T0; figures are read as CloudWatch would answer them.
  const T0 = Date.parse('2026-11-25T10:00:30Z');
  let points: DataPoint[] = [];
  let pageSize: number | undefined;
  let templates: Map<string, DataPoint[]>;

  /** Real EMF points of one request of `fn` answering `status`, moved to time `t`. */
  const request = (fn: string, t: number, status: 200 | 500, latencyMs?: number): DataPoint[] =>
    (templates.get(`${fn} ${status}`) as DataPoint[]).map((p) => ({
      ...p,
      timestamp: t,
      value: p.name === 'Latency' && latencyMs !== undefined ? latencyMs : p.value,
    }));
  const requests = (n: number, fn: string, t: number, status: 200 | 500 = 200) =>
    Array.from({ length: n }, () => request(fn, t, status)).flat();
  const lambdaPoints =
    (metric: 'Invocations' | 'Errors', fn: string, version: string) => (t: number, count: number) =>
      lambdaDataPoints(
        metric,
        { functionName: `orbit-prod-${fn}`, aliasName: 'live', version },
        t,
        count
      );
  const source = (now: number, extra: Partial<{ countingSince: () => Promise<number> }> = {}) =>
    new CloudWatchHealthSource(
      {
        ...options(),
        alarmPrefix: (id) => `orbit-prod-${id}-`,
        countingSince: async () => T0,
        ...extra,
      },
      () => now
    );
  const metricCalls = () =>
    cloudWatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);

  beforeAll(async () => {
    templates = new Map();
    // The handlers get a table of their own, where use1 records nothing they would refuse.
    const own = await createTestTable();
    const location = { ...testLocation(own.tableName, 'use1'), releaseId: R2 };
    for (const fn of ['health', 'items', 'reports']) {
      for (const status of [200, 500] as const) {
        const { blobs, statuses } = await serveCandidate(fn, location, client, {
          ok: status === 200 ? 1 : 0,
          failed: status === 500 ? 1 : 0,
        });
        expect(statuses).toEqual([status]);
        templates.set(`${fn} ${status}`, emfDataPoints(blobs));
      }
    }
    await own.drop();
  });
  beforeEach(() => {
    cloudWatch.reset();
    points = [];
    pageSize = undefined;
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    cloudWatch
      .on(GetMetricDataCommand)
      .callsFake((input: GetMetricDataCommandInput) =>
        answerGetMetricData(input, points, { pageSize })
      );
  });

  it("counts the release's requests and 5xx answers from its handlers' request metrics, crashes as failed requests", async () => {
    const t = T0 + 10 * MINUTE;
    points = [
      ...requests(40, 'items', t),
      ...requests(10, 'items', t, 500),
      ...requests(5, 'health', t),
      // Two invocations timed out: Lambda counts them, the middleware never published them.
      ...lambdaPoints('Errors', 'items', '8')(t, 2),
      // The stable release's traffic is not the candidate's.
      ...lambdaPoints('Errors', 'items', '7')(t, 9),
    ];
    expect(await source(T0 + 20 * MINUTE).sample('use1', R2)).toEqual({
      requests: 57,
      errors5xx: 12,
      p99Ms: expect.any(Number),
      fresh: true,
      alarmsOk: true,
    });
  });

  it("samples the stable release beside the candidate, from its own versions' metrics over the same window", async () => {
    const t = T0 + 10 * MINUTE;
    const asStable = (ps: DataPoint[]) =>
      ps.map((p) => ({ ...p, dimensions: { ...p.dimensions, release: R1 } }));
    points = [
      ...requests(30, 'items', t),
      ...requests(3, 'items', t, 500),
      ...asStable(requests(50, 'items', t)),
      ...asStable(requests(1, 'items', t, 500)),
      // A crash of a stable version counts for stable, not for the candidate.
      ...lambdaPoints('Errors', 'items', '7')(t, 2),
    ];
    const sample = await source(T0 + 20 * MINUTE).sample('use1', R2, R1);
    expect(sample).toMatchObject({ requests: 33, errors5xx: 3 });
    expect(sample.stable).toMatchObject({ requests: 53, errors5xx: 3 });
    // One round of queries per release: the stable one names the stable versions.
    const versions = metricCalls()
      .flatMap((c) => c.MetricDataQueries ?? [])
      .flatMap((q) => q.MetricStat?.Metric?.Dimensions ?? [])
      .filter((d) => d.Name === 'ExecutedVersion')
      .map((d) => d.Value);
    expect(new Set(versions)).toEqual(new Set(['3', '7', '4', '8', '1']));
  });

  it('is not fresh when a function served invocations in the last minutes but published no request metrics', async () => {
    const now = T0 + 30 * MINUTE;
    points = [
      ...requests(60, 'items', T0 + MINUTE),
      ...lambdaPoints('Invocations', 'items', '8')(now - 2 * MINUTE, 10),
    ];
    expect((await source(now).sample('use1', R2)).fresh).toBe(false);
    points.push(...requests(10, 'items', now - 2 * MINUTE));
    expect((await source(now).sample('use1', R2)).fresh).toBe(true);
  });

  it('stays fresh when every recent invocation crashed (those publish nothing), so the gate breaches', async () => {
    const now = T0 + 30 * MINUTE;
    const crash = (metric: 'Invocations' | 'Errors') =>
      lambdaPoints(metric, 'items', '8')(now - 2 * MINUTE, 60);
    points = [...crash('Invocations'), ...crash('Errors')];
    const sample = await source(now).sample('use1', R2);
    expect(sample).toMatchObject({ requests: 60, errors5xx: 60, fresh: true });
    expect(judge(sample, { requests: 0, errors5xx: 0 }, gates).verdict).toBe('breach');
  });

  it("reads p99 from the Latency metric over the counting window, the slowest function's", async () => {
    const t = T0 + 5 * MINUTE;
    points = [
      ...Array.from({ length: 100 }, (_, i) => request('items', t, 200, i + 1)).flat(),
      ...Array.from({ length: 100 }, () => request('health', t, 200, 10)).flat(),
      // Before the rollout started: not this rollout's latency.
      ...request('items', T0 - 2 * MINUTE, 200, 9000),
    ];
    const sample = await source(T0 + 10 * MINUTE).sample('use1', R2);
    expect(sample.p99Ms).toBe(99);
    expect(
      metricCalls()
        .flatMap((c) => c.MetricDataQueries ?? [])
        .filter((q) => q.MetricStat?.Metric?.MetricName === 'Latency')
        .map((q) => q.MetricStat?.Stat)
    ).toEqual(['p99', 'p99', 'p99']);
    points.push(...request('reports', t, 200, 2500));
    expect(
      judge(await source(T0 + 10 * MINUTE).sample('use1', R2), { requests: 0, errors5xx: 0 }, gates)
    ).toMatchObject({
      verdict: 'breach',
      why: 'p99 2500 ms (limit 2000 ms)',
    });
  });

  it('counts from the rollout start however long the bake: the first hours of a 5-hour bake still count', async () => {
    // The step starts a minute in; its first hour fails 10% of requests, then all goes well.
    const stepStart = T0 + MINUTE;
    points = [...requests(100, 'items', stepStart + 10 * MINUTE, 500)];
    for (let h = 0; h < 5; h++)
      points.push(...requests(180, 'items', stepStart + h * HOUR + 30 * MINUTE));
    const baseline = await source(stepStart).sample('use1', R2);
    const sample = await source(T0 + 5 * HOUR + 5 * MINUTE).sample('use1', R2);
    expect(sample.requests - baseline.requests).toBe(1000);
    expect(sample.errors5xx - baseline.errors5xx).toBe(100);
    expect(judge(sample, baseline, gates)).toMatchObject({
      verdict: 'breach',
      why: 'error rate 10.0% over 1000 requests (limit 1%)',
    });
  });

  // GetMetricData / MetricStat API reference: periods are multiples of 60 s, of 300 s for a
  // start 15 to 63 days ago; start times are rounded down to the minute, or 5 minutes.
  it.each<[string, number, number, number]>([
    ['an hour', T0 - HOUR + 15_000, 60, 60_000],
    ['20 days', T0 - 20 * DAY + 15_000, 300, 300_000],
    ['70 days', T0 - 70 * DAY + 15_000, 3600, 3_600_000],
  ])(
    'counts a rollout started %s ago over one aligned period',
    async (_, since, multiple, step) => {
      await source(T0, { countingSince: async () => since }).sample('use1', R2);
      const totals = metricCalls()[0] as GetMetricDataCommandInput;
      const period = totals.MetricDataQueries?.[0]?.MetricStat?.Period as number;
      const start = (totals.StartTime as Date).getTime();
      const end = (totals.EndTime as Date).getTime();
      expect(period % multiple).toBe(0);
      expect(start % step).toBe(0);
      expect(start).toBeLessThanOrEqual(since);
      expect(end).toBeGreaterThanOrEqual(T0);
      expect(start + period * 1000).toBeGreaterThanOrEqual(end);
    }
  );

  it('splits its queries into calls of at most 500 with valid ids, and follows NextToken', async () => {
    const names = Array.from({ length: 130 }, (_, i) => `fn${String(i).padStart(3, '0')}`);
    await stage('use1', R3, Object.fromEntries(names.map((n) => [n, '1'])));
    const template = templates.get('items 200') as DataPoint[];
    points = names.flatMap((fn) =>
      template.map((p) => ({
        ...p,
        dimensions: { ...p.dimensions, function: fn, release: R3 },
        timestamp: T0 + MINUTE,
      }))
    );
    pageSize = 7;
    const sample = await source(T0 + 10 * MINUTE).sample('use1', R3);
    expect(sample.requests).toBe(130);
    const calls = metricCalls();
    expect(calls.filter((c) => !c.NextToken).length).toBeGreaterThanOrEqual(3);
    for (const c of calls) {
      expect((c.MetricDataQueries ?? []).length).toBeLessThanOrEqual(500);
      for (const q of c.MetricDataQueries ?? []) expect(q.Id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
    }
  });

  it('fails the sample when CloudWatch cannot answer a query', async () => {
    cloudWatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: 'requests_0',
          StatusCode: 'Forbidden',
          Messages: [{ Code: 'Forbidden', Value: 'denied' }],
        },
      ],
    });
    await expect(source(T0 + MINUTE).sample('use1', R2)).rejects.toThrow(
      'metric requests_0: Forbidden (denied)'
    );
  });

  // CloudWatch API Reference, DescribeAlarms: AlarmNamePrefix with StateValue ALARM lists the
  // firing alarms of that prefix (metric alarms by default); one on the first page is enough.
  it('breaks the gate when an alarm of the location is firing', async () => {
    expect((await source(T0 + MINUTE).sample('use1', R2)).alarmsOk).toBe(true);
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNamePrefix: 'orbit-prod-use1-',
      StateValue: 'ALARM',
    });
    cloudWatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'orbit-prod-use1-items-error-rate' }] });
    expect((await source(T0 + MINUTE).sample('use1', R2)).alarmsOk).toBe(false);
  });

  it('counts from the start of the active rollout of the release, and fails when none is active', async () => {
    const store = new Records(client, table.tableName);
    const bare = () =>
      new CloudWatchHealthSource(
        { ...options(), alarmPrefix: (id) => `orbit-prod-${id}-` },
        () => T0 + HOUR
      );
    await expect(bare().sample('use1', R2)).rejects.toThrow(
      `no rollout of release ${R2} is active: region gates count from its rollout's start`
    );
    const rollout: Rollout = {
      rolloutId: 'ro-window',
      release: R2,
      previous: { use1: R1 },
      status: 'running',
      wave: 0,
      step: 0,
      phase: 'baking',
      bakeUntilMs: T0 + HOUR,
      baseline: {},
      touched: ['use1'],
      version: 1,
      createdBy: 'test',
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0).toISOString(),
      history: [],
    };
    await store.rollouts.save(rollout);
    expect(await store.rollouts.claimActive(rollout.rolloutId)).toBe(true);
    await bare().sample('use1', R2);
    expect(metricCalls()[0]?.StartTime).toEqual(new Date('2026-11-25T10:00:00Z'));
    await store.rollouts.releaseActive(rollout.rolloutId);
  });
});

describe('the Lambda traffic observer', () => {
  afterEach(() => lambda.reset());

  it('reads back what the aliases route, for the drift job', async () => {
    lambda.on(GetAliasCommand, { FunctionName: 'orbit-prod-health' }).resolves({
      FunctionVersion: '3',
      RoutingConfig: { AdditionalVersionWeights: { '4': 0.25 } },
    });
    lambda.on(GetAliasCommand, { FunctionName: 'orbit-prod-items' }).resolves({
      FunctionVersion: '7',
      RoutingConfig: { AdditionalVersionWeights: { '8': 0.25 } },
    });
    const observer = new LambdaTrafficObserver(options());
    expect(await observer.observe('use1', { stable: R1, candidate: R2 })).toEqual({
      stable: R1,
      candidate: R2,
      weight: 0.25,
      unknown: [],
    });
    lambda
      .on(GetAliasCommand, { FunctionName: 'orbit-prod-items' })
      .resolves({ FunctionVersion: '5' });
    // Without a candidate in the desired state, the health alias's 25% is drift too.
    expect((await observer.observe('use1', { stable: R1 })).unknown).toEqual([
      'orbit-prod-health → 3 + 4@0.25',
      'orbit-prod-items → 5',
    ]);
  });
});

describe('the Lambda client', () => {
  beforeAll(() => lambda.restore());
  afterEach(() => jest.useRealTimers());

  /** A Lambda endpoint that throttles (HTTP 429, `TooManyRequestsException`) `throttles` times. */
  const throttlingEndpoint = (throttles: number) => {
    const calls: number[] = [];
    const handler = {
      handle: async () => {
        calls.push(Date.now());
        const throttle = calls.length <= throttles;
        const body = throttle
          ? { message: 'Rate exceeded', Reason: 'CallerRateLimitExceeded' }
          : { AliasArn: 'arn:aws:lambda:us-east-1:123456789012:function:f:live', Name: 'live' };
        return {
          response: {
            statusCode: throttle ? 429 : 200,
            headers: {
              'content-type': 'application/json',
              ...(throttle ? { 'x-amzn-errortype': 'TooManyRequestsException' } : {}),
            },
            body: Readable.from([Buffer.from(JSON.stringify(body))]),
          },
        };
      },
    };
    const lambda = createLambdaClient('us-east-1', {
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: handler as never,
    });
    return { lambda, calls };
  };

  /** Sends an UpdateAlias with the clock faked, so the SDK's backoff takes no real time. */
  const updateAlias = async (lambda: LambdaClient) => {
    jest.useFakeTimers();
    let outcome: { ok: boolean; error?: Error } | undefined;
    lambda
      .send(new UpdateAliasCommand({ FunctionName: 'f', Name: 'live', FunctionVersion: '2' }))
      .then(
        () => {
          outcome = { ok: true };
        },
        (error: Error) => {
          outcome = { ok: false, error };
        }
      );
    for (let i = 0; i < 600 && !outcome; i++) await jest.advanceTimersByTimeAsync(500);
    return outcome;
  };

  // AWS SDKs and Tools reference guide, "Retry behavior": throttling errors are retried with
  // jittered exponential backoff (adaptive mode adds client-side rate limiting), and
  // max_attempts bounds the attempts, the first included.
  it('retries a throttled UpdateAlias itself, with backoff, until Lambda accepts it', async () => {
    const { lambda, calls } = throttlingEndpoint(2);
    expect(await updateAlias(lambda)).toEqual({ ok: true });
    expect(calls).toHaveLength(3);
    expect((calls[1] as number) - (calls[0] as number)).toBeGreaterThan(0);
  });

  it('fails after LAMBDA_MAX_ATTEMPTS attempts in all when Lambda keeps throttling', async () => {
    const { lambda, calls } = throttlingEndpoint(100);
    const outcome = await updateAlias(lambda);
    expect(outcome?.ok).toBe(false);
    expect(outcome?.error?.name).toBe('TooManyRequestsException');
    expect(LAMBDA_MAX_ATTEMPTS).toBeLessThanOrEqual(5);
    expect(calls).toHaveLength(LAMBDA_MAX_ATTEMPTS);
  });
});
