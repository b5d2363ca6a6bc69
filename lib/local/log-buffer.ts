/** One line a location's runtime printed, as `GET /logs` of the control endpoint serves it. */
export interface LogLine {
  /** When the fleet read it (ISO 8601). */
  readonly at: string;
  readonly location: string;
  readonly stream: 'stdout' | 'stderr';
  readonly line: string;
}

/** Lines kept per location for `orbit logs`; older ones are dropped. */
export const LOG_LINES_KEPT = 1000;

/** Which lines a reader wants: one location's, and maybe one function's. */
export interface LogFilter {
  readonly location: string;
  /** Only the structured lines its handlers logged (their `function` key). @default - all */
  readonly function?: string;
}

/** Whether a line is of `filter`: a function's lines are the JSON ones naming it. */
export function matchesLog(entry: LogLine, filter: LogFilter): boolean {
  if (entry.location !== filter.location) return false;
  if (!filter.function) return true;
  if (!entry.line.startsWith('{')) return false;
  try {
    return (JSON.parse(entry.line) as { function?: unknown }).function === filter.function;
  } catch {
    return false;
  }
}

/**
 * The recent lines of every runtime of the local fleet, and whoever follows them. A follower
 * that stops reading is the follower's problem: lines are handed over synchronously and never
 * wait for it (the control endpoint ends a follower whose socket backs up).
 */
export class LogBuffer {
  private readonly lines = new Map<string, LogLine[]>();
  private readonly followers = new Set<(line: LogLine) => void>();

  constructor(private readonly kept = LOG_LINES_KEPT) {}

  add(location: string, stream: LogLine['stream'], line: string): void {
    const entry: LogLine = { at: new Date().toISOString(), location, stream, line };
    let lines = this.lines.get(location);
    if (!lines) {
      lines = [];
      this.lines.set(location, lines);
    }
    lines.push(entry);
    if (lines.length > this.kept) lines.splice(0, lines.length - this.kept);
    for (const follow of this.followers) follow(entry);
  }

  /** The kept lines of `filter`, oldest first. */
  recent(filter: LogFilter): LogLine[] {
    return (this.lines.get(filter.location) ?? []).filter((l) => matchesLog(l, filter));
  }

  /** Calls `onLine` for each new line of `filter` until the returned function is called. */
  follow(filter: LogFilter, onLine: (line: LogLine) => void): () => void {
    const follower = (line: LogLine) => {
      if (matchesLog(line, filter)) onLine(line);
    };
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }
}
