/**
 * What every serving process needs, a single runtime and a host's workers alike: listening
 * with a graceful stop, the link variable functions read, the variables releases load with.
 * Nothing here reaches the table or S3, so that a worker loads none of their clients.
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { locationEnv, ORBIT_FUNCTION_ENV } from '../../core/location-env';
import type { RuntimeConfig } from './config';
import type { LinkStatus } from './pull-agent';
import { DEFAULT_SHUTDOWN_GRACE_SECONDS } from './shutdown';

/** How a stop ({@link Listening.stop}) ended. */
export interface StopOutcome {
  /** Requests answered after the stop began. */
  readonly drained: number;
  /** Requests still in flight when the grace period ended (their connections closed). */
  readonly cut: number;
  /**
   * Requests whose client closed its connection before the answer (a load generator
   * stopping, a client timing out): nobody waits for them, so no stop cuts them.
   */
  readonly abandoned: number;
}

/** The location's function variables: what every release is loaded with. */
export const functionEnvOf = (config: RuntimeConfig): Record<string, string> =>
  locationEnv(config.location, config.cors ? { cors: config.cors } : {});

/**
 * Sets the link variable functions read per request (`/health` reports it): the process's
 * own variable, as nothing outside this process needs to know.
 */
export function setLinkEnv(link: LinkStatus): void {
  if (link.connected) delete process.env[ORBIT_FUNCTION_ENV.linkDownSince];
  else process.env[ORBIT_FUNCTION_ENV.linkDownSince] = link.since;
}

/** A server listening, and how to stop it gracefully. */
export interface Listening {
  /** Base URL, e.g. `http://127.0.0.1:4101/`. */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections, answers the requests in flight (each on a connection that
   * then closes) and resolves once none is left and `alsoWait` settled, or when `graceMs`
   * ends: then the connections still open are closed, cutting what they carry.
   * @param graceMs @default DEFAULT_SHUTDOWN_GRACE_SECONDS * 1000
   * @param alsoWait what else the stop waits for within the grace period @default - nothing
   */
  stop(graceMs?: number, alsoWait?: Promise<unknown>): Promise<StopOutcome>;
}

/**
 * Listens on the configured port and host (in a cluster worker, the port the primary shares)
 * and keeps track of the requests in flight, for a stop that answers them: a request that
 * arrives on a kept-alive connection while the server stops is still answered, and that
 * connection then closes.
 */
export async function listen(
  server: Server,
  config: Pick<RuntimeConfig, 'port' | 'host'>
): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  let drained = 0;
  // One listener shared by every response (a response closes once): no closure and no
  // once-wrapper per request.
  function closed(this: ServerResponse): void {
    inFlight.delete(this);
    if (!stopping) return;
    drained++;
    server.closeIdleConnections();
  }
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    if (stopping) res.setHeader('connection', 'close');
    res.on('close', closed);
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    stop: async (graceMs = DEFAULT_SHUTDOWN_GRACE_SECONDS * 1000, alsoWait) => {
      stopping = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let graceTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, graceMs);
      });
      // A pull that hangs (the store unreachable) must not hold the stop past the grace period.
      await Promise.race([Promise.all([closed, alsoWait]), graceOver]);
      clearTimeout(graceTimer);
      // Node may not yet have told a response that its client's socket is gone (its handler
      // still runs): that request is the client's loss, not the stop's.
      const abandoned = [...inFlight].filter((res) => res.socket?.destroyed ?? true).length;
      const cut = inFlight.size - abandoned;
      if (cut > 0) server.closeAllConnections();
      return { drained, cut, abandoned };
    },
  };
}
