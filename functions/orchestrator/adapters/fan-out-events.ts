import { rolloutEventId } from '../event-contract';
import type { RolloutEvent, RolloutEvents } from '../ports';

/** One place rollout events go, named for the messages that say it missed one. */
export interface EventDestination {
  /** How failures name it: `eventbridge`, `webhook https://hooks.example.com/orbit`. */
  readonly name: string;
  readonly events: RolloutEvents;
}

/** A destination and why it missed an event, naming it once when the error does already. */
const said = (f: { readonly destination: string; readonly error: unknown }): string => {
  const message = (f.error as Error)?.message ?? String(f.error);
  return message.startsWith(f.destination) ? message : `${f.destination} (${message})`;
};

/** A rollout event that one or more destinations did not get; the others did. */
export class EventDeliveryError extends Error {
  /** Each destination that missed it, with why. */
  readonly failures: readonly { readonly destination: string; readonly error: unknown }[];

  constructor(
    eventId: string,
    failures: readonly { readonly destination: string; readonly error: unknown }[]
  ) {
    super(`rollout event ${eventId} not delivered to ${failures.map(said).join('; ')}`, {
      cause: failures[0]?.error,
    });
    this.name = 'EventDeliveryError';
    this.failures = failures;
  }
}

/**
 * Tells every destination of each event, all at once: one that fails or hangs does not keep
 * the others from theirs. Resolves when each has settled; throws an
 * {@link EventDeliveryError} naming every one that failed.
 */
export class FanOutEvents implements RolloutEvents {
  constructor(private readonly destinations: readonly EventDestination[]) {}

  async publish(event: RolloutEvent): Promise<void> {
    const results = await Promise.allSettled(this.destinations.map((d) => d.events.publish(event)));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected'
        ? [{ destination: (this.destinations[i] as EventDestination).name, error: r.reason }]
        : []
    );
    if (failures.length > 0) throw new EventDeliveryError(rolloutEventId(event), failures);
  }
}
