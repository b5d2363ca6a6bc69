import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import {
  EventBridgeEvents,
  PutEventsEntryError,
} from '../../../../functions/orchestrator/adapters/eventbridge-events';
import type { RolloutEvent } from '../../../../functions/orchestrator/ports';

const event: RolloutEvent = {
  kind: 'breached',
  environment: 'prod',
  rolloutId: 'ro-1',
  release: 'r-2222222222222222',
  at: '2026-11-25T12:00:00.000Z',
  detail: 'gate breached at canary: error rate 9% over 40 requests',
  locations: ['canary'],
  version: 7,
};

describe('EventBridgeEvents', () => {
  const eventBridge = mockClient(EventBridgeClient);
  const publisher = () =>
    new EventBridgeEvents({
      region: 'us-east-1',
      client: new EventBridgeClient({ region: 'us-east-1' }),
    });
  afterEach(() => eventBridge.reset());

  it('puts one entry per event on the default bus, the event as detail, typed by its kind', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    await publisher().publish(event);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'default',
          Source: 'orbit.rollouts',
          DetailType: 'Orbit rollout breached',
          Detail: JSON.stringify(event),
          Time: new Date(event.at),
        },
      ],
    });
  });

  // EventBridge API Reference, PutEvents: a 200 answer may still fail entries; FailedEntryCount
  // says how many, and each failed entry has an ErrorCode and ErrorMessage instead of an EventId.
  it('throws naming the error code when PutEvents takes the request but fails the entry', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    const published = publisher().publish(event);
    await expect(published).rejects.toThrow(PutEventsEntryError);
    await expect(published).rejects.toThrow(
      'EventBridge did not take the breached event of rollout ro-1: InternalFailure (try again)'
    );
    await expect(published).rejects.toMatchObject({ errorCode: 'InternalFailure' });
  });

  it('throws what the SDK threw when the request itself fails', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('AccessDeniedException: not authorized'));
    await expect(publisher().publish(event)).rejects.toThrow('not authorized');
  });
});
