import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { Environment } from '../../lib/config/schema';
import { type DesiredTraffic, locationHeartbeat } from '../../lib/satellite/records';
import { keys, type TableKey } from '../shared/keys';
import type { ReleasePresence } from './plan';

/** What the table says about one location and one release. */
export interface LocationStanding {
  readonly locationId: string;
  /** What the location serves (its desired-traffic record). */
  readonly desired?: Pick<DesiredTraffic, 'stable' | 'candidate' | 'weight'>;
  /** Whether the release is staged there. */
  readonly staged: boolean;
}

/** Where `release` stands across these locations: what `rolloutProblem` judges. */
export function presenceOf(
  standing: readonly LocationStanding[],
  release: string
): ReleasePresence {
  return {
    stagedAt: standing.filter((s) => s.staged).map((s) => s.locationId),
    stableAt: standing
      .filter((s) => s.desired?.stable === release && !s.desired.candidate)
      .map((s) => s.locationId),
  };
}

/** What a drain of a location or of a function fleet-wide records. */
export interface DrainChange {
  readonly location?: string;
  readonly function?: string;
  readonly drained: boolean;
  readonly reason: string;
  readonly by: string;
  readonly at: string;
  readonly retryAfterSeconds: number;
}

/**
 * The names of the functions a staged-release record holds: its manifest's (satellites and
 * the local fleet stage the release manifest) or its per-function map's (regions stage each
 * function's Lambda version). A manifest that does not parse holds none.
 */
export function stagedFunctionNames(item: Record<string, unknown> | undefined): string[] {
  const names = new Set<string>();
  if (typeof item?.manifest === 'string') {
    try {
      const manifest = JSON.parse(item.manifest) as { functions?: { name?: unknown }[] };
      for (const f of manifest.functions ?? []) if (typeof f.name === 'string') names.add(f.name);
    } catch {
      // Not a manifest: it names no function.
    }
  }
  if (item?.functions && typeof item.functions === 'object') {
    for (const name of Object.keys(item.functions)) names.add(name);
  }
  return [...names];
}

const STAGED_PREFIX = keys.stagedRelease('-', '').sk;

/**
 * The fleet's records the orchestrator reads and writes besides its own control records:
 * desired traffic, staged releases, drains, and when a location last reported.
 */
export class FleetRecords {
  constructor(
    readonly table: DynamoDBDocumentClient,
    readonly tableName: string
  ) {}

  /** What the location serves. */
  async desired(locationId: string): Promise<LocationStanding['desired']> {
    const out = await this.table.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.desiredTraffic(locationId),
        ConsistentRead: true,
      })
    );
    return out.Item as LocationStanding['desired'];
  }

  /** Per location, in order: what it serves and whether `release` is staged there. */
  async standing(locationIds: readonly string[], release: string): Promise<LocationStanding[]> {
    return Promise.all(
      locationIds.map(async (locationId) => {
        const [desired, staged] = await Promise.all([
          this.desired(locationId),
          this.table.send(
            new GetCommand({
              TableName: this.tableName,
              Key: keys.stagedRelease(locationId, release),
            })
          ),
        ]);
        return { locationId, ...(desired ? { desired } : {}), staged: staged.Item !== undefined };
      })
    );
  }

  /** Where `release` stands at every location of `env` (for `rolloutProblem`). */
  async presence(env: Environment, release: string): Promise<ReleasePresence> {
    const ids = env.locations.map((l) => l.id);
    return presenceOf(await this.standing(ids, release), release);
  }

  /** The functions of `release`, from its staged-release records at these locations. */
  async releaseFunctions(locationIds: readonly string[], release: string): Promise<string[]> {
    const items = await this.batchGet(locationIds.map((id) => keys.stagedRelease(id, release)));
    return [...new Set(items.flatMap(stagedFunctionNames))].sort();
  }

  /** The functions of every release staged at these locations, sorted. */
  async knownFunctions(locationIds: readonly string[]): Promise<string[]> {
    const names = new Set<string>();
    for (const id of locationIds) {
      let start: Record<string, unknown> | undefined;
      do {
        const out: QueryCommandOutput = await this.table.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :staged)',
            ExpressionAttributeValues: {
              ':pk': keys.stagedRelease(id, '').pk,
              ':staged': STAGED_PREFIX,
            },
            ProjectionExpression: 'manifest, #functions',
            ExpressionAttributeNames: { '#functions': 'functions' },
            ExclusiveStartKey: start,
          })
        );
        for (const item of out.Items ?? []) for (const n of stagedFunctionNames(item)) names.add(n);
        start = out.LastEvaluatedKey;
      } while (start);
    }
    return [...names].sort();
  }

  /** Whether `name` is drained fleet-wide. */
  async functionDrained(name: string): Promise<boolean> {
    const out = await this.table.send(
      new GetCommand({ TableName: this.tableName, Key: keys.functionDrain(name) })
    );
    return out.Item?.drained === true;
  }

  /**
   * Why each of these locations is drained, for those that are: the location itself, or one
   * of `functions` fleet-wide (every location then refuses part of its requests).
   */
  async drains(
    locationIds: readonly string[],
    functions: readonly string[]
  ): Promise<Map<string, string>> {
    const items = await this.batchGet([
      ...locationIds.map((id) => keys.locationDrain(id)),
      ...functions.map((name) => keys.functionDrain(name)),
    ]);
    const drained = items.filter((i) => i.drained === true);
    const fn = functions.find((name) => drained.some((i) => i.pk === keys.functionDrain(name).pk));
    const out = new Map<string, string>();
    for (const id of locationIds) {
      if (drained.some((i) => i.pk === keys.locationDrain(id).pk)) out.set(id, `${id} is drained`);
      else if (fn) out.set(id, `function ${fn} is drained fleet-wide`);
    }
    return out;
  }

  /** When each of these locations last wrote a heartbeat (epoch ms), for those that did. */
  async lastReports(locationIds: readonly string[]): Promise<Map<string, number>> {
    const items = await this.batchGet(locationIds.map((id) => keys.heartbeat(id)));
    const out = new Map<string, number>();
    for (const item of items) {
      const hb = locationHeartbeat(item);
      const id = locationIds.find((l) => keys.heartbeat(l).pk === item.pk);
      if (hb && id) out.set(id, hb.atMs);
    }
    return out;
  }

  /** Drains or restores a location, or a function fleet-wide. */
  async setDrain(change: DrainChange): Promise<void> {
    const { location, function: fn, ...record } = change;
    const key = location ? keys.locationDrain(location) : keys.functionDrain(fn as string);
    await this.table.send(
      new PutCommand({ TableName: this.tableName, Item: { ...key, ...record } })
    );
  }

  /** Items by key, in BatchGetItem pages of 100, unprocessed keys retried; absent ones left out. */
  private async batchGet(all: readonly TableKey[]): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    for (let i = 0; i < all.length; i += 100) {
      let request: BatchGetCommandInput['RequestItems'] = {
        [this.tableName]: { Keys: all.slice(i, i + 100), ConsistentRead: true },
      };
      while (request && Object.keys(request).length > 0) {
        const out: BatchGetCommandOutput = await this.table.send(
          new BatchGetCommand({ RequestItems: request })
        );
        found.push(...(out.Responses?.[this.tableName] ?? []));
        request = out.UnprocessedKeys;
      }
    }
    return found;
  }
}
