import {
  EventDeliveryError,
  FanOutEvents,
} from '../../../../functions/orchestrator/adapters/fan-out-events';
import type { RolloutEvent, RolloutEvents } from '../../../../functions/orchestrator/ports';

const event: RolloutEvent = {
  kind: 'started',
  environment: 'prod',
  rolloutId: 'ro-1',
  release: 'r-2222222222222222',
  at: '2026-11-25T12:00:00.000Z',
  detail: 'started by alice',
  version: 1,
};

/** A destination that records what it got, or fails with `error`. */
const destination = (error?: Error) => {
  const got: RolloutEvent[] = [];
  const events: RolloutEvents = {
    publish: async (e) => {
      if (error) throw error;
      got.push(e);
    },
  };
  return { got, events };
};

describe('FanOutEvents', () => {
  it('tells every destination of each event', async () => {
    const a = destination();
    const b = destination();
    await new FanOutEvents([
      { name: 'a', events: a.events },
      { name: 'b', events: b.events },
    ]).publish(event);
    expect(a.got).toEqual([event]);
    expect(b.got).toEqual([event]);
  });

  it('still tells the others when one fails, then throws naming each that failed and why', async () => {
    const ok = destination();
    const fanOut = new FanOutEvents([
      { name: 'eventbridge', events: destination(new Error('InternalFailure')).events },
      { name: 'log', events: ok.events },
      {
        name: 'webhook https://hooks.example.com',
        events: destination(new Error('answered 400')).events,
      },
    ]);
    const published = fanOut.publish(event);
    await expect(published).rejects.toThrow(EventDeliveryError);
    await expect(published).rejects.toThrow(
      'rollout event ro-1:1:started not delivered to eventbridge (InternalFailure); webhook https://hooks.example.com (answered 400)'
    );
    await expect(published).rejects.toMatchObject({
      failures: [
        { destination: 'eventbridge', error: expect.any(Error) },
        { destination: 'webhook https://hooks.example.com', error: expect.any(Error) },
      ],
    });
    expect(ok.got).toEqual([event]);
  });

  it('does not wait for a slow destination before telling the others', async () => {
    const order: string[] = [];
    const slow: RolloutEvents = {
      publish: () =>
        new Promise((resolve) => setTimeout(resolve, 50)).then(() => {
          order.push('slow');
        }),
    };
    const fast: RolloutEvents = { publish: async () => void order.push('fast') };
    await new FanOutEvents([
      { name: 'slow', events: slow },
      { name: 'fast', events: fast },
    ]).publish(event);
    expect(order).toEqual(['fast', 'slow']);
  });
});
