import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import {
  GetAliasCommand,
  LambdaClient,
  type LambdaClientConfig,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { SERVED_RECHECK_MS, servesRelease } from '../shared/drain-state';
import { keys } from '../shared/keys';
import { ControlStore } from './control-store';
import {
  countingWindow,
  freshnessQueries,
  LIVE_ALIAS,
  MAX_QUERIES_PER_CALL,
  type MetricWindow,
  queryId,
  recentWindow,
  type StagedFunction,
  totalQueries,
} from './metric-queries';
import {
  type HealthSample,
  type HealthSource,
  SatelliteTrafficDriver,
  type TrafficDriver,
  type TrafficTarget,
} from './ports';

/** Per function at a location: its Lambda name and the version a release staged there. */
type StagedFunctions = Record<string, { functionName: string; version: string }>;

/** Options of the AWS adapters. */
export interface AwsAdapterOptions {
  readonly table: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The region of a region location. */
  readonly regionOf: (locationId: string) => string;
  /** @default - one client per region, created on first use by {@link createLambdaClient} */
  readonly lambdaFor?: (region: string) => LambdaClient;
  /** @default - one client per region, created on first use */
  readonly cloudWatchFor?: (region: string) => CloudWatchClient;
}

/** Attempts per Lambda API call, the first included. */
export const LAMBDA_MAX_ATTEMPTS = 4;

/**
 * A Lambda client whose retries are the SDK's own (AWS SDKs and Tools reference guide,
 * "Retry behavior"): throttling (`TooManyRequestsException`) is retried with jittered
 * exponential backoff and, in adaptive mode, client-side rate limiting, at most
 * {@link LAMBDA_MAX_ATTEMPTS} attempts in all. Adaptive suits it: one client per region
 * makes only control-plane calls, which Lambda throttles together.
 */
export function createLambdaClient(region: string, config: LambdaClientConfig = {}): LambdaClient {
  return new LambdaClient({
    ...config,
    region,
    maxAttempts: LAMBDA_MAX_ATTEMPTS,
    retryMode: 'adaptive',
  });
}

const perRegion = <T>(make: (region: string) => T) => {
  const clients = new Map<string, T>();
  return (region: string) => {
    let c = clients.get(region);
    if (!c) {
      c = make(region);
      clients.set(region, c);
    }
    return c;
  };
};

async function stagedFunctions(
  table: DynamoDBDocumentClient,
  tableName: string,
  locationId: string,
  releaseId: string
): Promise<StagedFunctions> {
  const out = await table.send(
    new GetCommand({
      TableName: tableName,
      Key: keys.stagedRelease(locationId, releaseId),
      ConsistentRead: true,
    })
  );
  const functions = out.Item?.functions as StagedFunctions | undefined;
  if (!functions) throw new Error(`release ${releaseId} is not staged at ${locationId}`);
  return functions;
}

/** The releases a target serves. */
const servedReleases = (target: TrafficTarget): string[] => [
  target.stable,
  ...(target.candidate && target.weight > 0 ? [target.candidate] : []),
];

/** Options of a {@link LambdaTrafficDriver}. */
export interface LambdaTrafficDriverOptions extends AwsAdapterOptions {
  /**
   * How long a move that adds a release waits between recording it and routing to it: the
   * time a function's cached "not served" takes to expire.
   * @default SERVED_RECHECK_MS
   */
  readonly servedRecheckMs?: number;
  /**
   * The table replica a location's functions read (its data region), when that is not the
   * table the orchestrator writes: a move that adds a release waits until the replica shows
   * the record (strongly consistent reads, global tables replicate asynchronously).
   * @default - the functions read the orchestrator's table
   */
  readonly replicaOf?: (locationId: string) => DynamoDBDocumentClient;
  /** How long to wait for the replica to show the record before failing the move. @default 10000 */
  readonly replicationTimeoutMs?: number;
}

/**
 * Regions: every function's `live` alias points at the stable version, with the candidate
 * version in `RoutingConfig.AdditionalVersionWeights` (Lambda allows exactly one extra
 * version, so an alias never serves more than two). Versions come from the staged-release
 * records the deploys wrote. Throttling is retried by the Lambda client
 * ({@link createLambdaClient}); a function that still fails does not stop the others, and
 * the pass then fails naming it, so the next run applies the (idempotent) target again.
 *
 * The location's desired-traffic record says what it serves, written as for a satellite:
 * starting a rollout, governance's drift job and the functions themselves (which answer only
 * for releases the location serves) read it. A move that takes a release away, or only
 * changes weights, records the target once every alias moved, and not when one failed. A
 * move that adds a release records it first, and routes to it once the functions' cached
 * refusals have expired, so that none of its first requests is refused.
 */
export class LambdaTrafficDriver implements TrafficDriver {
  private readonly lambdaFor: (region: string) => LambdaClient;
  private readonly record: TrafficDriver;
  private readonly servedRecheckMs: number;

  constructor(private readonly options: LambdaTrafficDriverOptions) {
    this.lambdaFor = options.lambdaFor ?? perRegion((region) => createLambdaClient(region));
    this.record = new SatelliteTrafficDriver(options.table, options.tableName);
    this.servedRecheckMs = options.servedRecheckMs ?? SERVED_RECHECK_MS;
  }

  async apply(locationId: string, target: TrafficTarget): Promise<void> {
    const { table, tableName } = this.options;
    const stable = await stagedFunctions(table, tableName, locationId, target.stable);
    const candidate =
      target.candidate && target.weight > 0
        ? await stagedFunctions(table, tableName, locationId, target.candidate)
        : {};
    const adds = await this.addsRelease(locationId, target);
    if (adds) {
      await this.record.apply(locationId, target);
      await this.replicated(locationId, target);
      await new Promise((resolve) => setTimeout(resolve, this.servedRecheckMs));
    }
    const lambda = this.lambdaFor(this.options.regionOf(locationId));
    const failures: string[] = [];
    for (const name of new Set([...Object.keys(stable), ...Object.keys(candidate)])) {
      const s = stable[name];
      const c = candidate[name];
      // A function new in the candidate has only the candidate's version to serve.
      const base = s ?? c;
      if (!base) continue;
      const extra =
        s && c && c.version !== s.version && target.weight < 1
          ? { [c.version]: target.weight }
          : {};
      const primary = s && c && target.weight >= 1 ? c.version : base.version;
      try {
        await lambda.send(
          new UpdateAliasCommand({
            FunctionName: base.functionName,
            Name: LIVE_ALIAS,
            FunctionVersion: primary,
            RoutingConfig: { AdditionalVersionWeights: extra },
          })
        );
      } catch (err) {
        failures.push(`${base.functionName}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    if (failures.length > 0) {
      throw new Error(
        `location ${locationId}: ${failures.length} alias update(s) failed: ${failures.join('; ')}`
      );
    }
    if (!adds) await this.record.apply(locationId, target);
  }

  /**
   * Waits until the location's data-region replica serves what `target` serves, so that no
   * function reads a record older than the one just written; throws after the timeout (the
   * aliases have not moved, and the next pass tries again).
   */
  private async replicated(locationId: string, target: TrafficTarget): Promise<void> {
    const replica = this.options.replicaOf?.(locationId);
    if (!replica || replica === this.options.table) return;
    const timeoutMs = this.options.replicationTimeoutMs ?? 10_000;
    const started = Date.now();
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      const out = await replica.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: keys.desiredTraffic(locationId),
          ConsistentRead: true,
        })
      );
      if (servedReleases(target).every((release) => servesRelease(out.Item, release))) return;
      if (Date.now() - started >= timeoutMs) {
        throw new Error(
          `location ${locationId}: the desired traffic did not reach its data region's replica within ${timeoutMs} ms; traffic not moved`
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Whether `target` serves a release the location's desired-traffic record does not. */
  private async addsRelease(locationId: string, target: TrafficTarget): Promise<boolean> {
    const out = await this.options.table.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: keys.desiredTraffic(locationId),
        ConsistentRead: true,
      })
    );
    return servedReleases(target).some((release) => !servesRelease(out.Item, release));
  }
}

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
    this.countingSince =
      options.countingSince ?? rolloutStart(new ControlStore(options.table, options.tableName));
  }

  async sample(locationId: string, release: string): Promise<HealthSample> {
    const cw = this.cloudWatchFor(this.options.regionOf(locationId));
    const [alarms, staged, since] = await Promise.all([
      cw.send(
        new DescribeAlarmsCommand({
          AlarmNamePrefix: this.options.alarmPrefix(locationId, release),
          StateValue: 'ALARM',
        })
      ),
      stagedFunctions(this.options.table, this.options.tableName, locationId, release),
      this.countingSince(release),
    ]);
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
      alarmsOk: (alarms.MetricAlarms ?? []).length === 0,
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
function rolloutStart(store: ControlStore): (release: string) => Promise<number> {
  const starts = new Map<string, number>();
  return async (release) => {
    const rolloutId = await store.activeRolloutId();
    const known = rolloutId ? starts.get(rolloutId) : undefined;
    if (known !== undefined) return known;
    const rollout = rolloutId ? await store.rollout(rolloutId) : undefined;
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

/** What a region location actually serves, read back from its aliases. */
export interface ObservedTraffic {
  readonly stable: string;
  readonly candidate?: string;
  readonly weight: number;
  /** Functions whose alias matches no release the location is meant to serve. */
  readonly unknown: readonly string[];
}

/**
 * Reads a region location's `live` aliases (GetAlias) and maps their versions back to the
 * releases staged there, for the drift job: the orchestrator believes it set `desired`,
 * this says what Lambda actually routes.
 */
export class LambdaTrafficObserver {
  private readonly lambdaFor: (region: string) => LambdaClient;

  constructor(private readonly options: AwsAdapterOptions) {
    this.lambdaFor = options.lambdaFor ?? perRegion((region) => createLambdaClient(region));
  }

  async observe(
    locationId: string,
    desired: { stable: string; candidate?: string }
  ): Promise<ObservedTraffic> {
    const { table, tableName } = this.options;
    const stable = await stagedFunctions(table, tableName, locationId, desired.stable);
    const candidate = desired.candidate
      ? await stagedFunctions(table, tableName, locationId, desired.candidate)
      : {};
    const lambda = this.lambdaFor(this.options.regionOf(locationId));
    const unknown: string[] = [];
    let weight = 0;
    for (const [name, s] of Object.entries(stable)) {
      const alias = await lambda.send(
        new GetAliasCommand({ FunctionName: s.functionName, Name: LIVE_ALIAS })
      );
      const extra = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
      const c = candidate[name];
      if (alias.FunctionVersion === s.version && extra.length === 0) continue;
      if (c && alias.FunctionVersion === c.version && extra.length === 0) {
        weight = 1;
        continue;
      }
      if (
        c &&
        alias.FunctionVersion === s.version &&
        extra.length === 1 &&
        extra[0]?.[0] === c.version
      ) {
        weight = Math.max(weight, extra[0]?.[1] ?? 0);
        continue;
      }
      unknown.push(
        `${s.functionName} → ${alias.FunctionVersion}${extra.map(([v, w]) => ` + ${v}@${w}`).join('')}`
      );
    }
    return {
      stable: desired.stable,
      ...(weight > 0 && desired.candidate ? { candidate: desired.candidate } : {}),
      weight,
      unknown,
    };
  }
}
