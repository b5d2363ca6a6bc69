import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError } from '../../core/errors';
import type { RolloutEvent } from '../../functions/orchestrator/ports';
import { problemResponse } from '../../functions/shared/problem';
import type { RuntimeStatus } from './supervisor';

/** What `GET /state` of the control endpoint answers. */
export interface LocalControlState {
  readonly environment: string;
  /** The fleet's own process. */
  readonly pid: number;
  /** Each location's runtime: its process and how often it was restarted. */
  readonly runtimes: readonly RuntimeStatus[];
}

/** The local fleet's control endpoint: how `npx orbit` wakes the orchestrator loop. */
export interface LocalControl {
  /** Base URL, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** What the control endpoint serves. */
export interface LocalControlOptions {
  /** Runs an orchestrator pass now. */
  readonly wake: () => void;
  /** Runs the governance jobs now; resolves with the number of open findings. */
  readonly governance: () => Promise<number>;
  /** The fleet as it is now. */
  readonly state: () => LocalControlState;
  /** The last rollout events, oldest first. @default - none */
  readonly events?: () => readonly RolloutEvent[];
}

/**
 * Serves, on a loopback port the system picks, `POST /wake`: the CLI calls it after writing a
 * command, so that the command runs now instead of on the next scheduled pass (in AWS the
 * CLI invokes the orchestrator function instead); `POST /governance`: the fleet's own
 * governance run, answering the number of open findings (what `orbit governance run` asks
 * for); `GET /state`: the runtimes as the fleet supervises them (restart counts for
 * `orbit status`); and `GET /events`: the last rollout events the fleet published, oldest
 * first (`{ "events": [...] }`). Anything else is a 404 problem.
 */
export async function startLocalControl(options: LocalControlOptions): Promise<LocalControl> {
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/wake') {
      options.wake();
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"woken":true}');
      return;
    }
    if (req.method === 'POST' && req.url === '/governance') {
      options.governance().then(
        (openFindings) =>
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ openFindings })),
        (err: unknown) => {
          const problem = problemResponse(
            new HttpError(
              503,
              'governance-failed',
              `governance did not run: ${(err as Error).message}`
            ),
            randomUUID(),
            '/governance'
          );
          res.writeHead(problem.statusCode, problem.headers).end(problem.body);
        }
      );
      return;
    }
    if (req.method === 'GET' && req.url === '/state') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(options.state()));
      return;
    }
    if (req.method === 'GET' && req.url === '/events') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ events: options.events?.() ?? [] }));
      return;
    }
    const problem = problemResponse(
      new HttpError(
        404,
        'not-found',
        'the local control endpoint serves POST /wake, POST /governance, GET /state and GET /events'
      ),
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
