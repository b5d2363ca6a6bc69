import { stripVTControlCharacters } from 'node:util';
import type { Output } from './commands';
import type { RolloutStatusOutput } from './schemas';

/**
 * How `rollout status --watch` shows changes: `terminal` redraws in place only the lines that
 * changed (ANSI cursor movement, never a clear screen); `lines` prints one line per change,
 * for a pipe or a log; `ndjson` prints the rollout (its `--json` shape) once per change.
 */
export type WatchMode = 'terminal' | 'lines' | 'ndjson';

/** Options of {@link watchRollout}. */
export interface WatchOptions {
  /** Reads the rollout now: `rollout status` itself. */
  readonly read: () => Promise<Output<RolloutStatusOutput>>;
  readonly mode: WatchMode;
  readonly write: (text: string) => void;
  /** Terminal width: longer lines are cut, so that redrawing counts lines right. @default 80 */
  readonly columns?: number;
  /** Between reads. @default 1000 */
  readonly intervalMs?: number;
  /** The clock of the change lines. @default Date.now */
  readonly now?: () => number;
  /** Waits between reads (tests pass a fake). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

type Rollout = NonNullable<RolloutStatusOutput>;

/** Whether a rollout is still moving: a watch ends with one that completed, aborted or rolled back. */
const live = (r: RolloutStatusOutput) => r?.status === 'running' || r?.status === 'paused';

const ESC = '\u001b[';

/**
 * The escapes that turn the screen's `before` lines into `after`, the cursor starting and
 * ending below the block: up to the first changed line, then each line rewritten only if it
 * changed (skipped with cursor-down otherwise), and whatever is left below erased.
 */
export function redraw(before: readonly string[], after: readonly string[]): string {
  let first = 0;
  while (first < before.length && first < after.length && before[first] === after[first]) first++;
  if (first === before.length && first === after.length) return '';
  let out = before.length > first ? `${ESC}${before.length - first}A\r` : '';
  for (let i = first; i < after.length; i++) {
    out += i < before.length && before[i] === after[i] ? `${ESC}1B` : `${ESC}2K${after[i]}\n`;
  }
  if (after.length < before.length) out += `${ESC}J`;
  return out;
}

/** The facts of a rollout a line-per-change watch reports, by a stable key. */
function factsOf(r: Rollout): Map<string, string> {
  const facts = new Map<string, string>();
  facts.set('status', `${r.status}${r.reason ? ` (${r.reason})` : ''}`);
  facts.set(
    'position',
    r.wave
      ? `wave ${r.wave.name} (${r.wave.index + 1}/${r.wave.of}${r.wave.batches > 1 ? `, batch ${r.wave.batch + 1}/${r.wave.batches}` : ''}), step ${Math.round(r.wave.weight * 100)}%`
      : 'all waves done'
  );
  for (const [id, e] of Object.entries(r.evidence)) {
    facts.set(`verdict ${id}`, `${e.verdict}${e.rule ? ` (${e.rule})` : ''}`);
  }
  for (const [id, why] of Object.entries(r.waiting)) facts.set(`waits ${id}`, why);
  r.history.forEach((h, i) => {
    facts.set(`event ${i}`, `${h.at}  ${h.event}`);
  });
  return facts;
}

/** The lines that tell what changed from `before` to `after` (all of `after` at first). */
export function changeLines(before: Rollout | undefined, after: Rollout, at: string): string[] {
  const was = before && before.rolloutId === after.rolloutId ? factsOf(before) : new Map();
  const now = factsOf(after);
  const lines: string[] = [];
  const head = `${at}  ${after.rolloutId}`;
  for (const [key, value] of now) {
    if (was.get(key) === value) continue;
    if (key.startsWith('event ')) lines.push(`${head}  event: ${value}`);
    else if (key.startsWith('verdict ')) lines.push(`${head}  ${key.slice(8)}: ${value}`);
    else if (key.startsWith('waits ')) lines.push(`${head}  waits for ${key.slice(6)}: ${value}`);
    else lines.push(`${head}  ${key}: ${value}`);
  }
  for (const key of was.keys()) {
    if (key.startsWith('waits ') && !now.has(key)) {
      lines.push(`${head}  waits no longer for ${key.slice(6)}`);
    }
  }
  return lines;
}

/**
 * Follows a rollout until it completes, aborts or rolls back (a paused one is still watched:
 * it may be resumed). Every read that fails ends the watch with that error; nothing waits
 * without an end.
 */
export async function watchRollout(options: WatchOptions): Promise<void> {
  const intervalMs = options.intervalMs ?? 1000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const width = Math.max(20, options.columns ?? 80);
  let screen: string[] = [];
  let lastJson: string | undefined;
  let last: Rollout | undefined;
  for (;;) {
    const out = await options.read();
    const rollout = out.data;
    if (options.mode === 'terminal') {
      // Cut, not wrapped: a wrapped line would put the cursor arithmetic off by a row. A line
      // too long loses its colour with its end (colour codes take no columns).
      const lines = out.text.split('\n').map((l) => {
        const visible = stripVTControlCharacters(l);
        return visible.length > width - 1 ? `${visible.slice(0, width - 2)}…` : l;
      });
      options.write(redraw(screen, lines));
      screen = lines;
    } else if (options.mode === 'ndjson') {
      const line = JSON.stringify(rollout);
      if (line !== lastJson) options.write(`${line}\n`);
      lastJson = line;
    } else if (rollout === null) {
      if (lastJson === undefined) options.write(`${out.text}\n`);
      lastJson = 'null';
    } else {
      const lines = changeLines(last, rollout, new Date(now()).toISOString());
      if (lines.length > 0) options.write(`${lines.join('\n')}\n`);
      last = rollout;
    }
    if (!live(rollout)) return;
    await sleep(intervalMs);
  }
}
