import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { LoadedRelease } from '../../lib/satellite/function-host';
import { createRuntimeServer, serverTimeouts } from '../../lib/satellite/server';
import { ReleaseStats } from '../../lib/satellite/stats';

/** A release with no routes and no fallback: every request is a 404 problem. */
const empty = {
  releaseId: 'r-0000000000000000',
  dir: '/nowhere',
  routes: { match: () => ({ kind: 'not-found' }) },
  functions: new Map(),
} as unknown as LoadedRelease;

const runtimeServer = (keepAliveTimeoutMs?: number) =>
  createRuntimeServer({
    traffic: () => ({ stable: empty, weight: 0 }),
    stats: new ReleaseStats(),
    locationId: 'sat1',
    keepAliveTimeoutMs,
  });

/** An ALB's idle timeout when none is set (ELB guide, "Connection idle timeout"). */
const ALB_DEFAULT_IDLE_TIMEOUT_MS = 60_000;

describe("the runtime server's timeouts", () => {
  // ELB guide, "Edit attributes for your Application Load Balancer": the application's idle
  // timeout must exceed the load balancer's, or the balancer answers 502 on a connection the
  // target closed. Node's own default keep-alive timeout is 5 s.
  it("keeps idle keep-alive connections open past an ALB's default idle timeout", () => {
    const server = runtimeServer();
    expect(server.keepAliveTimeout).toBe(65_000);
    expect(server.keepAliveTimeout).toBeGreaterThan(ALB_DEFAULT_IDLE_TIMEOUT_MS);
  });

  // Node's http.Server docs: headersTimeout may not exceed requestTimeout (createServer throws
  // ERR_OUT_OF_RANGE); headersTimeout above keepAliveTimeout keeps an old keep-alive
  // connection's next request from being cut off.
  it.each([
    ['the default', undefined],
    ['a configured one', 120_000],
    ["an ALB's longest idle timeout (4,000 s) plus the margin", 4_005_000],
  ])('orders keepAlive < headers <= request timeouts for %s', (_, keepAliveTimeoutMs) => {
    const server = runtimeServer(keepAliveTimeoutMs);
    expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
    expect(server.requestTimeout).toBeGreaterThanOrEqual(server.headersTimeout);
    if (keepAliveTimeoutMs) expect(server.keepAliveTimeout).toBe(keepAliveTimeoutMs);
  });

  it("keeps Node's five-minute request timeout unless the headers timeout needs more", () => {
    expect(serverTimeouts(65_000)).toEqual({
      keepAliveTimeout: 65_000,
      headersTimeout: 66_000,
      requestTimeout: 300_000,
    });
    expect(serverTimeouts(400_000).requestTimeout).toBe(401_000);
  });

  describe('on a real socket', () => {
    let server: Server;
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    // A short configured timeout, so the test waits for it; only a lower bound is checked,
    // which a slow machine can only make longer.
    it('advertises its keep-alive timeout and closes an idle connection no sooner', async () => {
      const keepAliveTimeoutMs = 1500;
      server = runtimeServer(keepAliveTimeoutMs);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      let received = '';
      const answered = new Promise<number>((resolve) => {
        socket.on('data', (chunk) => {
          received += chunk.toString('utf8');
          if (received.includes('\r\n\r\n')) resolve(Date.now());
        });
      });
      const closed = new Promise<number>((resolve) =>
        socket.on('close', () => resolve(Date.now()))
      );
      socket.write('GET /nowhere HTTP/1.1\r\nHost: sat1\r\nConnection: keep-alive\r\n\r\n');
      const answeredAt = await answered;
      expect(received).toMatch(/^HTTP\/1\.1 404 /);
      expect(received).toMatch(/\r\nKeep-Alive: timeout=1\b/i);
      const closedAt = await closed;
      // The server's timer starts when it finished writing, before the answer arrived here.
      expect(closedAt - answeredAt).toBeGreaterThanOrEqual(keepAliveTimeoutMs - 100);
    });
  });
});
