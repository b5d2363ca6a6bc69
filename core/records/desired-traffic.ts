import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from './keys';
import { conditionally, getItem, type ReadOptions, type RecordTable } from './table';

/**
 * What a location should serve: the stable release, and during a rollout a candidate with
 * its share of traffic (`LOCATION#<id>`/`DESIRED`). Written by the orchestrator (and, once,
 * by a location adopting its first staged release); read by satellites' pull agents, by the
 * functions of region locations and by governance.
 */
export interface DesiredTraffic {
  readonly stable: string;
  readonly candidate?: string;
  /** Share of requests for the candidate, 0..1. */
  readonly weight: number;
  /** When it was written (ISO 8601), or {@link FIRST_DEPLOY} for a region's adopted first release. */
  readonly updatedAt: string;
}

/** A traffic split: what a location serves, without when it was written. */
export type TrafficSplit = Pick<DesiredTraffic, 'stable' | 'candidate' | 'weight'>;

/** The `updatedAt` of a desired-traffic record a region's first deploy wrote. */
export const FIRST_DEPLOY = 'first deploy';

/** The record for `split` written at `atMs`: a candidate without weight serves nothing, so it is left out. */
export function desiredTrafficOf(split: TrafficSplit, atMs: number): DesiredTraffic {
  return {
    stable: split.stable,
    ...(split.candidate && split.weight > 0 ? { candidate: split.candidate } : {}),
    weight: split.candidate ? split.weight : 0,
    updatedAt: new Date(atMs).toISOString(),
  };
}

/** The releases a split serves: its stable one, and its candidate when it has weight. */
export const servedReleases = (split: TrafficSplit): string[] => [
  split.stable,
  ...(split.candidate && split.weight > 0 ? [split.candidate] : []),
];

/** Whether a location whose desired traffic is `desired` serves `releaseId` at all. */
export function servesRelease(
  desired: Partial<TrafficSplit> | undefined,
  releaseId: string
): boolean {
  // A location that has never recorded what it serves serves what it runs (its first deploy).
  if (!desired?.stable) return true;
  return (
    desired.stable === releaseId ||
    (desired.candidate === releaseId && Number(desired.weight ?? 0) > 0)
  );
}

/**
 * The item a location's first deploy writes, only if none exists: it serves the release it
 * was first deployed with (as a `live` alias created at its first version does). The CDK
 * records custom resource and the local fleet both write exactly this.
 */
export function firstReleasePut(
  tableName: string,
  locationId: string,
  releaseId: string,
  updatedAt: string = FIRST_DEPLOY
) {
  return {
    TableName: tableName,
    Item: { ...keys.desiredTraffic(locationId), stable: releaseId, weight: 0, updatedAt },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

/** The desired-traffic records of the fleet's locations. */
export class DesiredTrafficRecords {
  constructor(private readonly table: RecordTable) {}

  /** What the location should serve, if anything was ever recorded. */
  async get(locationId: string, options: ReadOptions = {}): Promise<DesiredTraffic | undefined> {
    return (await getItem(this.table, keys.desiredTraffic(locationId), options)) as
      | DesiredTraffic
      | undefined;
  }

  /** Records `split` as what the location serves (idempotent: absolute weights). */
  async put(locationId: string, split: TrafficSplit, atMs: number): Promise<DesiredTraffic> {
    const desired = desiredTrafficOf(split, atMs);
    await this.table.client.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: { ...keys.desiredTraffic(locationId), ...desired },
      })
    );
    return desired;
  }

  /**
   * Makes `releaseId` what a location that never served anything serves, with a conditional
   * write; false when the location already had a record (then that record stands).
   * @param updatedAt when (ISO 8601)
   */
  async adopt(locationId: string, releaseId: string, updatedAt: string): Promise<boolean> {
    const put = firstReleasePut(this.table.tableName, locationId, releaseId, updatedAt);
    return conditionally(this.table.client.send(new PutCommand(put)));
  }
}
