import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GateAlarms, type GateAlarmsProps } from '../../lib/constructs/gate-alarms';
import { serveCandidate } from '../support/candidate';
import { identityKey, type MetricIdentity, publishedMetrics, queriedMetric } from '../support/emf';
import { testLocation, testTableClient } from '../support/handlers';
import { createTestTable } from '../support/table';

type AlarmMetric = {
  Id: string;
  Expression?: string;
  MetricStat?: {
    Metric: {
      Namespace: string;
      MetricName: string;
      Dimensions: { Name: string; Value: string }[];
    };
    Stat: string;
  };
};

/**
 * The gate alarms watch the metrics a real handler publishes: derived from its EMF output,
 * the alarms' metrics must match them exactly (namespace, name, full dimension set), or
 * CloudWatch evaluates them on no data ("Setting alarms on metrics created with the
 * embedded metric format", CloudWatch user guide).
 */
describe('GateAlarms', () => {
  const client = testTableClient();
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let published: MetricIdentity[];
  let release: string;

  const synth = (props: Partial<GateAlarmsProps> = {}) => {
    const stack = new Stack(new App(), 'Alarms');
    new GateAlarms(stack, 'GateAlarms', {
      functionName: 'orbit-test-notes',
      aliasName: 'live',
      alarmNamePrefix: 'orbit-test-use1-notes',
      maxErrorRatePercent: 1,
      maxP99LatencyMs: 2000,
      requestMetrics: { function: 'notes', location: 'use1', release },
      executedVersion: '8',
      ...props,
    });
    return stack;
  };
  const alarmNamed = (template: Template, name: string) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).find(
      (r) => r.Properties.AlarmName === name
    )?.Properties;

  beforeAll(async () => {
    table = await createTestTable();
    const location = testLocation(table.tableName, 'use1');
    release = location.releaseId;
    const { blobs, statuses } = await serveCandidate('notes', location, client, {
      ok: 1,
      failed: 1,
    });
    expect(statuses).toEqual([200, 500]);
    published = publishedMetrics(blobs);
  });
  afterAll(() => table.drop());

  it('alarms on the error rate of the published Requests and Errors5xx, with crashes of the version counted as failed requests', () => {
    const alarm = alarmNamed(Template.fromStack(synth()), 'orbit-test-use1-notes-error-rate');
    const metrics = alarm?.Metrics as AlarmMetric[];
    const stats = metrics.filter((m) => m.MetricStat);
    const ofHandlers = stats.filter((m) => m.MetricStat?.Metric.Namespace !== 'AWS/Lambda');
    const keys = new Set(published.map(identityKey));
    expect(ofHandlers.map((m) => m.MetricStat?.Metric.MetricName).sort()).toEqual([
      'Errors5xx',
      'Requests',
    ]);
    for (const m of ofHandlers) {
      expect(keys).toContain(identityKey(queriedMetric(m.MetricStat?.Metric ?? {})));
      expect(m.MetricStat?.Stat).toBe('Sum');
    }
    const crashes = stats.find((m) => m.MetricStat?.Metric.Namespace === 'AWS/Lambda');
    expect(queriedMetric(crashes?.MetricStat?.Metric ?? {})).toEqual({
      namespace: 'AWS/Lambda',
      name: 'Errors',
      dimensions: {
        FunctionName: 'orbit-test-notes',
        Resource: 'orbit-test-notes:live',
        ExecutedVersion: '8',
      },
    });
    const rate = metrics.find((m) => m.Expression && !m.MetricStat)?.Expression ?? '';
    expect(rate).toContain(`100 * (FILL(errors, 0) + FILL(${crashes?.Id}, 0))`);
    expect(rate).toContain(`FILL(requests, 0) + FILL(${crashes?.Id}, 0)`);
  });

  it('alarms on the p99 of the published Latency', () => {
    const alarm = alarmNamed(Template.fromStack(synth()), 'orbit-test-use1-notes-p99-latency');
    expect(alarm).toMatchObject({ ExtendedStatistic: 'p99', Threshold: 2000 });
    const metric = queriedMetric({
      Namespace: alarm?.Namespace,
      MetricName: alarm?.MetricName,
      Dimensions: alarm?.Dimensions,
    });
    expect(metric.name).toBe('Latency');
    expect(new Set(published.map(identityKey))).toContain(identityKey(metric));
  });
});
