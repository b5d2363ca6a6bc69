import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from './keys';
import { queryAll, type RecordTable } from './table';

/** Something a governance job found. */
export interface Finding {
  readonly job: 'drift' | 'stale-heartbeat' | 'policy' | 'disconnected' | 'refused-release';
  readonly subject: string;
  readonly severity: 'low' | 'medium' | 'high';
  readonly message: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly resolved: boolean;
  readonly resolvedAt?: string;
}

/** A finding as stored: with its sort key (`<job>#<subject>`). */
export type StoredFinding = Finding & { readonly sk: string };

const FINDINGS_PARTITION = keys.finding('', '').pk;

/** The governance jobs' findings (`FINDINGS`/`<job>#<subject>`): one per job and subject. */
export class FindingRecords {
  constructor(private readonly table: RecordTable) {}

  /** Every finding as stored. */
  async all(): Promise<StoredFinding[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': FINDINGS_PARTITION },
    });
    return items as unknown as StoredFinding[];
  }

  /** Every finding, open ones first. */
  async list(): Promise<StoredFinding[]> {
    return (await this.all()).sort((a, b) => Number(a.resolved) - Number(b.resolved));
  }

  /** Writes a finding (a new one, or the same one seen again, or resolved). */
  async put(finding: Finding): Promise<void> {
    await this.table.client.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: { ...keys.finding(finding.job, finding.subject), ...finding },
      })
    );
  }
}
