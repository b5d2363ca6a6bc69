import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Records } from '../../core/records';
import { setLink } from '../../lib/cli/faults';
import { cloudWatchLogs, showLogs } from '../../lib/cli/logs';
import type { LogLine } from '../../lib/cli/schemas';
import type { Target } from '../../lib/cli/target';
import { loadEnvironment } from '../../lib/config/load';
import { schemaErrors } from './json-schema';

const environment = loadEnvironment({ env: 'dev' });

/**
 * The local control endpoint as its contract says (README, "the local fleet"): `GET /logs`
 * answers NDJSON, the buffered lines, and with `follow=true` stays open for new ones;
 * `POST /faults` takes `{location, link}`; an unknown location is a 404 problem. A stand-in
 * until lib/local/control.ts serves them; the same assertions hold against the real one.
 */
function fakeControl(): Promise<{
  url: string;
  push: (line: LogLine) => void;
  close: () => Promise<void>;
  server: Server;
}> {
  const followers = new Set<(line: LogLine) => void>();
  const buffered: LogLine[] = [
    {
      at: '2026-12-02T00:46:01.000Z',
      location: 'lab',
      stream: 'stdout',
      line: '{"level":"INFO","message":"ready"}',
    },
    {
      at: '2026-12-02T00:46:02.000Z',
      location: 'lab',
      stream: 'stderr',
      line: 'warning: disk 91% full',
    },
  ];
  const problem = (res: import('node:http').ServerResponse, detail: string) =>
    res.writeHead(404, { 'content-type': 'application/problem+json' }).end(
      JSON.stringify({
        type: 'urn:orbit:problem:not-found',
        title: 'Not Found',
        status: 404,
        detail,
      })
    );
  const server = createServer((req, res): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const location = url.searchParams.get('location');
    if (req.method === 'GET' && url.pathname === '/logs') {
      if (location !== 'lab') {
        problem(res, `no location '${location}' in dev`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const l of buffered) res.write(`${JSON.stringify(l)}\n`);
      if (url.searchParams.get('follow') !== 'true') {
        res.end();
        return;
      }
      const follower = (l: LogLine) => res.write(`${JSON.stringify(l)}\n`);
      followers.add(follower);
      req.on('close', () => followers.delete(follower));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/faults') {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', (): void => {
        const fault = JSON.parse(body) as { location: string; link: 'up' | 'down' };
        if (fault.location !== 'lab') {
          problem(res, `no location '${fault.location}' in dev`);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            location: 'lab',
            connected: fault.link === 'up',
            since: '2026-12-02T00:50:00.000Z',
          })
        );
      });
      return;
    }
    problem(res, 'not here');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        push: (line) => {
          for (const f of followers) f(line);
        },
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
        server,
      })
    )
  );
}

const localTarget = (controlUrl: string): Target => ({
  environment,
  // Logs and faults go to the control endpoint; nothing here reads the table.
  records: {} as Records,
  urls: {},
  actor: 'local:test',
  local: true,
  controlUrl,
  description: 'the local fleet of this test',
  wake: async () => undefined,
  governance: async () => 0,
});

describe('orbit logs on the local fleet', () => {
  let control: Awaited<ReturnType<typeof fakeControl>>;
  beforeAll(async () => {
    control = await fakeControl();
  });
  afterAll(() => control.close());

  it("prints a location's buffered lines as text, and as NDJSON in the log line schema", async () => {
    let text = '';
    await showLogs(
      localTarget(control.url),
      { location: 'lab', follow: false },
      { json: false, write: (t) => (text += t) }
    );
    expect(text.trimEnd().split('\n')).toEqual([
      '2026-12-02T00:46:01.000Z  lab  stdout  {"level":"INFO","message":"ready"}',
      '2026-12-02T00:46:02.000Z  lab  stderr  warning: disk 91% full',
    ]);
    let json = '';
    await showLogs(
      localTarget(control.url),
      { location: 'lab', follow: false },
      { json: true, write: (t) => (json += t) }
    );
    const lines = json
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(schemaErrors('log-line.schema.json', line)).toEqual([]);
  });

  it('follows new lines as the fleet streams them, and says why when the stream ends', async () => {
    const seen: string[] = [];
    const following = showLogs(
      localTarget(control.url),
      { location: 'lab', follow: true },
      { json: false, write: (t) => seen.push(t) }
    );
    // The buffered lines arrive first: the stream is open once they are in.
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 20));
    control.push({
      at: '2026-12-02T00:46:09.000Z',
      location: 'lab',
      stream: 'stdout',
      line: 'a new line',
    });
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 20));
    expect(seen[2]).toBe('2026-12-02T00:46:09.000Z  lab  stdout  a new line\n');
    control.server.closeAllConnections();
    await expect(following).rejects.toThrow('the local fleet closed the log stream of lab');
  });

  it('fails naming a location the environment does not have, before asking the fleet', async () => {
    await expect(
      showLogs(
        localTarget(control.url),
        { location: 'atlantis', follow: false },
        { json: false, write: () => undefined }
      )
    ).rejects.toThrow(
      '--location atlantis: no such location in dev (us-east-1, eu-west-1, boston, lab)'
    );
  });

  it("fails with the fleet's own words when it answers 404", async () => {
    // boston is in dev, but this fleet keeps no lines for it.
    await expect(
      showLogs(
        localTarget(control.url),
        { location: 'boston', follow: false },
        { json: false, write: () => undefined }
      )
    ).rejects.toThrow("no location 'boston' in dev");
  });
});

describe('orbit fault on the local fleet', () => {
  let control: Awaited<ReturnType<typeof fakeControl>>;
  beforeAll(async () => {
    control = await fakeControl();
  });
  afterAll(() => control.close());

  it('takes a link down and up, printing what the fleet answered', async () => {
    const down = await setLink(localTarget(control.url), 'lab', 'down');
    expect(down.text).toBe('location lab disconnected since 2026-12-02T00:50:00.000Z');
    expect(schemaErrors('fault.schema.json', down.data)).toEqual([]);
    expect((await setLink(localTarget(control.url), 'lab', 'up')).data.connected).toBe(true);
  });

  it('fails with the 404 problem of an unknown location', async () => {
    await expect(setLink(localTarget(control.url), 'boston', 'down')).rejects.toThrow(
      "no location 'boston' in dev"
    );
  });

  it('fails against AWS, saying it is for the local fleet', async () => {
    const aws = {
      ...localTarget(control.url),
      local: false,
      controlUrl: undefined,
      description: "AWS environment 'dev'",
    };
    await expect(setLink(aws, 'lab', 'down')).rejects.toThrow(
      "fault disconnect rehearses a broken link on the local fleet only (npm start); AWS environment 'dev' is not one"
    );
  });
});

// CloudWatch Logs API Reference, FilterLogEvents: events come sorted by timestamp; a page
// may be empty while nextToken says there is more; a log group that does not exist is a
// ResourceNotFoundException. The log group is the function construct's `/aws/lambda/<name>`.
describe('orbit logs in an AWS region', () => {
  const logs = mockClient(CloudWatchLogsClient);
  afterEach(() => logs.reset());

  it('reads every page of the log group, an empty one with a nextToken included', async () => {
    logs
      .on(FilterLogEventsCommand, { nextToken: undefined })
      .resolves({ events: [], nextToken: 't1' })
      .on(FilterLogEventsCommand, { nextToken: 't1' })
      .resolves({
        events: [
          {
            eventId: 'e1',
            timestamp: Date.parse('2026-12-02T00:46:01.000Z'),
            message: 'START RequestId: 1\n',
          },
        ],
      });
    const lines: LogLine[] = [];
    await cloudWatchLogs(new CloudWatchLogsClient({ region: 'us-east-1' }), {
      location: 'us-east-1',
      logGroups: [{ name: 'items', logGroupName: '/aws/lambda/orbit-dev-items' }],
      startTime: 0,
      follow: false,
      emit: (l) => lines.push(l),
    });
    expect(lines).toEqual([
      {
        at: '2026-12-02T00:46:01.000Z',
        location: 'us-east-1',
        function: 'items',
        line: 'START RequestId: 1',
      },
    ]);
    expect(schemaErrors('log-line.schema.json', lines[0])).toEqual([]);
    expect(logs).toHaveReceivedCommandWith(FilterLogEventsCommand, {
      logGroupName: '/aws/lambda/orbit-dev-items',
      startTime: 0,
    });
  });

  it('follows by polling from the newest event, never repeating one, waiting longer while nothing comes', async () => {
    const t = Date.parse('2026-12-02T00:46:01.000Z');
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [{ eventId: 'e1', timestamp: t, message: 'one' }] })
      .resolvesOnce({ events: [{ eventId: 'e1', timestamp: t, message: 'one' }] })
      .resolvesOnce({ events: [{ eventId: 'e1', timestamp: t, message: 'one' }] })
      .resolvesOnce({ events: [{ eventId: 'e2', timestamp: t + 5, message: 'two' }] })
      .rejects(new Error('Rate exceeded'));
    const waits: number[] = [];
    const lines: string[] = [];
    await expect(
      cloudWatchLogs(new CloudWatchLogsClient({ region: 'us-east-1' }), {
        location: 'us-east-1',
        logGroups: [{ name: 'items', logGroupName: '/aws/lambda/orbit-dev-items' }],
        startTime: 0,
        follow: true,
        emit: (l) => lines.push(l.line),
        sleep: async (ms) => {
          waits.push(ms);
        },
      })
    ).rejects.toThrow('reading /aws/lambda/orbit-dev-items failed: Rate exceeded');
    expect(lines).toEqual(['one', 'two']);
    expect(waits).toEqual([1000, 2000, 4000, 1000]);
    const starts = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input.startTime);
    expect(starts).toEqual([0, t, t, t, t + 5]);
  });

  it('fails saying the function has not been deployed there when its log group is missing', async () => {
    logs.on(FilterLogEventsCommand).rejects(
      new ResourceNotFoundException({
        message: 'The specified log group does not exist.',
        $metadata: {},
      })
    );
    await expect(
      cloudWatchLogs(new CloudWatchLogsClient({ region: 'eu-west-1' }), {
        location: 'eu-west-1',
        logGroups: [{ name: 'items', logGroupName: '/aws/lambda/orbit-dev-items' }],
        startTime: 0,
        follow: false,
        emit: () => undefined,
      })
    ).rejects.toThrow(
      '/aws/lambda/orbit-dev-items does not exist: items has not been deployed to eu-west-1'
    );
  });

  it('fails for a satellite location, saying where its logs are', async () => {
    const aws = { ...localTarget('http://127.0.0.1:9/'), local: false, controlUrl: undefined };
    await expect(
      showLogs(aws, { location: 'lab', follow: false }, { json: false, write: () => undefined })
    ).rejects.toThrow("lab is a satellite (on-prem): its runtime logs to its hosts' journal");
  });
});
