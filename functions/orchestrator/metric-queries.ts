import type { Dimension, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { LIVE_ALIAS } from '../../core/names';
import {
  REQUEST_METRICS,
  REQUEST_METRICS_NAMESPACE,
  requestMetricDimensions,
} from '../shared/metric-contract';

/**
 * The GetMetricData queries of a region location's gates, and the windows they cover, as
 * the CloudWatch API reference (GetMetricData, MetricStat, MetricDataQuery) constrains them.
 */

/** A function of a release at a region location, as its staged-release record names it. */
export interface StagedFunction {
  /** Its folder under `functions/api/`: the `function` dimension of its request metrics. */
  readonly name: string;
  /** The Lambda function name. */
  readonly functionName: string;
  /** The version the release published: Lambda's `ExecutedVersion` behind the alias. */
  readonly version: string;
}

/** GetMetricData takes at most this many queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

/** Whole minutes of recent metrics that tell whether a location still publishes. */
export const FRESH_PERIODS = 5;

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** A time range and the period its data points are aggregated over. */
export interface MetricWindow {
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
  readonly periodSeconds: number;
}

/**
 * The window a gate counts over: from `sinceMs` (the rollout's start) to now, as a single
 * period, so that one data point per metric is the total (and the p99) of the whole range
 * however long a bake or a pause lasts. CloudWatch keeps 1-minute data for 15 days, 5-minute
 * data for 63 and hourly data after that, rounds older start times down to those steps, and
 * wants the period to be a multiple of them; the window follows the same steps.
 */
export function countingWindow(sinceMs: number, nowMs: number): MetricWindow {
  const age = nowMs - sinceMs;
  const step = age > 63 * DAY_MS ? 60 * MINUTE_MS : age > 15 * DAY_MS ? 5 * MINUTE_MS : MINUTE_MS;
  const start = Math.floor(sinceMs / step) * step;
  const end = Math.max(Math.ceil(nowMs / MINUTE_MS) * MINUTE_MS, start + MINUTE_MS);
  const periodMs = Math.ceil((end - start) / step) * step;
  return { start: new Date(start), end: new Date(end), periodSeconds: periodMs / 1000 };
}

/** The last {@link FRESH_PERIODS} whole minutes, minute by minute. */
export function recentWindow(nowMs: number): MetricWindow {
  const end = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  return {
    start: new Date(end - FRESH_PERIODS * MINUTE_MS),
    end: new Date(end),
    periodSeconds: 60,
  };
}

const dimensions = (map: Record<string, string>): Dimension[] =>
  Object.entries(map).map(([Name, Value]) => ({ Name, Value }));

function query(
  id: string,
  metric: { namespace: string; name: string; dimensions: Dimension[] },
  stat: string,
  periodSeconds: number
): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: metric.namespace,
        MetricName: metric.name,
        Dimensions: metric.dimensions,
      },
      Period: periodSeconds,
      Stat: stat,
    },
    ReturnData: true,
  };
}

/** A request metric of one function at one location and release, as its handler publishes it. */
const requestMetric = (name: string, fn: StagedFunction, location: string, release: string) => ({
  namespace: REQUEST_METRICS_NAMESPACE,
  name,
  dimensions: dimensions(requestMetricDimensions({ function: fn.name, location, release })),
});

/**
 * Lambda's own metric for the invocations of one version through the alias (Lambda
 * developer guide, "Types of metrics for Lambda functions": `ExecutedVersion` applies to
 * alias invocations, with `FunctionName` and `Resource` = `<function>:<alias>`).
 */
const lambdaMetric = (name: 'Invocations' | 'Errors', fn: StagedFunction) => ({
  namespace: 'AWS/Lambda',
  name,
  dimensions: dimensions({
    FunctionName: fn.functionName,
    Resource: `${fn.functionName}:${LIVE_ALIAS}`,
    ExecutedVersion: fn.version,
  }),
});

/** Ids name the figure and the function's index: `^[a-z][a-zA-Z0-9_]*$`, whatever the names. */
export const queryId = (figure: string, index: number) => `${figure}_${index}`;

/**
 * What a gate totals over its counting window, per function: the requests and 5xx answers
 * the middleware published, the p99 of their latency, and the invocations Lambda counts as
 * errors — crashes and timeouts, which end before the middleware can publish anything.
 */
export function totalQueries(
  functions: readonly StagedFunction[],
  location: string,
  release: string,
  periodSeconds: number
): MetricDataQuery[] {
  return functions.flatMap((fn, i) => {
    const published = requestQuery(fn, i, location, release, periodSeconds);
    return [
      published('requests', REQUEST_METRICS.requests, 'Sum'),
      published('errors5xx', REQUEST_METRICS.serverErrors, 'Sum'),
      published('latency', REQUEST_METRICS.latency, 'p99'),
      query(queryId('crashes', i), lambdaMetric('Errors', fn), 'Sum', periodSeconds),
    ];
  });
}

/**
 * What tells, per function, whether the location still publishes: invocations Lambda saw,
 * those that crashed (they publish nothing), and the answers the middleware published
 * (requests, and drained answers, which are not requests).
 */
export function freshnessQueries(
  functions: readonly StagedFunction[],
  location: string,
  release: string,
  periodSeconds: number
): MetricDataQuery[] {
  return functions.flatMap((fn, i) => {
    const published = requestQuery(fn, i, location, release, periodSeconds);
    return [
      query(queryId('invocations', i), lambdaMetric('Invocations', fn), 'Sum', periodSeconds),
      query(queryId('crashes', i), lambdaMetric('Errors', fn), 'Sum', periodSeconds),
      published('published', REQUEST_METRICS.requests, 'Sum'),
      published('drained', REQUEST_METRICS.drained, 'Sum'),
    ];
  });
}

/** A query of one request metric a function publishes at a location for a release. */
const requestQuery =
  (fn: StagedFunction, i: number, location: string, release: string, periodSeconds: number) =>
  (id: string, metric: string, stat: string): MetricDataQuery =>
    query(queryId(id, i), requestMetric(metric, fn, location, release), stat, periodSeconds);
