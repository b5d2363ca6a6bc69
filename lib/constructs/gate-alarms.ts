import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** Props of a {@link GateAlarms}. */
export interface GateAlarmsProps {
  /** The Lambda function name. */
  readonly functionName: string;
  /** The alias whose traffic is watched (`live`). */
  readonly aliasName: string;
  /** Prefix of the alarm names, e.g. `orbit-prod-us-east-1-health`. */
  readonly alarmNamePrefix: string;
  /** Error rate, in percent of invocations, that breaches. */
  readonly maxErrorRatePercent: number;
  /** p99 duration in milliseconds that breaches. */
  readonly maxP99LatencyMs: number;
  /**
   * Evaluation period.
   * @default Duration.minutes(1)
   */
  readonly period?: Duration;
}

/**
 * The alarms a rollout gate reads for one function at one location: error rate and p99
 * duration of the `live` alias. Names are predictable (`<prefix>-error-rate`,
 * `<prefix>-p99-latency`) so the orchestrator can find them without a lookup.
 */
export class GateAlarms extends Construct {
  readonly errorRate: cloudwatch.Alarm;
  readonly p99Latency: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: GateAlarmsProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(1);
    const dimensionsMap = {
      FunctionName: props.functionName,
      Resource: `${props.functionName}:${props.aliasName}`,
    };
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap,
        statistic,
        period,
      });

    this.errorRate = new cloudwatch.Alarm(this, 'ErrorRate', {
      alarmName: `${props.alarmNamePrefix}-error-rate`,
      alarmDescription: `Errors of ${props.functionName}:${props.aliasName} above ${props.maxErrorRatePercent}% of invocations (rollout gate)`,
      metric: new cloudwatch.MathExpression({
        expression: '100 * errors / MAX([invocations, 1])',
        usingMetrics: {
          errors: metric('Errors', 'Sum'),
          invocations: metric('Invocations', 'Sum'),
        },
        label: 'error rate (%)',
        period,
      }),
      threshold: props.maxErrorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.p99Latency = new cloudwatch.Alarm(this, 'P99Latency', {
      alarmName: `${props.alarmNamePrefix}-p99-latency`,
      alarmDescription: `p99 duration of ${props.functionName}:${props.aliasName} above ${props.maxP99LatencyMs} ms (rollout gate)`,
      metric: metric('Duration', 'p99'),
      threshold: props.maxP99LatencyMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
