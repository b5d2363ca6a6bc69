import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from './keys';
import {
  batchGetItems,
  getItem,
  isConditionFailed,
  queryAll,
  type ReadOptions,
  type RecordTable,
  setAttributes,
} from './table';

/** Per function at a region location: its Lambda name and the version a release staged there. */
export type StagedFunctions = Readonly<
  Record<string, { readonly functionName: string; readonly version: string }>
>;

/** Per bundle at a satellite: where its asset sits in S3 and what it must hash to. */
export interface StagedArtifact {
  readonly bucket: string;
  readonly key: string;
  readonly sha256: string;
}

/**
 * A release a deploy staged at a location (`LOCATION#<id>`/`RELEASE#<release>`): how the
 * orchestrator learns that the release is ready there. Writing it moves no traffic.
 */
export interface StagedRelease {
  readonly locationId: string;
  readonly releaseId: string;
  /** Regions: per function, the Lambda name and the version this deploy published. */
  readonly functions?: StagedFunctions;
  /** Satellites: per bundle (function names plus `runtime`), its S3 object and hash. */
  readonly artifacts?: Readonly<Record<string, StagedArtifact>>;
  /** The release manifest, as JSON (satellites and the local fleet load functions by it). */
  readonly manifest?: string;
  /** When the local fleet staged it (ISO 8601); CloudFormation keeps a deploy's own time. */
  readonly stagedAt?: string;
  /**
   * The environment's signature over the release (base64 of the DER ECDSA P-256 signature of
   * `signedReleasePayload`): a satellite loads the release only if it verifies.
   */
  readonly signature?: string;
  /** The last time a satellite host refused the release (written by the satellite). */
  readonly refusal?: ReleaseRefusal;
}

/** Why a satellite host refused to load a staged release, and when. */
export interface ReleaseRefusal {
  readonly reason: string;
  /** ISO 8601. */
  readonly at: string;
  /** The host that refused it. */
  readonly instanceId: string;
}

/** A refusal of one release at one location, as governance reads it. */
export interface RefusedRelease extends ReleaseRefusal {
  readonly locationId: string;
  readonly releaseId: string;
}

/**
 * The update a deploy makes to record a staged release: it sets only what the deploy owns.
 * The CDK records custom resource and the local fleet both send exactly this.
 */
export function stagedReleaseUpdate(tableName: string, staged: StagedRelease) {
  const { locationId, releaseId, functions, artifacts, manifest, stagedAt, signature } = staged;
  return setAttributes(tableName, keys.stagedRelease(locationId, releaseId), {
    type: 'staged-release',
    locationId,
    releaseId,
    ...(functions ? { functions } : {}),
    ...(artifacts ? { artifacts } : {}),
    ...(manifest ? { manifest } : {}),
    ...(stagedAt ? { stagedAt } : {}),
    ...(signature ? { signature } : {}),
  });
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

/** The staged-release records of the fleet's locations. */
export class StagedReleaseRecords {
  constructor(private readonly table: RecordTable) {}

  /** Records that a deploy staged a release at a location. */
  async stage(staged: StagedRelease): Promise<void> {
    await this.table.client.send(
      new UpdateCommand(stagedReleaseUpdate(this.table.tableName, staged))
    );
  }

  /**
   * Records that a satellite host refused the release (a signature that does not verify, a
   * bundle that does not match): governance reports it. Only the attribute the satellite
   * owns is written, and only on a record a deploy wrote.
   */
  async refuse(locationId: string, releaseId: string, refusal: ReleaseRefusal): Promise<void> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: keys.stagedRelease(locationId, releaseId),
          UpdateExpression: 'SET refusal = :refusal',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':refusal': refusal },
        })
      );
    } catch (err) {
      // Not staged here (any more): there is no record to report on.
      if (!isConditionFailed(err)) throw err;
    }
  }

  /** Clears a refusal once a host did load the release (it was fixed, or re-signed). */
  async clearRefusal(locationId: string, releaseId: string): Promise<void> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: keys.stagedRelease(locationId, releaseId),
          UpdateExpression: 'REMOVE refusal',
          ConditionExpression: 'attribute_exists(refusal)',
        })
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  /** The releases refused at these locations, by location then release. */
  async refused(locationIds: readonly string[]): Promise<RefusedRelease[]> {
    const refused: RefusedRelease[] = [];
    for (const id of locationIds) {
      const items = await queryAll(this.table, {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :staged)',
        FilterExpression: 'attribute_exists(refusal)',
        ExpressionAttributeValues: {
          ':pk': keys.stagedRelease(id, '').pk,
          ':staged': STAGED_PREFIX,
        },
        ProjectionExpression: 'releaseId, refusal',
      });
      for (const item of items) {
        const refusal = item.refusal as ReleaseRefusal | undefined;
        if (typeof item.releaseId !== 'string' || !refusal) continue;
        refused.push({ locationId: id, releaseId: item.releaseId, ...refusal });
      }
    }
    return refused;
  }

  /** The staged-release record, if the release is staged at the location. */
  async get(
    locationId: string,
    releaseId: string,
    options: ReadOptions = {}
  ): Promise<StagedRelease | undefined> {
    return (await getItem(this.table, keys.stagedRelease(locationId, releaseId), options)) as
      | StagedRelease
      | undefined;
  }

  /** Whether a deploy staged the release at the location (reads its key only). */
  async isStaged(locationId: string, releaseId: string): Promise<boolean> {
    const item = await getItem(this.table, keys.stagedRelease(locationId, releaseId), {
      projection: 'pk',
    });
    return item !== undefined;
  }

  /**
   * Per function, the Lambda version `releaseId` staged at a region location; throws when it
   * is not staged there (the orchestrator never routes to a version nobody deployed).
   */
  async functionsAt(locationId: string, releaseId: string): Promise<StagedFunctions> {
    const staged = await this.get(locationId, releaseId, { consistent: true });
    if (!staged?.functions) throw new Error(`release ${releaseId} is not staged at ${locationId}`);
    return staged.functions;
  }

  /** The functions of `releaseId`, from its staged-release records at these locations. */
  async releaseFunctions(locationIds: readonly string[], releaseId: string): Promise<string[]> {
    const items = await batchGetItems(
      this.table,
      locationIds.map((id) => keys.stagedRelease(id, releaseId)),
      { consistent: true }
    );
    return [...new Set(items.flatMap(stagedFunctionNames))].sort();
  }

  /** The functions of every release staged at these locations, sorted. */
  async knownFunctions(locationIds: readonly string[]): Promise<string[]> {
    const names = new Set<string>();
    for (const id of locationIds) {
      const items = await queryAll(this.table, {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :staged)',
        ExpressionAttributeValues: {
          ':pk': keys.stagedRelease(id, '').pk,
          ':staged': STAGED_PREFIX,
        },
        ProjectionExpression: 'manifest, #functions',
        ExpressionAttributeNames: { '#functions': 'functions' },
      });
      for (const item of items) for (const n of stagedFunctionNames(item)) names.add(n);
    }
    return [...names].sort();
  }
}
