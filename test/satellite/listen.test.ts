import { createServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { listen } from '../../lib/satellite/listen';

/** A server whose handler never answers: every request stays in flight. */
async function holdingServer() {
  const arrived: IncomingMessage[] = [];
  const server = createServer((req) => {
    arrived.push(req);
  });
  const listening = await listen(server, { port: 0, host: '127.0.0.1' });
  return { listening, arrived };
}

/** Sends `n` requests at once on a raw connection (pipelined); resolves once the server has them. */
async function sendHeld(port: number, arrived: IncomingMessage[], n = 1) {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(n));
  const before = arrived.length;
  for (let i = 0; i < 200 && arrived.length < before + n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return socket;
}

describe('a stopping listener', () => {
  it('cuts a request still in flight when the grace period ends', async () => {
    const { listening, arrived } = await holdingServer();
    await sendHeld(listening.port, arrived);
    const started = Date.now();
    expect(await listening.stop(300)).toEqual({ drained: 0, cut: 1, abandoned: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('never counts a request whose client went away as cut, nor waits out the grace for it', async () => {
    const { listening, arrived } = await holdingServer();
    // Two pipelined, as load generators send them: Node tells neither response that the
    // socket went away, and both handlers are still running.
    const socket = await sendHeld(listening.port, arrived, 2);
    socket.destroy();
    const started = Date.now();
    const outcome = await listening.stop(10_000);
    expect(outcome).toEqual({ drained: expect.any(Number), cut: 0, abandoned: 2 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
