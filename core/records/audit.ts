import { randomUUID } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from './keys';
import type { RecordTable } from './table';

/** One line of the audit log. */
export interface AuditEntry {
  readonly at: string;
  readonly by: string;
  readonly action: string;
  readonly outcome: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

const AUDIT_PARTITION = keys.audit('', '').pk;

/** The audit log (`AUDIT`/`<iso time>#<id>`): every command and every decision of the orchestrator. */
export class AuditRecords {
  constructor(private readonly table: RecordTable) {}

  /** Appends to the audit log. */
  async append(entry: AuditEntry): Promise<void> {
    await this.table.client.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: { ...keys.audit(entry.at, randomUUID().slice(0, 8)), ...entry },
      })
    );
  }

  /** The newest entries first. */
  async latest(limit: number): Promise<AuditEntry[]> {
    const out = await this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': AUDIT_PARTITION },
        ScanIndexForward: false,
        Limit: limit,
      })
    );
    return (out.Items ?? []) as AuditEntry[];
  }
}
