import { FanOutEvents } from '../../functions/orchestrator/adapters/fan-out-events';
import {
  type Webhook,
  type WebhookEventsOptions,
  webhookDestinations,
} from '../../functions/orchestrator/adapters/webhook-events';
import type { RolloutEvent, RolloutEvents } from '../../functions/orchestrator/ports';

/** The variable whose value signs, on the local fleet, webhooks that name a `secretParameter`. */
export const LOCAL_WEBHOOK_SECRET_ENV = 'ORBIT_WEBHOOK_SECRET';

/** How many events the local fleet keeps for `GET /events`. */
const KEPT_EVENTS = 100;

/** Options of {@link localRolloutEvents}. */
export interface LocalRolloutEventsOptions {
  /** The environment's `rollout.notifications.webhooks`. */
  readonly webhooks: readonly Webhook[];
  /** One line per event, and per webhook that missed one. @default - dropped */
  readonly onLine?: (line: string) => void;
  /** Timeouts and retries of the webhooks. @default - those of a webhook in AWS */
  readonly delivery?: Omit<WebhookEventsOptions, 'webhook' | 'secrets'>;
}

/** Rollout events on the local fleet, and the last ones for its control endpoint. */
export interface LocalRolloutEvents {
  /** The fleet's log, and each configured webhook. */
  readonly events: RolloutEvents;
  /** Reports a webhook that missed an event, in the log. */
  readonly onEventError: (err: unknown) => void;
  /** The last 100 events, oldest first (what `GET /events` answers). */
  recent(): readonly RolloutEvent[];
}

/**
 * Where rollout events go on the local fleet, which has no AWS: no event bus, no SSM. Each
 * event goes to the fleet's log and is kept (the last 100) for `GET /events`; configured
 * webhooks get it too. A webhook whose secret lives in SSM is signed with
 * `ORBIT_WEBHOOK_SECRET` when that is set, and otherwise sent unsigned; the log says which,
 * once, at start.
 */
export function localRolloutEvents(options: LocalRolloutEventsOptions): LocalRolloutEvents {
  const say = options.onLine ?? (() => undefined);
  const secret = process.env[LOCAL_WEBHOOK_SECRET_ENV] || undefined;
  const kept: RolloutEvent[] = [];
  const log: RolloutEvents = {
    publish: async (event) => {
      kept.push(event);
      if (kept.length > KEPT_EVENTS) kept.shift();
      say(`${event.kind} ${event.rolloutId} (${event.release}): ${event.detail}`);
    },
  };
  const webhooks = webhookDestinations(options.webhooks, {
    ...options.delivery,
    secrets: { get: async () => secret },
  });
  options.webhooks.forEach((webhook, i) => {
    if (!webhook.secretParameter) return;
    const name = webhooks[i]?.name;
    say(
      secret === undefined
        ? `${name}: sent unsigned here (its secret is the SSM parameter ${webhook.secretParameter}, which the local fleet does not read; set ${LOCAL_WEBHOOK_SECRET_ENV} to sign)`
        : `${name}: signed with ${LOCAL_WEBHOOK_SECRET_ENV} here (in AWS, with the SSM parameter ${webhook.secretParameter})`
    );
  });
  return {
    events:
      webhooks.length > 0 ? new FanOutEvents([{ name: 'log', events: log }, ...webhooks]) : log,
    onEventError: (err) => say((err as Error)?.message ?? String(err)),
    recent: () => [...kept],
  };
}
