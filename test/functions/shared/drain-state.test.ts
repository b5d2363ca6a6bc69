import * as net from 'node:net';
import { Records } from '../../../core/records';
import { createTableClient } from '../../../core/records/table';
import { DrainState } from '../../../functions/shared/drain-state';
import { testTableClient } from '../../support/handlers';
import { createTestTable } from '../../support/table';

describe('the kill switch state on a link known to be down', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  /** A store that takes connections and never answers, as a link that drops packets. */
  let blackhole: net.Server;
  const held = new Set<net.Socket>();

  beforeAll(async () => {
    table = await createTestTable();
    blackhole = net.createServer((socket) => {
      held.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => blackhole.close(resolve));
    await table.drop();
  });

  it('answers the last known state at once, not after the table client gives up', async () => {
    const clock = { ms: 0 };
    let down = false;
    let records = new Records(testTableClient(), table.tableName);
    const state = new DrainState({
      get records() {
        return records;
      },
      locationId: 'sat1',
      functionName: 'items',
      now: () => clock.ms,
      linkDown: () => down,
    });
    expect(await state.get()).toMatchObject({ drained: false });
    // The link goes: reads now hang until the client's own timeouts end them.
    const port = (blackhole.address() as net.AddressInfo).port;
    records = new Records(
      createTableClient({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${port}`,
        maxAttempts: 1,
      }),
      table.tableName
    );
    down = true;
    clock.ms += 10_000;
    let answered = false;
    const answer = state.get().then((d) => {
      answered = true;
      return d;
    });
    // Answered within the turn of the event loop, not seconds later.
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(true);
    expect(await answer).toMatchObject({ drained: false });
  });

  it('waits for the first read: with nothing known, there is nothing to answer with', async () => {
    let read = false;
    const state = new DrainState({
      records: {
        drains: {
          flags: async () => {
            read = true;
            return {};
          },
        },
      } as unknown as Records,
      locationId: 'sat1',
      functionName: 'items',
      linkDown: () => true,
    });
    expect(await state.get()).toMatchObject({ drained: false });
    expect(read).toBe(true);
  });
});
