import type { Environment, Location } from '../../core/environment/schema';
import type { Records } from '../../core/records';
import { ConflictError } from '../../core/records/table';
import { Commands } from './commands';
import type { HealthSource, RolloutEvents, SmokeRunner, TrafficDriver } from './ports';
import { RolloutSteps } from './rollout-steps';

/** Options of an {@link Orchestrator}. */
export interface OrchestratorOptions {
  readonly environment: Environment;
  readonly records: Records;
  /** The driver that moves traffic at a location (Lambda aliases, satellite records). */
  readonly driverFor: (location: Location) => TrafficDriver;
  /** Where a location's gates read health. */
  readonly healthFor: (location: Location) => HealthSource;
  /** @default Date.now */
  readonly now?: () => number;
  /** Who the orchestrator acts as in the audit log. @default 'orchestrator' */
  readonly actor?: string;
  /** Runs `rollout.smoke` before a location gets candidate traffic. @default - none run */
  readonly smoke?: SmokeRunner;
  /** Where rollout transitions are told. @default - the record and the audit log only */
  readonly events?: RolloutEvents;
  /** Told when publishing an event failed (the rollout goes on). @default - ignored */
  readonly onEventError?: (err: unknown) => void;
}

/** What one reconcile pass did. */
export interface ReconcileReport {
  readonly events: readonly string[];
  /**
   * Locations whose gates wait for evidence (fresh heartbeats, enough requests) with the bake
   * over: a pass run as soon as one of them reports can take the next step. The rollout
   * record's `waiting` says what each waits for, in words.
   */
  readonly waitingOn: readonly string[];
}

/**
 * The reconciler. Each pass executes pending commands ({@link Commands}), then takes at most
 * one step of the active rollout ({@link RolloutSteps}). Running it twice, or crashing half
 * way, is harmless.
 */
export class Orchestrator {
  private readonly commands: Commands;
  private readonly steps: RolloutSteps;

  constructor(private readonly options: OrchestratorOptions) {
    const context = {
      environment: options.environment,
      records: options.records,
      driverFor: options.driverFor,
      healthFor: options.healthFor,
      now: options.now ?? Date.now,
      actor: options.actor ?? 'orchestrator',
      ...(options.smoke ? { smoke: options.smoke } : {}),
      ...(options.events ? { events: options.events } : {}),
      ...(options.onEventError ? { onEventError: options.onEventError } : {}),
    };
    this.steps = new RolloutSteps(context);
    this.commands = new Commands(context, this.steps);
  }

  /** One pass. Conflicts with a concurrent run end the pass quietly: the winner did the work. */
  async reconcile(): Promise<ReconcileReport> {
    const { records } = this.options;
    const events: string[] = [];
    const waitingOn: string[] = [];
    try {
      for (const intent of await records.intents.pending()) {
        events.push(await this.commands.execute(intent));
      }
      const rollout = await records.rollouts.active();
      if (rollout) {
        const event = await this.steps.step(rollout, waitingOn);
        if (event) events.push(event);
      }
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      events.push(`yielded: ${err.message}`);
    } finally {
      // A pass ends only once its notifications were sent (or failed): nothing in flight
      // outlives the Lambda invocation that published it.
      await this.steps.flushEvents();
    }
    return { events, waitingOn };
  }
}
