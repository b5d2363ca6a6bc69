import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { awsRolloutEvents } from '../../../../functions/orchestrator/adapters/aws-rollout-events';
import { webhookSignature } from '../../../../functions/orchestrator/adapters/webhook-events';
import type { RolloutEvent } from '../../../../functions/orchestrator/ports';
import { dev } from '../../../../lib/config/environments/dev';
import { parseEnvironment } from '../../../../lib/config/load';

const event = (version: number): RolloutEvent => ({
  kind: 'step',
  environment: 'dev',
  rolloutId: 'ro-1',
  release: 'r-2222222222222222',
  at: '2026-11-25T12:00:00.000Z',
  detail: 'wave canary at 10%',
  locations: ['lab'],
  version,
});

describe('rollout events in AWS', () => {
  const eventBridge = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  let url: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orbit`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  afterEach(() => {
    eventBridge.reset();
    ssm.reset();
    received.length = 0;
  });

  /** The dev environment with one signed webhook (parsed with an https URL, then pointed here). */
  const environment = () => {
    const env = parseEnvironment(
      {
        ...dev,
        rollout: {
          ...dev.rollout,
          notifications: {
            webhooks: [
              { url: 'https://hooks.example.com/orbit', secretParameter: '/orbit/dev/hook' },
            ],
          },
        },
      },
      'dev'
    );
    const webhooks = env.rollout.notifications.webhooks.map((w) => ({ ...w, url }));
    return { ...env, rollout: { ...env.rollout, notifications: { webhooks } } };
  };
  const clients = () => ({
    eventBridge: new EventBridgeClient({ region: 'us-east-1' }),
    ssm: new SSMClient({ region: 'us-east-1' }),
  });

  it('puts each event on the bus and signs each webhook request with the secret read once from SSM', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'shh' } });
    const events = awsRolloutEvents(environment(), clients());
    await events.publish(event(2));
    await events.publish(event(3));
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/orbit/dev/hook',
      WithDecryption: true,
    });
    expect(received).toHaveLength(2);
    for (const r of received) {
      expect(r.headers['x-orbit-signature']).toBe(webhookSignature('shh', r.body));
    }
  });

  it('still puts the event on the bus when the secret cannot be read, reads it again next time, and says which missed it', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(new ParameterNotFound({ message: 'not found', $metadata: {} }))
      .resolves({ Parameter: { Value: 'shh' } });
    const events = awsRolloutEvents(environment(), clients());
    await expect(events.publish(event(2))).rejects.toThrow(
      /^rollout event ro-1:2:step not delivered to webhook http:\/\/127\.0\.0\.1:\d+: not sent, its signing secret could not be read: SSM parameter \/orbit\/dev\/hook: ParameterNotFound: not found$/
    );
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(received).toHaveLength(0);
    await events.publish(event(3));
    expect(received).toHaveLength(1);
  });

  it('makes no SSM client call for webhooks without a secret, nor any webhook request without webhooks', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    await awsRolloutEvents(parseEnvironment(dev, 'dev'), clients()).publish(event(2));
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(ssm).not.toHaveReceivedAnyCommand();
    expect(received).toHaveLength(0);
  });
});
