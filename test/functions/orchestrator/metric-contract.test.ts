import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Records } from '../../../core/records';
import { keys } from '../../../core/records/keys';
import type { Rollout } from '../../../core/records/rollouts';
import { CloudWatchHealthSource } from '../../../functions/orchestrator/adapters/cloudwatch-health';
import { judge } from '../../../functions/orchestrator/gates';
import { serveCandidate } from '../../support/candidate';
import {
  answerGetMetricData,
  type DataPoint,
  emfDataPoints,
  identityKey,
  lambdaDataPoints,
  publishedMetrics,
  queriedMetric,
} from '../../support/emf';
import { testLocation, testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

/**
 * The gate metric contract: what the region health source queries is derived from what a
 * real handler publishes, not from the strings the code uses. CloudWatch tells metrics apart
 * by namespace, name and the full dimension set ("Specification: Embedded metric format";
 * GetMetricData API reference), so a query that differs in any of them reads nothing.
 */
describe('the gate metric contract', () => {
  const cloudWatch = mockClient(CloudWatchClient);
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let location: ReturnType<typeof testLocation>;
  const release = () => location.releaseId;
  const lambda = { functionName: 'orbit-test-notes', aliasName: 'live', version: '8' };

  const queriesOf = (): GetMetricDataCommandInput['MetricDataQueries'] =>
    cloudWatch
      .commandCalls(GetMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricDataQueries ?? []);

  beforeAll(async () => {
    table = await createTestTable();
    location = testLocation(table.tableName, 'use1');
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.stagedRelease('use1', location.releaseId),
          functions: { notes: { functionName: lambda.functionName, version: lambda.version } },
        },
      })
    );
  });
  afterAll(() => table.drop());
  beforeEach(() => {
    cloudWatch.reset();
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  });

  it('queries each request metric exactly as a real handler publishes it: namespace, name, every dimension and no other', async () => {
    const { blobs, statuses } = await serveCandidate('notes', location, client, {
      ok: 1,
      failed: 1,
    });
    expect(statuses).toEqual([200, 500]);
    const published = publishedMetrics(blobs);
    expect(published.length).toBeGreaterThan(0);
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    await new CloudWatchHealthSource(
      {
        records: new Records(client, table.tableName),
        regionOf: () => 'us-east-1',
        alarmPrefix: () => 'orbit-test-use1-',
        countingSince: async () => Date.now() - 60_000,
      },
      Date.now
    ).sample('use1', release());

    const queried = (queriesOf() ?? []).map((q) => queriedMetric(q.MetricStat?.Metric ?? {}));
    const namespaces = new Set(published.map((m) => m.namespace));
    const publishedKeys = new Set(published.map(identityKey));
    const ofHandlers = queried.filter((m) => namespaces.has(m.namespace));
    // The gates read requests, 5xx answers, latency and drained answers (freshness); each
    // query must name a published metric.
    expect(new Set(ofHandlers.map((m) => m.name))).toEqual(
      new Set(['Requests', 'Errors5xx', 'Latency', 'Drained'])
    );
    for (const metric of ofHandlers) {
      expect(publishedKeys).toContain(identityKey(metric));
    }
    // The rest is Lambda's own metric of the release's version behind the alias (Lambda
    // developer guide, "Types of metrics for Lambda functions": ExecutedVersion dimension).
    for (const metric of queried.filter((m) => !namespaces.has(m.namespace))) {
      expect(metric).toEqual({
        namespace: 'AWS/Lambda',
        name: expect.stringMatching(/^(Errors|Invocations)$/),
        dimensions: {
          FunctionName: 'orbit-test-notes',
          Resource: 'orbit-test-notes:live',
          ExecutedVersion: '8',
        },
      });
    }
  });

  it('breaches the region gate of a candidate that answers 500 to every request through the real middleware', async () => {
    const store = new Records(client, table.tableName);
    const startedAt = Date.now() - 1000;
    const rollout: Rollout = {
      rolloutId: 'ro-contract',
      release: release(),
      previous: { use1: 'r-1111111111111111' },
      status: 'running',
      wave: 0,
      step: 0,
      phase: 'baking',
      bakeUntilMs: startedAt + 5 * 60_000,
      baseline: {},
      touched: ['use1'],
      version: 1,
      createdBy: 'test',
      createdAt: new Date(startedAt).toISOString(),
      updatedAt: new Date(startedAt).toISOString(),
      history: [],
    };
    await store.rollouts.save(rollout);
    expect(await store.rollouts.claimActive(rollout.rolloutId)).toBe(true);

    // CloudWatch holds what the handlers published and what Lambda counted, nothing else.
    const points: DataPoint[] = [];
    cloudWatch
      .on(GetMetricDataCommand)
      .callsFake((input: GetMetricDataCommandInput) => answerGetMetricData(input, points));
    const source = new CloudWatchHealthSource({
      records: new Records(client, table.tableName),
      regionOf: () => 'us-east-1',
      alarmPrefix: () => 'orbit-test-use1-',
    });
    const baseline = await source.sample('use1', release());

    const { blobs, statuses } = await serveCandidate('notes', location, client, { failed: 60 });
    expect(new Set(statuses)).toEqual(new Set([500]));
    points.push(
      ...emfDataPoints(blobs),
      // Every request reached the function, none crashed: the 500s are answers, not errors.
      ...lambdaDataPoints('Invocations', lambda, Date.now(), 60)
    );

    const sample = await source.sample('use1', release());
    expect(sample).toMatchObject({ requests: 60, errors5xx: 60, fresh: true, alarmsOk: true });
    expect(
      judge(sample, baseline, { minRequests: 50, maxErrorRatePercent: 1, maxP99LatencyMs: 2000 })
    ).toMatchObject({
      verdict: 'breach',
      why: 'error rate 100.0% over 60 requests (limit 1%)',
    });
  });
});
