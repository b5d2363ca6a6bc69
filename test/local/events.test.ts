import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhookSignature } from '../../functions/orchestrator/adapters/webhook-events';
import type { RolloutEvent } from '../../functions/orchestrator/ports';
import { localRolloutEvents } from '../../lib/local/events';

const event = (version: number): RolloutEvent => ({
  kind: 'step',
  environment: 'dev',
  rolloutId: 'ro-1',
  release: 'r-2222222222222222',
  at: '2026-11-25T12:00:00.000Z',
  detail: `wave canary at ${version}%`,
  locations: ['lab'],
  version,
});

describe('rollout events on the local fleet', () => {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  let answer = 204;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(answer).end();
    });
  });
  let url: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  const secretBefore = process.env.ORBIT_WEBHOOK_SECRET;
  beforeEach(() => {
    delete process.env.ORBIT_WEBHOOK_SECRET;
  });
  afterEach(() => {
    received.length = 0;
    answer = 204;
    if (secretBefore === undefined) delete process.env.ORBIT_WEBHOOK_SECRET;
    else process.env.ORBIT_WEBHOOK_SECRET = secretBefore;
  });

  it('logs a line per event and keeps the last 100, oldest first', async () => {
    const lines: string[] = [];
    const local = localRolloutEvents({ webhooks: [], onLine: (l) => lines.push(l) });
    for (let v = 1; v <= 105; v++) await local.events.publish(event(v));
    expect(local.recent().map((e) => e.version)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 6)
    );
    expect(lines[0]).toBe('step ro-1 (r-2222222222222222): wave canary at 1%');
    expect(lines).toHaveLength(105);
  });

  it('sends a webhook whose secret lives in SSM unsigned, and says so once', async () => {
    const lines: string[] = [];
    const local = localRolloutEvents({
      webhooks: [{ url, secretParameter: '/orbit/dev/hook' }],
      onLine: (l) => lines.push(l),
    });
    expect(lines).toEqual([
      expect.stringMatching(
        /^webhook http:\/\/127\.0\.0\.1:\d+: sent unsigned here \(its secret is the SSM parameter \/orbit\/dev\/hook, which the local fleet does not read; set ORBIT_WEBHOOK_SECRET to sign\)$/
      ),
    ]);
    await local.events.publish(event(1));
    expect(received).toHaveLength(1);
    expect(received[0]?.headers['x-orbit-signature']).toBeUndefined();
  });

  it('signs it with ORBIT_WEBHOOK_SECRET when that is set', async () => {
    process.env.ORBIT_WEBHOOK_SECRET = 'local-secret';
    const local = localRolloutEvents({ webhooks: [{ url, secretParameter: '/orbit/dev/hook' }] });
    await local.events.publish(event(1));
    const [got] = received;
    expect(got?.headers['x-orbit-signature']).toBe(
      webhookSignature('local-secret', got?.body ?? '')
    );
  });

  it('keeps and logs the event when a webhook refuses it, and reports the webhook', async () => {
    answer = 400;
    const lines: string[] = [];
    const local = localRolloutEvents({
      webhooks: [{ url }],
      onLine: (l) => lines.push(l),
      delivery: { backoffMs: 1 },
    });
    await local.events.publish(event(1)).catch(local.onEventError);
    expect(local.recent()).toHaveLength(1);
    expect(lines).toEqual([
      'step ro-1 (r-2222222222222222): wave canary at 1%',
      expect.stringMatching(
        /^rollout event ro-1:1:step not delivered to webhook http:\/\/127\.0\.0\.1:\d+ refused the step event: answered 400 \(not retried\)$/
      ),
    ]);
  });
});
