import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { keys } from '../shared/keys';
import { isConditionFailed } from '../shared/table';
import type { AuditEntry, Command, Intent, Rollout } from './model';

/** Another writer changed the record first; the caller stops and lets the next run look again. */
export class ConflictError extends Error {
  constructor(what: string) {
    super(`${what} was changed by another writer`);
    this.name = 'ConflictError';
  }
}

/**
 * The control records in the global table, each write fenced: rollouts by version, the
 * active-rollout pointer by existence, intents by status. Two orchestrator runs, or two CLI
 * users, can race on any of them; exactly one write wins.
 */
export class ControlStore {
  constructor(
    readonly table: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly now: () => number = Date.now
  ) {}

  /** Records a command for the next orchestrator run; returns its id. */
  async submit(command: Command, by: string): Promise<Intent> {
    const atMs = this.now();
    const intentId = randomUUID().slice(0, 8);
    const intent = {
      ...keys.intent(atMs, intentId),
      ...command,
      intentId,
      by,
      at: new Date(atMs).toISOString(),
      status: 'pending',
    } as Intent;
    await this.table.send(new PutCommand({ TableName: this.tableName, Item: intent }));
    return intent;
  }

  /** Pending intents, oldest first. */
  async pendingIntents(): Promise<Intent[]> {
    const out = await this.table.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pk': 'INTENTS', ':pending': 'pending' },
        ConsistentRead: true,
      })
    );
    return (out.Items ?? []) as Intent[];
  }

  /** One intent by id (for the CLI waiting on its outcome). */
  async intent(intent: Pick<Intent, 'pk' | 'sk'>): Promise<Intent | undefined> {
    const out = await this.table.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: intent.pk, sk: intent.sk },
        ConsistentRead: true,
      })
    );
    return out.Item as Intent | undefined;
  }

  /** Closes an intent once; a second run closing it too fails with a conflict. */
  async closeIntent(intent: Intent, status: 'done' | 'rejected', outcome: string): Promise<void> {
    try {
      await this.table.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: intent.pk, sk: intent.sk },
          UpdateExpression: 'SET #status = :status, outcome = :outcome',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ':outcome': outcome,
            ':pending': 'pending',
          },
        })
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new ConflictError(`intent ${intent.intentId}`);
      throw err;
    }
  }

  /** The id of the environment's active rollout, if any. */
  async activeRolloutId(): Promise<string | undefined> {
    const out = await this.table.send(
      new GetCommand({ TableName: this.tableName, Key: keys.activeRollout, ConsistentRead: true })
    );
    return out.Item?.rolloutId as string | undefined;
  }

  /** Claims the single active-rollout slot; false when another rollout holds it. */
  async claimActive(rolloutId: string): Promise<boolean> {
    try {
      await this.table.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.activeRollout, rolloutId },
          ConditionExpression: 'attribute_not_exists(pk) OR rolloutId = :id',
          ExpressionAttributeValues: { ':id': rolloutId },
        })
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** Frees the slot, only if this rollout holds it. */
  async releaseActive(rolloutId: string): Promise<void> {
    try {
      await this.table.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.activeRollout,
          ConditionExpression: 'rolloutId = :id',
          ExpressionAttributeValues: { ':id': rolloutId },
        })
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  async rollout(rolloutId: string): Promise<Rollout | undefined> {
    const out = await this.table.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.rollout(rolloutId),
        ConsistentRead: true,
      })
    );
    return out.Item as Rollout | undefined;
  }

  /** Writes `next` only if the stored rollout is still at `next.version - 1` (or absent, for version 1). */
  async saveRollout(next: Rollout): Promise<void> {
    try {
      await this.table.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.rollout(next.rolloutId), ...next },
          ConditionExpression:
            next.version === 1 ? 'attribute_not_exists(pk)' : '#version = :previous',
          ...(next.version === 1
            ? {}
            : {
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':previous': next.version - 1 },
              }),
        })
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new ConflictError(`rollout ${next.rolloutId}`);
      throw err;
    }
  }

  /** Rollouts, newest first. */
  async rollouts(limit = 20): Promise<Rollout[]> {
    // Rollouts live in their own partitions; the audit log lists their ids cheaply instead
    // of a scan: `rollout <id>` actions.
    const audit = await this.auditLog(200);
    const ids = [
      ...new Set(audit.map((a) => a.detail?.rolloutId as string | undefined).filter(Boolean)),
    ];
    const found = await Promise.all(ids.slice(0, limit).map((id) => this.rollout(id as string)));
    return found.filter((r): r is Rollout => r !== undefined);
  }

  /** The newest audit entries first. */
  async auditLog(limit: number): Promise<AuditEntry[]> {
    const out = await this.table.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'AUDIT' },
        ScanIndexForward: false,
        Limit: limit,
      })
    );
    return (out.Items ?? []) as AuditEntry[];
  }

  /** Appends to the audit log. */
  async audit(entry: AuditEntry): Promise<void> {
    await this.table.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.audit(entry.at, randomUUID().slice(0, 8)), ...entry },
      })
    );
  }
}
