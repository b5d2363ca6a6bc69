import { createHash } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { HttpError, NotFoundError, PreconditionFailedError } from '../../../core/errors';
import { ITEMS_PARTITION, keys } from '../../../core/records/keys';
import { isConditionFailed, mapTableError } from '../../../core/records/table';
import type { Json } from './merge-patch';
import { fromStoredValue, toStoredValue } from './stored-value';

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

/**
 * What a write requires of the item as it is when the write applies, checked by DynamoDB in
 * the same request, so no other writer can slip in between the check and the write.
 */
export interface WriteCondition {
  /** `*`: the item must exist; ETags: it must exist with one of them. */
  readonly ifMatch?: '*' | readonly string[];
  /** `*`: the item must not exist; ETags: it must not exist, or have none of them. */
  readonly ifNoneMatch?: '*' | readonly string[];
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
  const { pk: _pk, sk: _sk, value, ...item } = r as unknown as ItemRecord;
  return { ...item, value: fromStoredValue(value) };
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
    return this.write(id, value, { ifMatch: [etag] });
  }

  /** Deletes the item; throws {@link NotFoundError} when there is none. */
  async delete(id: string, condition: WriteCondition = {}): Promise<void> {
    this.assertSatisfiable(condition);
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
    this.assertSatisfiable(condition);
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
            ':value': toStoredValue(value),
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

  /** Throws before any call when the condition is one no item can meet (no ETag to match). */
  private assertSatisfiable(condition: WriteCondition): void {
    if (Array.isArray(condition.ifMatch) && condition.ifMatch.length === 0) {
      throw new VersionConflictError(conditionDetail(condition));
    }
  }

  private translate(err: unknown, condition: WriteCondition): unknown {
    if (err instanceof HttpError) return err;
    if (isConditionFailed(err)) {
      return new VersionConflictError(conditionDetail(condition), { cause: err });
    }
    try {
      mapTableError(err);
    } catch (mapped) {
      return mapped;
    }
    return err;
  }
}

/** Why a conditional write failed, in the words of the headers it came from. */
function conditionDetail(condition: WriteCondition): string {
  const failed = [
    condition.ifMatch === '*' ? 'the item does not exist (If-Match: *)' : undefined,
    Array.isArray(condition.ifMatch)
      ? 'the item does not exist or has changed since the ETag in If-Match was read'
      : undefined,
    condition.ifNoneMatch === '*' ? 'the item already exists (If-None-Match: *)' : undefined,
    Array.isArray(condition.ifNoneMatch)
      ? 'the item has an ETag listed in If-None-Match'
      : undefined,
  ].filter((d) => d !== undefined);
  return `${failed.join(', or ')}; read it again and retry`;
}

const placeholders = (prefix: string, etags: readonly string[]) =>
  etags.length === 1 ? [prefix] : etags.map((_, i) => `${prefix}${i}`);

/** The DynamoDB condition of a write: both headers' conditions must hold (RFC 9110 §13.2.2). */
function conditionOf(condition: WriteCondition): {
  expression?: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
} {
  const clauses: string[] = [];
  const values: Record<string, unknown> = {};
  const { ifMatch, ifNoneMatch } = condition;
  if (ifMatch === '*') clauses.push('attribute_exists(pk)');
  else if (ifMatch !== undefined) {
    const names = placeholders(':expectedEtag', ifMatch);
    names.forEach((name, i) => {
      values[name] = ifMatch[i];
    });
    clauses.push(names.length === 1 ? `#etag = ${names[0]}` : `#etag IN (${names.join(', ')})`);
  }
  if (ifNoneMatch === '*') clauses.push('attribute_not_exists(pk)');
  else if (ifNoneMatch !== undefined && ifNoneMatch.length > 0) {
    const names = placeholders(':unwantedEtag', ifNoneMatch);
    names.forEach((name, i) => {
      values[name] = ifNoneMatch[i];
    });
    clauses.push(`(attribute_not_exists(pk) OR NOT (#etag IN (${names.join(', ')})))`);
  }
  if (clauses.length === 0) return {};
  const usesEtag = clauses.some((c) => c.includes('#etag'));
  return {
    expression: clauses.join(' AND '),
    ...(usesEtag ? { names: { '#etag': 'etag' } } : {}),
    ...(Object.keys(values).length > 0 ? { values } : {}),
  };
}
