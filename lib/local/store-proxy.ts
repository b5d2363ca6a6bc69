import * as net from 'node:net';

/** A loopback TCP proxy in front of the local store (or any local server), which can cut it off. */
export interface StoreProxy {
  /** The endpoint to give clients instead of the store's. */
  readonly endpoint: string;
  /**
   * Cuts every client off the store for `ms`: open connections are reset and new ones
   * refused until then, as when the store stops and comes back. Resolves when it is back.
   */
  outage(ms: number): Promise<void>;
  /** Cuts every client off until {@link up}: open connections are reset, new ones refused. */
  down(): void;
  /** Lets clients through again. */
  up(): void;
  /** Whether clients get through now. */
  readonly isUp: boolean;
  stop(): Promise<void>;
}

/**
 * Starts a proxy on a free loopback port that forwards every connection to `targetPort`.
 * The local fleet puts it between its runtimes and the store when faults are rehearsed
 * (`npm run soak`), so a store outage loses no data the store acknowledged.
 */
export async function startStoreProxy(targetPort: number): Promise<StoreProxy> {
  const open = new Set<net.Socket>();
  let downUntil = 0;
  let cut = false;
  const isDown = () => cut || Date.now() < downUntil;
  const server = net.createServer((client) => {
    if (isDown()) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      // A reset on either side ends both: the client sees a failed request, never a hang.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async outage(ms: number): Promise<void> {
      downUntil = Date.now() + ms;
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    down(): void {
      cut = true;
      for (const socket of open) socket.destroy();
    },
    up(): void {
      cut = false;
    },
    get isUp() {
      return !isDown();
    },
    async stop(): Promise<void> {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
