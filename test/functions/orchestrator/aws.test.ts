import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  GetAliasCommand,
  LambdaClient,
  TooManyRequestsException,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CloudWatchHealthSource,
  LambdaTrafficDriver,
  LambdaTrafficObserver,
} from '../../../functions/orchestrator/aws';
import { keys } from '../../../functions/shared/keys';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

const R1 = 'r-1111111111111111';
const R2 = 'r-2222222222222222';
const throttled = () => new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} });

describe('the AWS Lambda traffic driver', () => {
  const lambda = mockClient(LambdaClient);
  const cloudWatch = mockClient(CloudWatchClient);
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const regions: Record<string, string> = { use1: 'us-east-1', euw1: 'eu-west-1' };
  const options = () => ({
    table: client,
    tableName: table.tableName,
    regionOf: (id: string) => regions[id] as string,
    backoffMs: () => 1,
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

  beforeAll(async () => {
    table = await createTestTable();
    for (const location of Object.keys(regions)) {
      await stage(location, R1, { health: '3', items: '7' });
      await stage(location, R2, { health: '4', items: '8', reports: '1' });
    }
  });
  afterAll(() => table.drop());
  beforeEach(() => {
    lambda.reset();
    cloudWatch.reset();
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

  it('retries throttled alias updates with backoff', async () => {
    lambda.on(UpdateAliasCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
    await new LambdaTrafficDriver(options()).apply('euw1', { stable: R1, weight: 0 });
    expect(lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 4);
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

  it('reads gate health from alarms and the candidate version metrics', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    cloudWatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'invocations0', Values: [40, 2] },
        { Id: 'errors0', Values: [1] },
        { Id: 'invocations1', Values: [10] },
      ],
    });
    const source = new CloudWatchHealthSource({
      ...options(),
      alarmPrefix: (id) => `orbit-prod-${id}-`,
    });
    expect(await source.sample('use1', R2)).toEqual({
      requests: 52,
      errors5xx: 1,
      p99Ms: 0,
      fresh: true,
      alarmsOk: true,
    });
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNamePrefix: 'orbit-prod-use1-',
      StateValue: 'ALARM',
    });
    cloudWatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'orbit-prod-use1-items-error-rate' }] });
    expect((await source.sample('use1', R2)).alarmsOk).toBe(false);
  });

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
