import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from './keys';
import { ConflictError, isConditionFailed, queryAll, type RecordTable } from './table';

/** A command for the orchestrator, written by the CLI, executed by the next run. */
export type Command =
  | { readonly command: 'start'; readonly release: string }
  | { readonly command: 'pause' | 'resume' | 'abort' | 'promote' }
  | {
      readonly command: 'drain' | 'restore';
      readonly location?: string;
      readonly function?: string;
      readonly reason?: string;
    };

/** An intent as stored. */
export type Intent = Command & {
  readonly intentId: string;
  readonly by: string;
  readonly at: string;
  readonly status: 'pending' | 'done' | 'rejected';
  readonly outcome?: string;
  readonly pk: string;
  readonly sk: string;
};

const INTENTS_PARTITION = keys.intent(0, '').pk;

/**
 * Commands for the orchestrator (`INTENTS`/`INTENT#<ms>#<id>`), each closed once: two
 * orchestrator runs can race on one, and exactly one closes it.
 */
export class IntentRecords {
  constructor(
    private readonly table: RecordTable,
    private readonly now: () => number = Date.now
  ) {}

  /** Records a command for the next orchestrator run. */
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
    await this.table.client.send(new PutCommand({ TableName: this.table.tableName, Item: intent }));
    return intent;
  }

  /**
   * Pending intents, oldest first. Every page is read: DynamoDB applies a query's 1 MB page
   * limit before its filter, so closed intents fill pages that hold no pending one.
   */
  async pending(): Promise<Intent[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pk': INTENTS_PARTITION, ':pending': 'pending' },
      ConsistentRead: true,
    });
    return items as unknown as Intent[];
  }

  /** One intent by its key (for the CLI waiting on its outcome). */
  async get(intent: Pick<Intent, 'pk' | 'sk'>): Promise<Intent | undefined> {
    const out = await this.table.client.send(
      new GetCommand({
        TableName: this.table.tableName,
        Key: { pk: intent.pk, sk: intent.sk },
        ConsistentRead: true,
      })
    );
    return out.Item as Intent | undefined;
  }

  /** Closes an intent once; a second run closing it too fails with a {@link ConflictError}. */
  async close(intent: Intent, status: 'done' | 'rejected', outcome: string): Promise<void> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
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
      if (isConditionFailed(err))
        throw new ConflictError(`intent ${intent.intentId}`, { cause: err });
      throw err;
    }
  }
}
