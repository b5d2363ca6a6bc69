import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Environment } from '../../../core/environment/schema';
import { Records } from '../../../core/records';
import { keys } from '../../../core/records/keys';
import { CloudWatchHealthSource } from '../../../functions/orchestrator/adapters/cloudwatch-health';
import { judge } from '../../../functions/orchestrator/gates';
import { serveCandidate } from '../../support/candidate';
import {
  answerGetMetricData,
  type DataPoint,
  emfDataPoints,
  lambdaDataPoints,
} from '../../support/emf';
import { testLocation, testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const gates = {
  minRequests: 50,
  maxErrorRatePercent: 1,
  maxP99LatencyMs: 2000,
} as Environment['rollout']['gates'];

/**
 * A drain during a rollout at a region location: the answers the kill switch gives are
 * published as `Drained`, so the region gate, which reads `Requests` and `Errors5xx` as a
 * real handler publishes them, sees no release error.
 */
describe('drained answers at a region location', () => {
  const cloudWatch = mockClient(CloudWatchClient);
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let location: ReturnType<typeof testLocation>;
  const lambda = { functionName: 'orbit-test-notes', aliasName: 'live', version: '8' };

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
  afterEach(() => cloudWatch.reset());

  it('publishes a drained location’s 503s as Drained, and its gate sees no breach', async () => {
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.locationDrain('use1'), drained: true, reason: 'maintenance' },
      })
    );
    const points: DataPoint[] = [];
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    cloudWatch
      .on(GetMetricDataCommand)
      .callsFake((input: GetMetricDataCommandInput) => answerGetMetricData(input, points));
    const source = new CloudWatchHealthSource({
      records: new Records(client, table.tableName),
      regionOf: () => 'us-east-1',
      alarmPrefix: () => 'orbit-test-use1-',
      countingSince: async () => Date.now() - 60_000,
    });
    const baseline = await source.sample('use1', location.releaseId);

    const { blobs, statuses } = await serveCandidate('notes', location, client, { ok: 60 });
    expect(new Set(statuses)).toEqual(new Set([503]));
    const drained = emfDataPoints(blobs).filter((p) => p.name === 'Drained');
    expect(drained.reduce((n, p) => n + p.value, 0)).toBe(60);
    points.push(
      ...emfDataPoints(blobs),
      ...lambdaDataPoints('Invocations', lambda, Date.now(), 60)
    );

    const sample = await source.sample('use1', location.releaseId);
    expect(sample).toMatchObject({ requests: 0, errors5xx: 0 });
    expect(judge(sample, baseline, gates).verdict).not.toBe('breach');
  });
});
