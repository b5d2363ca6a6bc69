import type { Environment } from '../../../core/environment/schema';
import type { Records } from '../../../core/records';
import type { DesiredTraffic } from '../../../core/records/desired-traffic';
import type { Finding } from '../../../core/records/findings';
import type { LocationHeartbeat } from '../../../core/records/heartbeats';
import type { RegionObserver } from '../ports';

/** What a job saw: a finding without its bookkeeping (first and last seen, resolved). */
export type Observation = Pick<Finding, 'job' | 'subject' | 'severity' | 'message'>;

/** What one run of a governance job reports. */
export interface JobResult {
  readonly observed: readonly Observation[];
  /**
   * Subjects the job looked at but could not judge this run (a move still settling): their
   * findings are neither raised nor resolved. @default - none
   */
  readonly unjudged?: readonly string[];
}

/** What every job of one governance run reads from; reads are shared between jobs of the run. */
export interface GovernanceContext {
  readonly environment: Environment;
  readonly records: Records;
  /** Locations whose heartbeats the jobs read (satellites; every location in the local fleet). */
  readonly reporting: readonly string[];
  /** Reads what a region's aliases route. @default - regions are not checked for drift */
  readonly observer?: RegionObserver;
  readonly autoDrainStale: boolean;
  readonly nowMs: number;
  /** The location's stored heartbeat record, and the report folded from it. */
  heartbeat(locationId: string): Promise<{ record: unknown; report?: LocationHeartbeat }>;
  /** The location's desired traffic (strongly consistent). */
  desired(locationId: string): Promise<DesiredTraffic | undefined>;
}

/**
 * One governance job, as cdk-nag has rules: a name, the kind of finding it writes, which
 * subjects it speaks for, and its check. A finding is resolved only by a job that ran this
 * time and speaks for its subject, so a job that did not run (no region observer, say)
 * never resolves what it found on an earlier run.
 */
export interface GovernanceJob {
  readonly name: string;
  readonly finding: Finding['job'];
  /** Whether the job can run with this context. @default - always */
  readonly enabled?: (context: GovernanceContext) => boolean;
  /** Whether this job speaks for findings about `subject` (it would raise them if they held). */
  readonly owns: (subject: string, context: GovernanceContext) => boolean;
  readonly run: (context: GovernanceContext) => Promise<JobResult>;
}
