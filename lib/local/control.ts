import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError } from '../../core/errors';
import type { RolloutEvent } from '../../functions/orchestrator/ports';
import { problemResponse } from '../../functions/shared/problem';
import type { LinkStatus } from './links';
import type { LogBuffer } from './log-buffer';
import type { RuntimeStatus } from './supervisor';

/** What `GET /state` of the control endpoint answers. */
export interface LocalControlState {
  readonly environment: string;
  /** The fleet's own process. */
  readonly pid: number;
  /** Each location's runtime: its process and how often it was restarted. */
  readonly runtimes: readonly RuntimeStatus[];
  /** Each location's link to the store and the issuer (cut by `orbit fault disconnect`). */
  readonly links?: readonly LinkStatus[];
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
  /**
   * Cuts (`false`) or restores (`true`) a location's link; undefined for a location the fleet
   * does not have. @default - no faults: `POST /faults` is a 404
   */
  readonly link?: (location: string, connected: boolean) => LinkStatus | undefined;
  /** The runtimes' recent lines, for `GET /logs`. @default - none kept */
  readonly logs?: LogBuffer;
  /** The fleet's locations, so that a request for another one is a 404. @default - none */
  readonly locations?: readonly string[];
}

/** The largest `POST /faults` body read. */
const MAX_FAULT_BODY_BYTES = 4096;

/**
 * Serves, on a loopback port the system picks, `POST /wake`: the CLI calls it after writing a
 * command, so that the command runs now instead of on the next scheduled pass (in AWS the
 * CLI invokes the orchestrator function instead); `POST /governance`: the fleet's own
 * governance run, answering the number of open findings (what `orbit governance run` asks
 * for); `GET /state`: the runtimes as the fleet supervises them (restart counts for
 * `orbit status`); and `GET /events`: the last rollout events the fleet published, oldest
 * first (`{ "events": [...] }`); `POST /faults` with `{"location": ID, "link": "down"|"up"}`:
 * cuts or restores that location's link to the store and the issuer, answering
 * `{location, connected, since}`; and `GET /logs?location=ID[&function=NAME][&follow=true]`:
 * the location's recent runtime lines as NDJSON (`{at, location, stream, line}` each), and
 * with `follow=true` every new one until the client goes. Anything else is a 404 problem.
 */
export async function startLocalControl(options: LocalControlOptions): Promise<LocalControl> {
  const sendProblem = (res: ServerResponse, err: HttpError, instance: string) => {
    const p = problemResponse(err, randomUUID(), instance);
    res.writeHead(p.statusCode, p.headers).end(p.body);
  };
  const known = (location: string | null | undefined): location is string =>
    !!location && (options.locations ?? []).includes(location);
  const unknownLocation = (location: string | null | undefined) =>
    new HttpError(
      404,
      'unknown-location',
      location
        ? `the fleet has no location ${location}; it has ${(options.locations ?? []).join(', ')}`
        : `name a location: one of ${(options.locations ?? []).join(', ')}`
    );
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    if (req.method === 'POST' && url.pathname === '/faults') {
      readSmallBody(req, MAX_FAULT_BODY_BYTES).then(
        (body) => {
          const fault = parseFault(body);
          if (typeof fault === 'string') {
            sendProblem(res, new HttpError(400, 'bad-fault', fault), '/faults');
            return;
          }
          const status = known(fault.location)
            ? options.link?.(fault.location, fault.link === 'up')
            : undefined;
          if (!status) {
            sendProblem(res, unknownLocation(fault.location), '/faults');
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status));
        },
        (err: unknown) =>
          sendProblem(res, new HttpError(413, 'too-large', (err as Error).message), '/faults')
      );
      return;
    }
    if (req.method === 'GET' && url.pathname === '/logs') {
      const location = url.searchParams.get('location');
      if (!known(location) || !options.logs) {
        sendProblem(res, unknownLocation(location), '/logs');
        return;
      }
      const fn = url.searchParams.get('function');
      const filter = { location, ...(fn ? { function: fn } : {}) };
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const line of options.logs.recent(filter)) res.write(`${JSON.stringify(line)}\n`);
      if (url.searchParams.get('follow') !== 'true') {
        res.end();
        return;
      }
      const unfollow = options.logs.follow(filter, (line) => {
        // A reader that does not keep up is let go rather than buffered for without end.
        if (!res.write(`${JSON.stringify(line)}\n`) && res.writableLength > 1 << 20) res.destroy();
      });
      res.once('close', unfollow);
      return;
    }
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
        'the local control endpoint serves POST /wake, POST /governance, POST /faults, GET /state, GET /events and GET /logs'
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

/** Reads a body of at most `limit` bytes; rejects a larger one. */
function readSmallBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error(`the body is over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** A `POST /faults` body, or what is wrong with it. */
function parseFault(body: string): { location: string; link: 'up' | 'down' } | string {
  let fault: unknown;
  try {
    fault = JSON.parse(body);
  } catch {
    return 'the body is not JSON: send {"location": "ID", "link": "down"} or "up"';
  }
  const { location, link } = (fault ?? {}) as { location?: unknown; link?: unknown };
  if (typeof location !== 'string' || location === '')
    return 'location must name a location of the fleet, e.g. {"location": "lab", "link": "down"}';
  if (link !== 'up' && link !== 'down') return 'link must be "down" (cut it) or "up" (restore it)';
  return { location, link };
}
