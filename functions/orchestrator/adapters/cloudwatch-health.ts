import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { Records } from '../../../core/records';
import {
  countingWindow,
  freshnessQueries,
  MAX_QUERIES_PER_CALL,
  type MetricWindow,
  queryId,
  recentWindow,
  type StagedFunction,
  totalQueries,
} from '../metric-queries';
import type { HealthSample, HealthSource } from '../ports';
import { type AwsAdapterOptions, perRegion } from './aws-clients';

/** Options of a {@link CloudWatchHealthSource}. */
export interface CloudWatchHealthOptions extends AwsAdapterOptions {
  /** The prefix of a location's gate alarm names. */
  readonly alarmPrefix: (locationId: string, release: string) => string;
  /**
   * When the gates of a release start counting, in ms since the epoch.
   * @default - the start of the active rollout of the release
   */
  readonly countingSince?: (release: string) => Promise<number>;
}

const sumOf = (values: readonly number[] | undefined) => (values ?? []).reduce((a, b) => a + b, 0);

/**
 * Regions' health, from what the functions publish: any gate alarm of the location in
 * ALARM breaks the gate; requests, 5xx answers and latency come from the request metrics
 * the middleware publishes (EMF) for the release's functions at the location, and crashes
 * and timeouts — which publish nothing — from Lambda's `Errors` of the release's versions,
 * counted as requests that failed.
 *
 * Counts are totals from the start of the rollout (a fixed start, so the gate's diff
 * against the totals at its step's start holds however long a bake or pause lasts); p99 is
 * the slowest function's over the same window. A location is not fresh when one of its
 * functions served invocations in the last few minutes but published no request metrics:
 * its gate then waits rather than judging on figures that do not arrive.
 */
export class CloudWatchHealthSource implements HealthSource {
  private readonly cloudWatchFor: (region: string) => CloudWatchClient;
  private readonly countingSince: (release: string) => Promise<number>;

  constructor(
    private readonly options: CloudWatchHealthOptions,
    private readonly now: () => number = Date.now
  ) {
    this.cloudWatchFor =
      options.cloudWatchFor ?? perRegion((region) => new CloudWatchClient({ region }));
    this.countingSince = options.countingSince ?? rolloutStart(options.records);
  }

  /**
   * @param stable the release serving beside the candidate: its requests, 5xx answers and p99
   *   over the same window, from the same metrics of its own versions
   */
  async sample(locationId: string, release: string, stable?: string): Promise<HealthSample> {
    const cw = this.cloudWatchFor(this.options.regionOf(locationId));
    const [alarms, since] = await Promise.all([
      cw.send(
        new DescribeAlarmsCommand({
          AlarmNamePrefix: this.options.alarmPrefix(locationId, release),
          StateValue: 'ALARM',
        })
      ),
      this.countingSince(release),
    ]);
    const [candidate, beside] = await Promise.all([
      this.figures(cw, locationId, release, since),
      stable ? this.figures(cw, locationId, stable, since) : undefined,
    ]);
    return {
      requests: candidate.requests,
      errors5xx: candidate.errors5xx,
      p99Ms: candidate.p99Ms,
      fresh: candidate.fresh,
      alarmsOk: (alarms.MetricAlarms ?? []).length === 0,
      ...(beside
        ? {
            stable: {
              requests: beside.requests,
              errors5xx: beside.errors5xx,
              p99Ms: beside.p99Ms,
            },
          }
        : {}),
    };
  }

  /** One release's totals since `since`, p99 and freshness at the location. */
  private async figures(
    cw: CloudWatchClient,
    locationId: string,
    release: string,
    since: number
  ): Promise<{ requests: number; errors5xx: number; p99Ms: number; fresh: boolean }> {
    const staged = await this.options.records.stagedReleases.functionsAt(locationId, release);
    const functions: StagedFunction[] = Object.entries(staged)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, f]) => ({ name, functionName: f.functionName, version: f.version }));
    const now = this.now();
    const counting = countingWindow(since, now);
    const recent = recentWindow(now);
    const [totals, latest] = await Promise.all([
      metricData(
        cw,
        totalQueries(functions, locationId, release, counting.periodSeconds),
        counting
      ),
      metricData(
        cw,
        freshnessQueries(functions, locationId, release, recent.periodSeconds),
        recent
      ),
    ]);
    const total = (figure: string) =>
      functions.reduce((n, _, i) => n + sumOf(totals.get(queryId(figure, i))), 0);
    const crashes = total('crashes');
    const p99Ms = Math.max(
      0,
      ...functions.flatMap((_, i) => totals.get(queryId('latency', i)) ?? [])
    );
    const fresh = functions.every((_, i) => {
      const served =
        sumOf(latest.get(queryId('invocations', i))) - sumOf(latest.get(queryId('crashes', i)));
      // A drained location still publishes: its answers count as Drained, not as Requests.
      const published =
        sumOf(latest.get(queryId('published', i))) + sumOf(latest.get(queryId('drained', i)));
      return served <= 0 || published > 0;
    });
    return {
      requests: total('requests') + crashes,
      errors5xx: total('errors5xx') + crashes,
      p99Ms,
      fresh,
    };
  }
}

/**
 * Runs `queries` over `window`: at most {@link MAX_QUERIES_PER_CALL} per call, following
 * `NextToken` until every data point is in. Returns each query's values by id. A query
 * CloudWatch could not answer fails the sample: a gate never passes on data it did not get.
 */
async function metricData(
  cw: CloudWatchClient,
  queries: readonly MetricDataQuery[],
  window: MetricWindow
): Promise<Map<string, number[]>> {
  const values = new Map<string, number[]>();
  for (let i = 0; i < queries.length; i += MAX_QUERIES_PER_CALL) {
    let nextToken: string | undefined;
    do {
      const out = await cw.send(
        new GetMetricDataCommand({
          StartTime: window.start,
          EndTime: window.end,
          MetricDataQueries: queries.slice(i, i + MAX_QUERIES_PER_CALL),
          NextToken: nextToken,
        })
      );
      for (const result of out.MetricDataResults ?? []) {
        if (result.StatusCode === 'Forbidden' || result.StatusCode === 'InternalError') {
          const why = (result.Messages ?? []).map((m) => m.Value).join('; ');
          throw new Error(`metric ${result.Id}: ${result.StatusCode}${why ? ` (${why})` : ''}`);
        }
        const id = result.Id as string;
        values.set(id, [...(values.get(id) ?? []), ...(result.Values ?? [])]);
      }
      nextToken = out.NextToken;
    } while (nextToken);
  }
  return values;
}

/**
 * When the active rollout of `release` started: region gates count from there. Rollouts
 * never change their start, so each one is read once.
 */
function rolloutStart(records: Records): (release: string) => Promise<number> {
  const starts = new Map<string, number>();
  return async (release) => {
    const rolloutId = await records.rollouts.activeId();
    const known = rolloutId ? starts.get(rolloutId) : undefined;
    if (known !== undefined) return known;
    const rollout = rolloutId ? await records.rollouts.get(rolloutId) : undefined;
    if (!rollout || rollout.release !== release) {
      throw new Error(
        `no rollout of release ${release} is active: region gates count from its rollout's start`
      );
    }
    const start = Date.parse(rollout.createdAt);
    starts.set(rollout.rolloutId, start);
    return start;
  };
}
