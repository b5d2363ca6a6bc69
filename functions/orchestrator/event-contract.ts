import type { RolloutEventKind } from '../../core/environment/schema';
import type { RolloutEvent } from './ports';

/**
 * How rollout events look wherever they are told, the contract between the orchestrator and
 * what listens: the EventBridge rule of the control-plane stack, webhook receivers, tests.
 */

/** The `source` of every rollout event Orbit puts on the bus: what rules match on. */
export const ROLLOUT_EVENT_SOURCE = 'orbit.rollouts';

/** The `detail-type` of a rollout event: `Orbit rollout started`, `Orbit rollout breached`. */
export const rolloutDetailType = (kind: RolloutEventKind): string => `Orbit rollout ${kind}`;

/**
 * The id of a rollout event, the same wherever and however often it is told:
 * `<rolloutId>:<version>:<kind>`. A transition is published once per record version, so
 * consumers drop repeats by it.
 */
export const rolloutEventId = (event: RolloutEvent): string =>
  `${event.rolloutId}:${event.version}:${event.kind}`;
