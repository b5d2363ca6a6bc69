import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Environment } from '../../../core/environment/schema';
import { rolloutEventId } from '../event-contract';
import type { RolloutEvent, RolloutEvents } from '../ports';
import type { EventDestination } from './fan-out-events';

/** A webhook as `rollout.notifications.webhooks` configures it. */
export type Webhook = Environment['rollout']['notifications']['webhooks'][number];

/** The headers a webhook request carries besides `content-type: application/json`. */
export const WEBHOOK_HEADERS = {
  /** `sha256=<hex>`: HMAC-SHA256 of the raw body with the webhook's secret (signed webhooks only). */
  signature: 'x-orbit-signature',
  /** `<rolloutId>:<version>:<kind>`, the same on every attempt: receivers drop repeats by it. */
  eventId: 'x-orbit-event-id',
  /** The event's kind, e.g. `breached`. */
  kind: 'x-orbit-event',
} as const;

/** The `x-orbit-signature` value of a body: `sha256=` and the hex HMAC-SHA256 of its bytes. */
export const webhookSignature = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

/** Where the signing secrets of webhooks come from, by their `secretParameter` name. */
export interface WebhookSecrets {
  /** The secret, or `undefined` to send unsigned (the local fleet without one). */
  get(parameterName: string): Promise<string | undefined>;
}

/** A webhook that did not take an event: it refused it, or every attempt failed. */
export class WebhookDeliveryError extends Error {
  /** How many requests were made. */
  readonly attempts: number;
  /** The last status answered, when one was. */
  readonly status?: number;

  constructor(message: string, attempts: number, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WebhookDeliveryError';
    this.attempts = attempts;
    if (status !== undefined) this.status = status;
  }
}

/** Options of a {@link WebhookEvents}. */
export interface WebhookEventsOptions {
  readonly webhook: Webhook;
  /** Reads the webhook's `secretParameter`. @default - none: a webhook with one fails */
  readonly secrets?: WebhookSecrets;
  /** How long one attempt may take, answer included. @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts per event, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** The wait before the second attempt, doubled before each next one. @default 250 */
  readonly backoffMs?: number;
}

/** What one attempt came to. */
type Attempt = { ok: true } | { ok: false; retry: boolean; reason: string; status?: number };

/**
 * Tells one webhook of the rollout events it asks for (`events`, every kind by default), in
 * the manner of Flagger's event webhooks: a POST of the event's JSON, the body signed with
 * HMAC-SHA256 when the webhook names a secret ({@link WEBHOOK_HEADERS}). Network errors,
 * timeouts, 5xx and 429 are retried with exponential backoff, up to `maxAttempts` in all;
 * any other answer below 200 or from 300 up is final (redirects are not followed: a signed
 * body goes only where it was configured to). Failures name the URL by its origin only,
 * since a webhook's path often holds its token.
 */
export class WebhookEvents implements RolloutEvents {
  private readonly webhook: Webhook;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;

  constructor(private readonly options: WebhookEventsOptions) {
    this.webhook = options.webhook;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.backoffMs = options.backoffMs ?? 250;
  }

  /** The webhook as failures name it: its origin. */
  get name(): string {
    return `webhook ${new URL(this.webhook.url).origin}`;
  }

  async publish(event: RolloutEvent): Promise<void> {
    if (this.webhook.events && !this.webhook.events.includes(event.kind)) return;
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'orbit-rollouts',
      [WEBHOOK_HEADERS.eventId]: rolloutEventId(event),
      [WEBHOOK_HEADERS.kind]: event.kind,
    };
    const secret = await this.secret();
    if (secret !== undefined) headers[WEBHOOK_HEADERS.signature] = webhookSignature(secret, body);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(body, headers);
      if (outcome.ok) return;
      if (!outcome.retry) {
        throw new WebhookDeliveryError(
          `${this.name} refused the ${event.kind} event: ${outcome.reason} (not retried)`,
          attempt,
          outcome.status
        );
      }
      if (attempt >= this.maxAttempts) {
        throw new WebhookDeliveryError(
          `${this.name} gave up on the ${event.kind} event after ${attempt} attempts: ${outcome.reason}`,
          attempt,
          outcome.status
        );
      }
      await sleep(this.backoffMs * 2 ** (attempt - 1));
    }
  }

  private async secret(): Promise<string | undefined> {
    const name = this.webhook.secretParameter;
    if (!name) return undefined;
    if (!this.options.secrets) {
      throw new WebhookDeliveryError(`${this.name}: nothing here can read its secret ${name}`, 0);
    }
    try {
      return await this.options.secrets.get(name);
    } catch (err) {
      throw new WebhookDeliveryError(
        `${this.name}: not sent, its signing secret could not be read: ${(err as Error).message}`,
        0,
        undefined,
        { cause: err }
      );
    }
  }

  private async attempt(body: string, headers: Record<string, string>): Promise<Attempt> {
    try {
      const res = await fetch(this.webhook.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return {
        ok: false,
        retry: res.status >= 500 || res.status === 429,
        reason: `answered ${res.status}`,
        status: res.status,
      };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason =
        e.name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
      return { ok: false, retry: true, reason };
    }
  }
}

/** One destination per configured webhook, for the fan-out of rollout events. */
export function webhookDestinations(
  webhooks: readonly Webhook[],
  options: Omit<WebhookEventsOptions, 'webhook'> = {}
): EventDestination[] {
  return webhooks.map((webhook) => {
    const events = new WebhookEvents({ ...options, webhook });
    return { name: events.name, events };
  });
}
