import type {
  Dimension,
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  MetricDataResult,
} from '@aws-sdk/client-cloudwatch';

/**
 * What CloudWatch makes of handlers' EMF output, for tests that must not trust the code's own
 * idea of it: the blobs a handler prints are parsed as the EMF specification says
 * ("Specification: Embedded metric format", CloudWatch user guide), and GetMetricData is
 * answered from the resulting data points as its API reference describes it.
 */

/** One EMF document as printed: the `_aws` metadata and the members it points at. */
export type EmfBlob = Record<string, unknown> & {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit?: string }[];
    }[];
  };
};

/** A metric as CloudWatch identifies it: namespace, name and the full dimension set. */
export interface MetricIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** One value of a metric at a time. */
export interface DataPoint extends MetricIdentity {
  readonly timestamp: number;
  readonly value: number;
}

/**
 * Runs `act` with EMF on and stdout captured, and returns the EMF blobs it printed (log
 * lines without `_aws` are left out). Powertools reads POWERTOOLS_METRICS_DISABLED when a
 * handler is built, so build the handler inside `act`.
 */
export async function captureEmf(act: () => Promise<unknown>): Promise<EmfBlob[]> {
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  const lines: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(...String(chunk).split('\n'));
    return true;
  });
  try {
    await act();
  } finally {
    write.mockRestore();
    if (previous === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = previous;
  }
  return lines
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l): l is EmfBlob => typeof l._aws === 'object' && l._aws !== null);
}

/**
 * The data points CloudWatch extracts from EMF blobs: for each directive, each dimension set
 * and each metric, one point per value (a member may hold an array of values), with the
 * dimension values read from the blob's root.
 */
export function emfDataPoints(blobs: readonly EmfBlob[]): DataPoint[] {
  return blobs.flatMap((blob) =>
    blob._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Dimensions.flatMap((set) =>
        directive.Metrics.flatMap((metric) => {
          const raw = blob[metric.Name];
          const values = (Array.isArray(raw) ? raw : [raw]) as number[];
          const dimensions = Object.fromEntries(set.map((d) => [d, String(blob[d])]));
          return values.map((value) => ({
            namespace: directive.Namespace,
            name: metric.Name,
            dimensions,
            timestamp: blob._aws.Timestamp,
            value,
          }));
        })
      )
    )
  );
}

/** The distinct metrics the blobs published. */
export function publishedMetrics(blobs: readonly EmfBlob[]): MetricIdentity[] {
  const byKey = new Map<string, MetricIdentity>();
  for (const { namespace, name, dimensions } of emfDataPoints(blobs)) {
    byKey.set(identityKey({ namespace, name, dimensions }), { namespace, name, dimensions });
  }
  return [...byKey.values()];
}

/** A key equal for two metrics exactly when CloudWatch takes them for the same metric. */
export function identityKey(metric: MetricIdentity): string {
  const dims = Object.entries(metric.dimensions).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([metric.namespace, metric.name, dims]);
}

/** The metric a query's MetricStat names. */
export function queriedMetric(metric: {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Dimension[];
}): MetricIdentity {
  return {
    namespace: metric.Namespace ?? '',
    name: metric.MetricName ?? '',
    dimensions: Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name, d.Value])),
  };
}

function statistic(stat: string, values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (stat === 'Sum') return sorted.reduce((a, b) => a + b, 0);
  if (stat === 'SampleCount') return sorted.length;
  if (stat === 'Average') return sorted.reduce((a, b) => a + b, 0) / sorted.length;
  if (stat === 'Maximum') return sorted[sorted.length - 1] as number;
  if (stat === 'Minimum') return sorted[0] as number;
  const p = /^p(\d+(\.\d+)?)$/.exec(stat);
  if (p) return sorted[Math.max(0, Math.ceil((Number(p[1]) / 100) * sorted.length) - 1)] as number;
  throw new Error(`the emulator knows no statistic ${stat}`);
}

/** Options of {@link answerGetMetricData}. */
export interface AnswerOptions {
  /** Data points per page before a NextToken. @default - all on one page */
  readonly pageSize?: number;
}

/**
 * Answers a GetMetricData call from `points` as CloudWatch would: a query matches only the
 * metric with its exact dimension set; points count from StartTime (inclusive) to EndTime
 * (exclusive), in periods from StartTime; periods without data return nothing; newest first
 * (ScanBy TimestampDescending, the default). With `pageSize`, results are paged and the
 * NextToken is the offset.
 */
export function answerGetMetricData(
  input: GetMetricDataCommandInput,
  points: readonly DataPoint[],
  options: AnswerOptions = {}
): GetMetricDataCommandOutput {
  const start = (input.StartTime as Date).getTime();
  const end = (input.EndTime as Date).getTime();
  const byMetric = new Map<string, DataPoint[]>();
  for (const p of points) {
    if (p.timestamp < start || p.timestamp >= end) continue;
    const key = identityKey(p);
    byMetric.set(key, [...(byMetric.get(key) ?? []), p]);
  }
  const flat: { id: string; timestamp: Date; value: number }[] = [];
  for (const q of input.MetricDataQueries ?? []) {
    const stat = q.MetricStat;
    if (!stat?.Metric || !stat.Period || !stat.Stat)
      throw new Error(`query ${q.Id} has no MetricStat`);
    const periodMs = stat.Period * 1000;
    const buckets = new Map<number, number[]>();
    for (const p of byMetric.get(identityKey(queriedMetric(stat.Metric))) ?? []) {
      const bucket = start + Math.floor((p.timestamp - start) / periodMs) * periodMs;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), p.value]);
    }
    for (const [bucket, values] of [...buckets].sort(([a], [b]) => b - a)) {
      flat.push({
        id: q.Id as string,
        timestamp: new Date(bucket),
        value: statistic(stat.Stat, values),
      });
    }
  }
  const offset = Number(input.NextToken ?? 0);
  const page = flat.slice(offset, options.pageSize ? offset + options.pageSize : undefined);
  const results = new Map<string, MetricDataResult>();
  for (const q of input.MetricDataQueries ?? []) {
    results.set(q.Id as string, { Id: q.Id, StatusCode: 'Complete', Timestamps: [], Values: [] });
  }
  for (const p of page) {
    const r = results.get(p.id) as MetricDataResult;
    r.Timestamps?.push(p.timestamp);
    r.Values?.push(p.value);
  }
  const more = offset + page.length < flat.length;
  return {
    MetricDataResults: [...results.values()].map((r) =>
      more && (r.Values?.length ?? 0) > 0 ? { ...r, StatusCode: 'PartialData' } : r
    ),
    ...(more ? { NextToken: String(offset + page.length) } : {}),
    $metadata: {},
  };
}

/** Lambda's own data points for `count` invocations of a version through an alias. */
export function lambdaDataPoints(
  metric: 'Invocations' | 'Errors',
  alias: { functionName: string; aliasName: string; version: string },
  timestamp: number,
  count: number
): DataPoint[] {
  return Array.from({ length: count }, () => ({
    namespace: 'AWS/Lambda',
    name: metric,
    dimensions: {
      FunctionName: alias.functionName,
      Resource: `${alias.functionName}:${alias.aliasName}`,
      ExecutedVersion: alias.version,
    },
    timestamp,
    value: 1,
  }));
}
