import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditRecords } from './audit';
import { keys } from './keys';
import {
  ConflictError,
  conditionally,
  getItem,
  isConditionFailed,
  type RecordTable,
} from './table';

/** What the orchestrator keeps about rollouts: the rollout records and the active-rollout slot. */

/** Where a rollout stands. */
export type RolloutStatus = 'running' | 'paused' | 'completed' | 'aborted' | 'rolled-back';

/**
 * The step in progress: `applying` is recorded before traffic moves and `baking` after, so a
 * run that crashes half way leaves a record the next run finishes (re-applying is harmless:
 * drivers set absolute weights).
 */
export type StepPhase = 'applying' | 'baking';

/** Counts a gate compares against, per location, at the start of a step. */
export interface Baseline {
  readonly requests: number;
  readonly errors5xx: number;
  /** The stable release's counts at the same moment. @default 0 */
  readonly stableRequests?: number;
  readonly stableErrors5xx?: number;
}

/** One release's figures over a step's window. */
export interface ReleaseFigures {
  readonly requests: number;
  readonly errors5xx: number;
  /** 5xx answers in percent of requests (0 without requests). */
  readonly errorRatePercent: number;
  readonly p99Ms: number;
}

/** A location's latest verdict, with what it was judged on: what `rollout status` shows. */
export interface LocationEvidence {
  readonly verdict: 'pass' | 'wait' | 'breach';
  /** Why it waits or breached. */
  readonly why?: string;
  /** The rule that breached. */
  readonly rule?: string;
  readonly confidencePercent?: number;
  readonly candidate: ReleaseFigures;
  readonly stable?: ReleaseFigures;
  /** What dry-run rules would have said. */
  readonly dryRun?: readonly string[];
}

/** One progressive rollout of a candidate release over the fleet. */
export interface Rollout {
  readonly rolloutId: string;
  readonly release: string;
  /** What each location served when the rollout started: where a rollback returns. */
  readonly previous: Readonly<Record<string, string>>;
  readonly status: RolloutStatus;
  readonly wave: number;
  readonly step: number;
  /** The batch of the current wave in progress (see `batches`). @default 0 */
  readonly batch?: number;
  readonly phase: StepPhase;
  readonly bakeUntilMs: number;
  readonly baseline: Readonly<Record<string, Baseline>>;
  /** Locations that have served the candidate; a rollback returns all of them. */
  readonly touched: readonly string[];
  /**
   * What the current step waits for, per location of its wave, in words: its bake, or the
   * evidence its gate lacks (`no heartbeat from lab since 19:05:12 UTC`, `lab is drained`,
   * `lab: 3 of 50 requests served`). Empty once nothing is awaited; a paused rollout keeps
   * what it waited for when it paused. Absent in rollouts written before it existed.
   */
  readonly waiting?: Readonly<Record<string, string>>;
  /**
   * Locations a wave's failure tolerance returned to stable after they breached; they serve
   * their stable release from then on, and the rollout goes on without them. @default []
   */
  readonly breached?: readonly string[];
  /** The latest verdict of every location judged, with its evidence. @default {} */
  readonly evidence?: Readonly<Record<string, LocationEvidence>>;
  /** Optimistic lock: every write says which version it replaces. */
  readonly version: number;
  /** Why the rollout paused, rolled back or was aborted; cleared by a resume. */
  readonly reason?: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly history: readonly {
    readonly at: string;
    readonly event: string;
    /** The verdicts a step was decided on (it advanced, breached or ended inconclusive). */
    readonly evidence?: Readonly<Record<string, LocationEvidence>>;
  }[];
}

/**
 * Rollouts (`ROLLOUT#<id>`/`ROLLOUT`) and the single active-rollout slot
 * (`CONTROL`/`ACTIVE_ROLLOUT`), each write fenced: rollouts by version, the slot by existence.
 * Two orchestrator runs can race on either; exactly one write wins.
 */
export class RolloutRecords {
  constructor(
    private readonly table: RecordTable,
    private readonly audit: AuditRecords
  ) {}

  /** The id of the environment's active rollout, if any. */
  async activeId(): Promise<string | undefined> {
    const item = await getItem(this.table, keys.activeRollout, { consistent: true });
    return item?.rolloutId as string | undefined;
  }

  /** Claims the single active-rollout slot; false when another rollout holds it. */
  async claimActive(rolloutId: string): Promise<boolean> {
    return conditionally(
      this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { ...keys.activeRollout, rolloutId },
          ConditionExpression: 'attribute_not_exists(pk) OR rolloutId = :id',
          ExpressionAttributeValues: { ':id': rolloutId },
        })
      )
    );
  }

  /** Frees the slot, only if this rollout holds it. */
  async releaseActive(rolloutId: string): Promise<void> {
    await conditionally(
      this.table.client.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: keys.activeRollout,
          ConditionExpression: 'rolloutId = :id',
          ExpressionAttributeValues: { ':id': rolloutId },
        })
      )
    );
  }

  async get(rolloutId: string): Promise<Rollout | undefined> {
    return (await getItem(this.table, keys.rollout(rolloutId), { consistent: true })) as
      | Rollout
      | undefined;
  }

  /** Writes `next` only if the stored rollout is still at `next.version - 1` (or absent, for version 1). */
  async save(next: Rollout): Promise<void> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
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
      if (isConditionFailed(err))
        throw new ConflictError(`rollout ${next.rolloutId}`, { cause: err });
      throw err;
    }
  }

  /** Rollouts, newest first. */
  async list(limit = 20): Promise<Rollout[]> {
    // Rollouts live in their own partitions; the audit log lists their ids cheaply instead
    // of a scan: `rollout <id>` actions.
    const audit = await this.audit.latest(200);
    const ids = [
      ...new Set(audit.map((a) => a.detail?.rolloutId as string | undefined).filter(Boolean)),
    ];
    const found: Rollout[] = [];
    // An id whose record is gone does not count against the limit.
    for (let i = 0; i < ids.length && found.length < limit; i += limit) {
      const page = await Promise.all(ids.slice(i, i + limit).map((id) => this.get(id as string)));
      found.push(...page.filter((r): r is Rollout => r !== undefined));
    }
    return found.slice(0, limit);
  }

  /** The active rollout, if any. */
  async active(): Promise<Rollout | undefined> {
    const id = await this.activeId();
    return id ? this.get(id) : undefined;
  }
}
