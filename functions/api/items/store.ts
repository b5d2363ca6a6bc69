import { createHash } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { HttpError, NotFoundError, PreconditionFailedError } from '../../shared/errors';
import { ITEMS_PARTITION, keys } from '../../shared/keys';
import { isConditionFailed, mapTableError } from '../../shared/table';
import type { Json } from './merge-patch';

/** An item as clients see it. */
export interface Item {
  readonly id: string;
  readonly value: Record<string, Json>;
  /** 1 on creation, +1 on every write at any location. */
  readonly version: number;
  /** Opaque; changes on every write. Sent as the `ETag` header. */
  readonly etag: string;
  readonly createdAt: string;
  /** When and where (location id) the last write happened: last writer wins across regions. */
  readonly updatedAt: string;
  readonly updatedIn: string;
}

/** A precondition a write must meet. */
export interface WriteCondition {
  /** The ETag the item must still have, or `*` for "must exist". */
  readonly ifMatch?: string;
  /** `*`: the item must not exist yet (create only). */
  readonly ifNoneMatch?: '*';
}

/** One page of a listing. */
export interface ItemPage {
  readonly items: readonly Item[];
  /** The id to continue after, when there may be more. */
  readonly lastId?: string;
}

/** 412: a conditional write lost to another writer, or its precondition did not hold. */
export class VersionConflictError extends PreconditionFailedError {
  constructor(detail: string, options?: ErrorOptions) {
    super(detail, undefined, options);
    this.name = 'VersionConflictError';
  }
}

/** Options of an {@link ItemStore}. */
export interface ItemStoreOptions {
  readonly table: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The location writing, recorded as `updatedIn`. */
  readonly locationId: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

type ItemRecord = Item & { pk: string; sk: string };

const toItem = (r: Record<string, unknown>): Item => {
  const { pk: _pk, sk: _sk, ...item } = r as unknown as ItemRecord;
  return item;
};

/**
 * Items in the global table, with optimistic concurrency: every write sets a new ETag and
 * increments the version in one conditional UpdateItem, so two writers racing on the same
 * ETag cannot both win. SDK failures are translated at this edge: a failed condition is a
 * 412, throttling or an unreachable table a 503; anything else is rethrown.
 */
export class ItemStore {
  private readonly now: () => Date;

  constructor(private readonly options: ItemStoreOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The item, or `undefined` when there is none. */
  async get(id: string): Promise<Item | undefined> {
    const out = await this.options.table
      .send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: keys.item(id),
          ConsistentRead: true,
        })
      )
      .catch(mapTableError);
    return out.Item ? toItem(out.Item) : undefined;
  }

  /** Creates or replaces the item's value; `created` tells which. */
  async put(
    id: string,
    value: Record<string, Json>,
    condition: WriteCondition = {}
  ): Promise<{ item: Item; created: boolean }> {
    const item = await this.write(id, value, condition);
    return { item, created: item.version === 1 };
  }

  /**
   * Replaces the value only if the item still has `etag` (read just before): the building
   * block of read-modify-write (PATCH) without lost updates.
   */
  async replaceIf(id: string, value: Record<string, Json>, etag: string): Promise<Item> {
    return this.write(id, value, { ifMatch: etag });
  }

  /** Deletes the item; throws {@link NotFoundError} when there is none. */
  async delete(id: string, condition: WriteCondition = {}): Promise<void> {
    const { expression, names, values } = conditionOf(condition);
    try {
      const out = await this.options.table.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: keys.item(id),
          ConditionExpression: expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        })
      );
      if (!out.Attributes) throw new NotFoundError(`item '${id}' does not exist`);
    } catch (err) {
      throw this.translate(err, condition);
    }
  }

  /** Items whose id starts with `prefix`, in id order, at most `limit`, after `afterId`. */
  async list(prefix: string, limit: number, afterId?: string): Promise<ItemPage> {
    const out = await this.options.table
      .send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': ITEMS_PARTITION, ':prefix': keys.itemPrefix(prefix) },
          ExclusiveStartKey: afterId === undefined ? undefined : keys.item(afterId),
          // One more than asked: whether a next page exists is known without an empty page.
          Limit: limit + 1,
        })
      )
      .catch(mapTableError);
    const records = (out.Items ?? []).map(toItem);
    const items = records.slice(0, limit);
    const more = records.length > limit;
    return { items, lastId: more ? items[items.length - 1]?.id : undefined };
  }

  private async write(
    id: string,
    value: Record<string, Json>,
    condition: WriteCondition
  ): Promise<Item> {
    const updatedAt = this.now().toISOString();
    const { locationId } = this.options;
    const etag = createHash('sha256')
      .update(JSON.stringify([id, value, updatedAt, locationId, Math.random()]))
      .digest('base64url')
      .slice(0, 22);
    const { expression, names, values } = conditionOf(condition);
    try {
      const out = await this.options.table.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: keys.item(id),
          UpdateExpression:
            'SET #id = :id, #value = :value, #version = if_not_exists(#version, :zero) + :one, ' +
            '#etag = :newEtag, updatedAt = :now, updatedIn = :location, createdAt = if_not_exists(createdAt, :now)',
          ConditionExpression: expression,
          ExpressionAttributeNames: {
            ...names,
            '#id': 'id',
            '#value': 'value',
            '#version': 'version',
            '#etag': 'etag',
          },
          ExpressionAttributeValues: {
            ...values,
            ':id': id,
            ':value': value,
            ':zero': 0,
            ':one': 1,
            ':newEtag': etag,
            ':now': updatedAt,
            ':location': locationId,
          },
          ReturnValues: 'ALL_NEW',
        })
      );
      return toItem(out.Attributes ?? {});
    } catch (err) {
      throw this.translate(err, condition);
    }
  }

  private translate(err: unknown, condition: WriteCondition): unknown {
    if (err instanceof HttpError) return err;
    if (isConditionFailed(err)) {
      return new VersionConflictError(
        condition.ifNoneMatch === '*'
          ? 'the item already exists (If-None-Match: *)'
          : condition.ifMatch === '*'
            ? 'the item does not exist (If-Match: *)'
            : 'the item has changed since the ETag in If-Match was read; read it again and retry',
        { cause: err }
      );
    }
    try {
      mapTableError(err);
    } catch (mapped) {
      return mapped;
    }
    return err;
  }
}

function conditionOf(condition: WriteCondition): {
  expression?: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
} {
  if (condition.ifNoneMatch === '*') return { expression: 'attribute_not_exists(pk)' };
  if (condition.ifMatch === '*') return { expression: 'attribute_exists(pk)' };
  if (condition.ifMatch !== undefined) {
    return {
      expression: '#etag = :expectedEtag',
      names: { '#etag': 'etag' },
      values: { ':expectedEtag': condition.ifMatch },
    };
  }
  return {};
}
