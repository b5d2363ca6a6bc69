import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Webhook,
  WebhookDeliveryError,
  WebhookEvents,
  webhookSignature,
} from '../../../../functions/orchestrator/adapters/webhook-events';
import type { RolloutEvent } from '../../../../functions/orchestrator/ports';

const event: RolloutEvent = {
  kind: 'rolled-back',
  environment: 'prod',
  rolloutId: 'ro-1',
  release: 'r-2222222222222222',
  at: '2026-11-25T12:00:00.000Z',
  detail: 'gate breached at canary: error rate 9% — rolled back',
  locations: ['canary', 'use1'],
  version: 8,
};

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A webhook receiver on a loopback port: answers each request with the next status given. */
async function receiver(answers: (number | 'hang')[] = []) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers.shift() ?? 204;
      if (answer !== 'hang') res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/T0/secret-token`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What a receiver does to check a signature: HMAC the raw body, compare in constant time. */
function verifies(secret: string, body: string, header: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(String(header));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

describe('WebhookEvents', () => {
  let hook: Awaited<ReturnType<typeof receiver>>;
  afterEach(() => hook?.close());
  const fast = { backoffMs: 10, timeoutMs: 1_000 };
  const publisher = (webhook: Partial<Webhook> = {}, options = {}) =>
    new WebhookEvents({
      webhook: { url: hook.url, ...webhook },
      secrets: { get: async (name) => (name === '/orbit/prod/webhook' ? 'shh' : undefined) },
      ...fast,
      ...options,
    });

  it('posts the event as JSON, signed over the raw body with the secret, with an id for de-duplication', async () => {
    hook = await receiver();
    await publisher({ secretParameter: '/orbit/prod/webhook' }).publish(event);
    expect(hook.received).toHaveLength(1);
    const [got] = hook.received as [Received];
    expect(JSON.parse(got.body)).toEqual(event);
    expect(got.headers).toMatchObject({
      'content-type': 'application/json',
      'x-orbit-event-id': 'ro-1:8:rolled-back',
      'x-orbit-event': 'rolled-back',
    });
    expect(verifies('shh', got.body, got.headers['x-orbit-signature'])).toBe(true);
    expect(verifies('other', got.body, got.headers['x-orbit-signature'])).toBe(false);
    expect(got.headers['x-orbit-signature']).toBe(webhookSignature('shh', got.body));
  });

  it('sends no signature for a webhook without a secret', async () => {
    hook = await receiver();
    await publisher().publish(event);
    expect(hook.received[0]?.headers['x-orbit-signature']).toBeUndefined();
  });

  it('sends only the kinds the webhook asks for', async () => {
    hook = await receiver();
    const onlyBreaches = publisher({ events: ['breached', 'rolled-back'] });
    await onlyBreaches.publish({ ...event, kind: 'step', version: 3 });
    await onlyBreaches.publish(event);
    expect(hook.received.map((r) => r.headers['x-orbit-event'])).toEqual(['rolled-back']);
  });

  it('retries a 503 and a 429, then succeeds, with the same event id each time', async () => {
    hook = await receiver([503, 429, 200]);
    await publisher({ secretParameter: '/orbit/prod/webhook' }).publish(event);
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.headers['x-orbit-event-id']))).toEqual(
      new Set(['ro-1:8:rolled-back'])
    );
  });

  it('throws without retrying when the webhook answers 400', async () => {
    hook = await receiver([400]);
    const published = publisher().publish(event);
    await expect(published).rejects.toThrow(WebhookDeliveryError);
    await expect(published).rejects.toThrow(
      /^webhook http:\/\/127\.0\.0\.1:\d+ refused the rolled-back event: answered 400 \(not retried\)$/
    );
    await expect(published).rejects.toMatchObject({ attempts: 1, status: 400 });
    expect(hook.received).toHaveLength(1);
  });

  it('gives up after 3 attempts, saying why the last one failed', async () => {
    hook = await receiver([500, 502, 503, 200]);
    const published = publisher().publish(event);
    await expect(published).rejects.toThrow(
      /^webhook http:\/\/127\.0\.0\.1:\d+ gave up on the rolled-back event after 3 attempts: answered 503$/
    );
    expect(hook.received).toHaveLength(3);
  });

  it('times an attempt out and retries it, then gives up naming the timeout', async () => {
    hook = await receiver(['hang', 'hang']);
    const started = Date.now();
    const published = publisher({}, { timeoutMs: 200, maxAttempts: 2 }).publish(event);
    await expect(published).rejects.toThrow(
      /gave up on the rolled-back event after 2 attempts: no answer within 200 ms$/
    );
    expect(hook.received).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('retries when nothing listens, and names the network error', async () => {
    hook = await receiver();
    await hook.close();
    await expect(publisher().publish(event)).rejects.toThrow(
      /gave up on the rolled-back event after 3 attempts: ECONNREFUSED$/
    );
  });

  it('names the webhook by its origin only, never by the token in its path', async () => {
    hook = await receiver([400]);
    const error = await publisher()
      .publish(event)
      .catch((err: Error) => err);
    expect(String(error)).not.toContain('secret-token');
  });

  it('throws without sending when its secret cannot be read', async () => {
    hook = await receiver();
    const failing = new WebhookEvents({
      webhook: { url: hook.url, secretParameter: '/orbit/prod/webhook' },
      secrets: { get: () => Promise.reject(new Error('ParameterNotFound')) },
      ...fast,
    });
    await expect(failing.publish(event)).rejects.toThrow(
      /^webhook http:\/\/127\.0\.0\.1:\d+: not sent, its signing secret could not be read: ParameterNotFound$/
    );
    expect(hook.received).toHaveLength(0);
  });
});
