import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import {
  REQUEST_METRICS,
  REQUEST_METRICS_NAMESPACE,
  type RequestMetricIds,
  requestMetricDimensions,
} from '../../functions/shared/metric-contract';

/** Props of a {@link GateAlarms}. */
export interface GateAlarmsProps {
  /** The Lambda function name. */
  readonly functionName: string;
  /** The alias whose traffic is watched (`live`). */
  readonly aliasName: string;
  /** Prefix of the alarm names, e.g. `orbit-prod-us-east-1-health`. */
  readonly alarmNamePrefix: string;
  /** Error rate, in percent of requests, that breaches. */
  readonly maxErrorRatePercent: number;
  /** p99 latency in milliseconds that breaches. */
  readonly maxP99LatencyMs: number;
  /**
   * Whose request metrics the alarms watch: the function's folder name, the location and
   * the release this deploy stages (the dimensions its handler publishes them with).
   */
  readonly requestMetrics: RequestMetricIds;
  /**
   * The version this deploy published (Lambda's `ExecutedVersion` behind the alias), whose
   * crashes and timeouts count as failed requests.
   */
  readonly executedVersion: string;
  /**
   * Evaluation period.
   * @default Duration.minutes(1)
   */
  readonly period?: Duration;
  /**
   * Told when an alarm goes into ALARM and when it is OK again (an SNS topic of the alarm's
   * own region: CloudWatch alarm actions reach no other).
   * @default - none: the orchestrator reads the alarms' state
   */
  readonly actions?: readonly cloudwatch.IAlarmAction[];
}

/**
 * The alarms a rollout gate reads for one function at one location (`<prefix>-error-rate`,
 * `<prefix>-p99-latency`, names the orchestrator finds without a lookup), on the same
 * figures the region gates count: the `Requests`, `Errors5xx` and `Latency` metrics the
 * middleware publishes (EMF) for the release, plus Lambda's `Errors` of its version for the
 * crashes and timeouts that publish nothing. Two of three minutes must breach, because EMF
 * metrics arrive with the function's logs (CloudWatch's advice for alarms on EMF metrics).
 */
export class GateAlarms extends Construct {
  readonly errorRate: cloudwatch.Alarm;
  readonly p99Latency: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: GateAlarmsProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(1);
    const alias = `${props.functionName}:${props.aliasName}`;
    const lambdaMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: {
          FunctionName: props.functionName,
          Resource: alias,
          ExecutedVersion: props.executedVersion,
        },
        statistic,
        period,
      });
    const figures = requestFigures(props.requestMetrics, lambdaMetric('Errors', 'Sum'), period);

    this.errorRate = new cloudwatch.Alarm(this, 'ErrorRate', {
      alarmName: `${props.alarmNamePrefix}-error-rate`,
      alarmDescription: `5xx answers and crashes of ${alias} above ${props.maxErrorRatePercent}% of requests (rollout gate)`,
      metric: figures.errorRate,
      threshold: props.maxErrorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.p99Latency = new cloudwatch.Alarm(this, 'P99Latency', {
      alarmName: `${props.alarmNamePrefix}-p99-latency`,
      alarmDescription: `p99 latency of ${alias} above ${props.maxP99LatencyMs} ms (rollout gate)`,
      metric: figures.p99Latency,
      threshold: props.maxP99LatencyMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const actions = props.actions ?? [];
    if (actions.length > 0) {
      for (const alarm of [this.errorRate, this.p99Latency]) {
        alarm.addAlarmAction(...actions);
        alarm.addOkAction(...actions);
      }
    }
  }
}

/**
 * The error rate and p99 latency the region gates count, per minute: the request metrics
 * of `ids` (EMF), and `crashes`, which publish none and so count as requests that failed.
 * FILL makes a minute with 5xx answers but no crash (or the reverse) a data point.
 */
function requestFigures(
  ids: RequestMetricIds,
  crashes: cloudwatch.IMetric,
  period: Duration
): { errorRate: cloudwatch.IMetric; p99Latency: cloudwatch.IMetric } {
  const metric = (metricName: string, statistic: string) =>
    new cloudwatch.Metric({
      namespace: REQUEST_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: requestMetricDimensions(ids),
      statistic,
      period,
    });
  const total = 'FILL(requests, 0) + FILL(crashes, 0)';
  return {
    errorRate: new cloudwatch.MathExpression({
      expression: `IF(${total} > 0, 100 * (FILL(errors, 0) + FILL(crashes, 0)) / (${total}), 0)`,
      usingMetrics: {
        requests: metric(REQUEST_METRICS.requests, 'Sum'),
        errors: metric(REQUEST_METRICS.serverErrors, 'Sum'),
        crashes,
      },
      label: 'error rate (%)',
      period,
    }),
    p99Latency: metric(REQUEST_METRICS.latency, 'p99'),
  };
}
