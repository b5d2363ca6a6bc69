import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditRecords } from './audit';
import { DesiredTrafficRecords } from './desired-traffic';
import { DrainRecords } from './drains';
import { DefinitionRecords } from './environment-definition';
import { FindingRecords } from './findings';
import { HeartbeatRecords } from './heartbeats';
import { IntentRecords } from './intents';
import { RegistrationRecords } from './registrations';
import { RolloutRecords } from './rollouts';
import { StagedReleaseRecords } from './staged-releases';
import type { RecordTable } from './table';

/**
 * Every platform record of the global table, one family per field. This is the only code that
 * reads or writes platform records: each family owns its key, its item type, its reads and
 * writes, and what a refused conditional write means (a `false`, or a `ConflictError`);
 * other failures are rethrown as the SDK raised them.
 */
export class Records {
  /** The table's name (the same in every data region). */
  readonly tableName: string;
  readonly registrations: RegistrationRecords;
  readonly stagedReleases: StagedReleaseRecords;
  readonly desired: DesiredTrafficRecords;
  readonly drains: DrainRecords;
  readonly heartbeats: HeartbeatRecords;
  readonly audit: AuditRecords;
  readonly rollouts: RolloutRecords;
  readonly intents: IntentRecords;
  readonly findings: FindingRecords;
  readonly definition: DefinitionRecords;

  /**
   * @param client a document client for the table's replica in the reader's data region
   * @param now the clock intents are stamped with @default Date.now
   */
  constructor(client: DynamoDBDocumentClient, tableName: string, now: () => number = Date.now) {
    this.tableName = tableName;
    const table: RecordTable = { client, tableName };
    this.registrations = new RegistrationRecords(table);
    this.stagedReleases = new StagedReleaseRecords(table);
    this.desired = new DesiredTrafficRecords(table);
    this.drains = new DrainRecords(table);
    this.heartbeats = new HeartbeatRecords(table);
    this.audit = new AuditRecords(table);
    this.rollouts = new RolloutRecords(table, this.audit);
    this.intents = new IntentRecords(table, now);
    this.findings = new FindingRecords(table);
    this.definition = new DefinitionRecords(table);
  }
}
