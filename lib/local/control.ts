import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError } from '../../functions/shared/errors';
import { problemResponse } from '../../functions/shared/problem';

/** The local fleet's control endpoint: how `npx orbit` wakes the orchestrator loop. */
export interface LocalControl {
  /** Base URL, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Serves `POST /wake` on a loopback port the system picks: the CLI calls it after writing a
 * command, so that the command runs now instead of on the next scheduled pass (in AWS the
 * CLI invokes the orchestrator function instead). Anything else is a 404 problem.
 */
export async function startLocalControl(wake: () => void): Promise<LocalControl> {
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/wake') {
      wake();
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"woken":true}');
      return;
    }
    const problem = problemResponse(
      new HttpError(404, 'not-found', 'the local control endpoint serves POST /wake only'),
      randomUUID(),
      req.url ?? '/'
    );
    res.writeHead(problem.statusCode, problem.headers).end(problem.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
