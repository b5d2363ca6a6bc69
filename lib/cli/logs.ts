/**
 * `orbit logs`: a location's logs. On the local fleet, its runtime's lines as the control
 * endpoint serves them (`GET /logs`, NDJSON, streamed with `follow=true`); in AWS, the
 * CloudWatch Logs of the location's functions (`/aws/lambda/orbit-<env>-<function>`, the log
 * group the function construct creates), read with FilterLogEvents.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { regionOf } from '../../core/environment/fleet';
import { fleetFunctionNameOf } from '../../core/names';
import { UsageError } from './errors';
import type { LogLine } from './schemas';
import type { Target } from './target';

/** What to show. */
export interface LogsRequest {
  readonly location: string;
  /** Only this function's lines. @default - every function's */
  readonly function?: string;
  /** Keep showing new lines until interrupted. */
  readonly follow: boolean;
}

/** How to show it. */
export interface LogsOutput {
  /** One JSON object per line (NDJSON) instead of text. */
  readonly json: boolean;
  readonly write: (text: string) => void;
}

/** One line as text: time, location, stream or function, the line. */
const textOf = (l: LogLine) =>
  `${l.at}  ${l.location}  ${l.function ?? l.stream ?? ''}  ${l.line}`.replace(/ {3}(?=\S)/, '  ');

/** Shows a location's logs on the target; see the module comment. */
export async function showLogs(t: Target, request: LogsRequest, output: LogsOutput): Promise<void> {
  const location = t.environment.locations.find((l) => l.id === request.location);
  if (!location) {
    throw new UsageError(
      `--location ${request.location}: no such location in ${t.environment.name} (${t.environment.locations.map((l) => l.id).join(', ')})`
    );
  }
  const emit = (line: LogLine) =>
    output.write(`${output.json ? JSON.stringify(line) : textOf(line)}\n`);
  if (t.local) {
    if (!t.controlUrl) throw new Error('this local fleet has no control endpoint; restart it');
    return localLogs(t.controlUrl, request, emit);
  }
  if (location.kind !== 'region') {
    throw new Error(
      `${location.id} is a satellite (${location.kind}): its runtime logs to its hosts' journal (journalctl -u orbit-runtime), not CloudWatch Logs; orbit logs reads CloudWatch Logs for region locations`
    );
  }
  const names = request.function
    ? [request.function]
    : await t.records.stagedReleases.knownFunctions([location.id]);
  if (names.length === 0)
    throw new Error(`no release is staged at ${location.id}, so it has no function logs yet`);
  const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
  const client = new CloudWatchLogsClient({ region: regionOf(location) });
  try {
    await cloudWatchLogs(client, {
      location: location.id,
      logGroups: names.map((name) => ({
        name,
        logGroupName: `/aws/lambda/${fleetFunctionNameOf(t.environment, name)}`,
      })),
      startTime: Date.now() - 15 * 60_000,
      follow: request.follow,
      emit,
    });
  } finally {
    client.destroy();
  }
}

/** Reads the local fleet's `GET /logs` answer line by line, until it ends. */
export async function localLogs(
  controlUrl: string,
  request: LogsRequest,
  emit: (line: LogLine) => void
): Promise<void> {
  const url = new URL('logs', controlUrl);
  url.searchParams.set('location', request.location);
  if (request.function) url.searchParams.set('function', request.function);
  if (request.follow) url.searchParams.set('follow', 'true');
  // Without --follow the answer is the buffered lines: it ends on its own, or this says so.
  const res = await fetch(url, request.follow ? {} : { signal: AbortSignal.timeout(30_000) }).catch(
    (err: Error & { cause?: { code?: string } }) => {
      throw new Error(
        `${url.origin} is unreachable (${err.cause?.code ?? err.message}); is the local fleet running?`
      );
    }
  );
  if (!res.ok) {
    const body = await res.text();
    const detail = (() => {
      try {
        return (JSON.parse(body) as { detail?: string }).detail;
      } catch {
        return undefined;
      }
    })();
    throw new Error(detail ?? `the local fleet answered ${res.status} to GET /logs`);
  }
  if (!res.body) return;
  const decoder = new TextDecoder();
  let pending = '';
  const take = (text: string) => {
    pending += text;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const raw = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (raw) emit(logLineOf(parseLine(raw)));
      newline = pending.indexOf('\n');
    }
  };
  const closed = (cause?: unknown) =>
    new Error(
      `the local fleet closed the log stream of ${request.location} (it stopped, or restarted)`,
      { cause }
    );
  try {
    for await (const chunk of res.body) take(decoder.decode(chunk, { stream: true }));
  } catch (err) {
    // A fleet that stops mid-answer cuts the chunked body: undici says only "terminated".
    throw (err as Error).name === 'TypeError' ? closed(err) : err;
  }
  take(`${decoder.decode()}\n`);
  if (request.follow) throw closed();
}

const parseLine = (raw: string): unknown => {
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`the local fleet sent a log line that is not JSON: ${raw.slice(0, 200)}`);
  }
};

/** A line of the fleet's answer, checked: a malformed one is an error naming it, not a blank. */
function logLineOf(value: unknown): LogLine {
  const l = value as Partial<LogLine>;
  if (
    typeof l?.at !== 'string' ||
    typeof l.location !== 'string' ||
    typeof l.line !== 'string' ||
    (l.stream !== 'stdout' && l.stream !== 'stderr')
  ) {
    throw new Error(
      `the local fleet sent a log line this CLI cannot read: ${JSON.stringify(value).slice(0, 200)}`
    );
  }
  return { at: l.at, location: l.location, stream: l.stream, line: l.line };
}

/** Options of {@link cloudWatchLogs}. */
export interface CloudWatchLogsOptions {
  readonly location: string;
  readonly logGroups: readonly { readonly name: string; readonly logGroupName: string }[];
  /** Epoch milliseconds: the oldest event shown. */
  readonly startTime: number;
  readonly follow: boolean;
  readonly emit: (line: LogLine) => void;
  /** First wait between polls with --follow, doubled while nothing new arrives. @default 1000 */
  readonly pollMs?: number;
  /** Longest wait between polls. @default 10000 */
  readonly maxPollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Reads each log group's events since `startTime` with FilterLogEvents, every page (a page
 * may be empty while a `nextToken` says there is more: CloudWatch Logs API Reference,
 * FilterLogEvents), and shows them in timestamp order. With `follow`, polls from the newest
 * timestamp seen, skipping event ids already shown, waiting longer while nothing arrives
 * (1 s doubling to 10 s); any error ends it with the reason (a missing log group: the
 * function has not run there).
 */
export async function cloudWatchLogs(
  client: CloudWatchLogsClient,
  o: CloudWatchLogsOptions
): Promise<void> {
  const { FilterLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const since = new Map(o.logGroups.map((g) => [g.logGroupName, o.startTime]));
  const seen = new Set<string>();
  let wait = o.pollMs ?? 1000;
  for (;;) {
    const batch: (LogLine & { readonly ms: number })[] = [];
    for (const group of o.logGroups) {
      let nextToken: string | undefined;
      do {
        const page = await client
          .send(
            new FilterLogEventsCommand({
              logGroupName: group.logGroupName,
              startTime: since.get(group.logGroupName),
              nextToken,
            })
          )
          .catch((err: Error) => {
            throw new Error(
              err.name === 'ResourceNotFoundException'
                ? `${group.logGroupName} does not exist: ${group.name} has not been deployed to ${o.location}`
                : `reading ${group.logGroupName} failed: ${err.message}`,
              { cause: err }
            );
          });
        for (const e of page.events ?? []) {
          if (e.eventId && seen.has(e.eventId)) continue;
          if (e.eventId) seen.add(e.eventId);
          const ms = e.timestamp ?? 0;
          since.set(group.logGroupName, Math.max(since.get(group.logGroupName) ?? 0, ms));
          batch.push({
            ms,
            at: new Date(ms).toISOString(),
            location: o.location,
            function: group.name,
            line: (e.message ?? '').replace(/\n$/, ''),
          });
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
    for (const { ms: _ms, ...line } of batch.sort((a, b) => a.ms - b.ms)) o.emit(line);
    if (!o.follow) return;
    wait = batch.length > 0 ? (o.pollMs ?? 1000) : Math.min(wait * 2, o.maxPollMs ?? 10_000);
    await sleep(wait);
  }
}
