import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ROLLOUT_EVENT_SOURCE, rolloutDetailType } from '../event-contract';
import type { RolloutEvent, RolloutEvents } from '../ports';

/** An entry PutEvents answered with an error code: the bus did not take the event. */
export class PutEventsEntryError extends Error {
  /** EventBridge's code for the entry, e.g. `InternalFailure`, `ThrottlingException`. */
  readonly errorCode: string;

  constructor(errorCode: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PutEventsEntryError';
    this.errorCode = errorCode;
  }
}

/** Options of an {@link EventBridgeEvents}. */
export interface EventBridgeEventsOptions {
  /** The home region: its default event bus gets the events. */
  readonly region: string;
  /** @default - a client for `region` with the SDK's standard retries */
  readonly client?: EventBridgeClient;
}

/**
 * Puts each rollout event on the home region's default event bus, one entry per event:
 * `source` {@link ROLLOUT_EVENT_SOURCE}, `detail-type` {@link rolloutDetailType}, `detail` the
 * event's JSON, `time` its `at`. PutEvents can take a request and still fail entries
 * (`FailedEntryCount`, an `ErrorCode` per entry; EventBridge API Reference, "PutEvents"):
 * that is a failure here too, named by its code. Retries are the SDK's (throttling and 5xx,
 * standard mode); the step machine reports what is left and goes on.
 */
export class EventBridgeEvents implements RolloutEvents {
  private readonly client: EventBridgeClient;

  constructor(options: EventBridgeEventsOptions) {
    this.client = options.client ?? new EventBridgeClient({ region: options.region });
  }

  async publish(event: RolloutEvent): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'default',
            Source: ROLLOUT_EVENT_SOURCE,
            DetailType: rolloutDetailType(event.kind),
            Detail: JSON.stringify(event),
            Time: new Date(event.at),
          },
        ],
      })
    );
    if ((out.FailedEntryCount ?? 0) === 0) return;
    const entry = out.Entries?.find((e) => e.ErrorCode) ?? {};
    const code = entry.ErrorCode ?? 'UnknownError';
    throw new PutEventsEntryError(
      code,
      `EventBridge did not take the ${event.kind} event of rollout ${event.rolloutId}: ${code}${entry.ErrorMessage ? ` (${entry.ErrorMessage})` : ''}`
    );
  }
}
