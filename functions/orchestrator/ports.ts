import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type DesiredTraffic,
  type Heartbeat,
  isStale,
  locationHeartbeat,
} from '../../lib/satellite/records';
import { keys } from '../shared/keys';

/** What a location should serve. */
export interface TrafficTarget {
  readonly stable: string;
  readonly candidate?: string;
  /** Candidate share, 0..1. */
  readonly weight: number;
}

/**
 * Moves traffic at one kind of location. Applying the same target twice is harmless: the
 * orchestrator relies on that to finish a step a crashed run started.
 */
export interface TrafficDriver {
  apply(locationId: string, target: TrafficTarget): Promise<void>;
}

/** A location's health for one release since it started serving it. */
export interface HealthSample {
  /** Monotonic counts for the release at the location. */
  readonly requests: number;
  readonly errors5xx: number;
  readonly p99Ms: number;
  /** False when the location has not reported within its promised interval. */
  readonly fresh: boolean;
  /** False when an alarm on the location is firing. */
  readonly alarmsOk: boolean;
}

/** Where gates read health from. */
export interface HealthSource {
  sample(locationId: string, release: string): Promise<HealthSample>;
  /** Many locations at once, when the source can batch (one request per 100 locations). */
  sampleMany?(locationIds: readonly string[], release: string): Promise<Map<string, HealthSample>>;
}

/**
 * Satellites (and every location of the local fleet): the desired-traffic record their pull
 * agents apply.
 */
export class SatelliteTrafficDriver implements TrafficDriver {
  constructor(
    private readonly table: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now
  ) {}

  async apply(locationId: string, target: TrafficTarget): Promise<void> {
    const desired: DesiredTraffic = {
      stable: target.stable,
      ...(target.candidate && target.weight > 0 ? { candidate: target.candidate } : {}),
      weight: target.candidate ? target.weight : 0,
      updatedAt: new Date(this.now()).toISOString(),
    };
    await this.table.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.desiredTraffic(locationId), ...desired },
      })
    );
  }
}

/** Satellites' health: their heartbeats (monotonic totals, last window's p99, freshness). */
export class HeartbeatHealthSource implements HealthSource {
  constructor(
    private readonly table: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now
  ) {}

  async sample(locationId: string, release: string): Promise<HealthSample> {
    const out = await this.table.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.heartbeat(locationId),
        ConsistentRead: true,
      })
    );
    return this.toSample(locationHeartbeat(out.Item), release);
  }

  /** Reads the heartbeats in BatchGetItem pages of 100, not one request per location. */
  async sampleMany(
    locationIds: readonly string[],
    release: string
  ): Promise<Map<string, HealthSample>> {
    const found = new Map<string, Heartbeat>();
    for (let i = 0; i < locationIds.length; i += 100) {
      let request: BatchGetCommandInput['RequestItems'] = {
        [this.tableName]: {
          Keys: locationIds.slice(i, i + 100).map((id) => keys.heartbeat(id)),
          ConsistentRead: true,
        },
      };
      while (request && Object.keys(request).length > 0) {
        const out: BatchGetCommandOutput = await this.table.send(
          new BatchGetCommand({ RequestItems: request })
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const hb = locationHeartbeat(item);
          if (hb) found.set(hb.locationId, hb);
        }
        request = out.UnprocessedKeys;
      }
    }
    return new Map(locationIds.map((id) => [id, this.toSample(found.get(id), release)]));
  }

  private toSample(hb: Heartbeat | undefined, release: string): HealthSample {
    if (!hb) return { requests: 0, errors5xx: 0, p99Ms: 0, fresh: false, alarmsOk: true };
    const totals = hb.totals?.[release];
    return {
      requests: totals?.requests ?? 0,
      errors5xx: totals?.errors5xx ?? 0,
      p99Ms: hb.releases?.[release]?.p99Ms ?? 0,
      fresh: !isStale(hb, this.now()),
      alarmsOk: true,
    };
  }
}
