import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import { GetAliasCommand, LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../shared/keys';
import type { HealthSample, HealthSource, TrafficDriver, TrafficTarget } from './ports';

/** Per function at a location: its Lambda name and the version a release staged there. */
type StagedFunctions = Record<string, { functionName: string; version: string }>;

/** Options of the AWS adapters. */
export interface AwsAdapterOptions {
  readonly table: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The region of a region location. */
  readonly regionOf: (locationId: string) => string;
  /** @default - one client per region, created on first use */
  readonly lambdaFor?: (region: string) => LambdaClient;
  readonly cloudWatchFor?: (region: string) => CloudWatchClient;
  /** Attempts per alias update when Lambda throttles. @default 4 */
  readonly maxAttempts?: number;
  /** @default exponential, from 200 ms */
  readonly backoffMs?: (attempt: number) => number;
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

/**
 * Regions: every function's `live` alias points at the stable version, with the candidate
 * version in `RoutingConfig.AdditionalVersionWeights` (Lambda allows exactly one extra
 * version, so an alias never serves more than two). Versions come from the staged-release
 * records the deploys wrote. Throttling is retried with backoff; a function that still
 * fails does not stop the others, and the pass then fails naming it, so the next run
 * applies the (idempotent) target again.
 */
export class LambdaTrafficDriver implements TrafficDriver {
  private readonly lambdaFor: (region: string) => LambdaClient;

  constructor(private readonly options: AwsAdapterOptions) {
    this.lambdaFor = options.lambdaFor ?? perRegion((region) => new LambdaClient({ region }));
  }

  async apply(locationId: string, target: TrafficTarget): Promise<void> {
    const { table, tableName } = this.options;
    const stable = await stagedFunctions(table, tableName, locationId, target.stable);
    const candidate =
      target.candidate && target.weight > 0
        ? await stagedFunctions(table, tableName, locationId, target.candidate)
        : {};
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
        await this.withRetries(() =>
          lambda.send(
            new UpdateAliasCommand({
              FunctionName: base.functionName,
              Name: 'live',
              FunctionVersion: primary,
              RoutingConfig: { AdditionalVersionWeights: extra },
            })
          )
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
  }

  private async withRetries<T>(call: () => Promise<T>): Promise<T> {
    const attempts = this.options.maxAttempts ?? 4;
    const backoff = this.options.backoffMs ?? ((n: number) => 200 * 2 ** n);
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const throttled = ['TooManyRequestsException', 'ThrottlingException'].includes(
          (err as Error).name
        );
        if (!throttled || attempt >= attempts) throw err;
        await new Promise((r) => setTimeout(r, backoff(attempt)));
      }
    }
  }
}

/**
 * Regions' health: the function alarms of the location (any in ALARM breaks the gate) and
 * the candidate version's invocations and errors from Lambda's metrics over the last three
 * hours (sums; the gate compares them with the sums at the step's start).
 */
export class CloudWatchHealthSource implements HealthSource {
  private readonly cloudWatchFor: (region: string) => CloudWatchClient;

  constructor(
    private readonly options: AwsAdapterOptions & {
      readonly alarmPrefix: (locationId: string) => string;
    },
    private readonly now: () => number = Date.now
  ) {
    this.cloudWatchFor =
      options.cloudWatchFor ?? perRegion((region) => new CloudWatchClient({ region }));
  }

  async sample(locationId: string, release: string): Promise<HealthSample> {
    const cw = this.cloudWatchFor(this.options.regionOf(locationId));
    const alarms = await cw.send(
      new DescribeAlarmsCommand({
        AlarmNamePrefix: this.options.alarmPrefix(locationId),
        StateValue: 'ALARM',
      })
    );
    const functions = await stagedFunctions(
      this.options.table,
      this.options.tableName,
      locationId,
      release
    );
    const queries = Object.values(functions).flatMap((f, i) =>
      (['Invocations', 'Errors'] as const).map((metric) => ({
        Id: `${metric.toLowerCase()}${i}`,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [
              { Name: 'FunctionName', Value: f.functionName },
              { Name: 'Resource', Value: `${f.functionName}:live` },
              { Name: 'ExecutedVersion', Value: f.version },
            ],
          },
          Period: 3 * 3600,
          Stat: 'Sum',
        },
      }))
    );
    const data = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(this.now() - 3 * 3600_000),
        EndTime: new Date(this.now()),
        MetricDataQueries: queries,
      })
    );
    const sum = (prefix: string) =>
      (data.MetricDataResults ?? [])
        .filter((r) => r.Id?.startsWith(prefix))
        .reduce((n, r) => n + (r.Values ?? []).reduce((a, b) => a + b, 0), 0);
    return {
      requests: sum('invocations'),
      errors5xx: sum('errors'),
      p99Ms: 0,
      fresh: true,
      alarmsOk: (alarms.MetricAlarms ?? []).length === 0,
    };
  }
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
    this.lambdaFor = options.lambdaFor ?? perRegion((region) => new LambdaClient({ region }));
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
        new GetAliasCommand({ FunctionName: s.functionName, Name: 'live' })
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
