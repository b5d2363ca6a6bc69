/**
 * Colour for health, verdicts and rollout states, only where a person reads it: a terminal,
 * unless `NO_COLOR` is set (no-color.org); `FORCE_COLOR` (any value but `0`/`false`) turns it
 * on into a pipe too, and wins over `NO_COLOR`, as in Node's own `tty.hasColors`.
 */

/** Whether output to a stream with this `isTTY` gets colour, given the environment. */
export function colourEnabled(
  isTTY: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env
): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY === true && env.TERM !== 'dumb';
}

const CODES = { green: 32, yellow: 33, red: 31, cyan: 36, grey: 90 } as const;

/** The colour of a state word wherever the CLI prints one. */
const STATE_COLOURS: Readonly<Record<string, keyof typeof CODES>> = {
  ok: 'green',
  pass: 'green',
  completed: 'green',
  running: 'cyan',
  stale: 'yellow',
  'cut-off': 'yellow',
  wait: 'yellow',
  paused: 'yellow',
  unknown: 'grey',
  drained: 'grey',
  aborted: 'grey',
  breach: 'red',
  'rolled-back': 'red',
  fail: 'red',
  warn: 'yellow',
};

/** Paints state words (`ok`, `stale`, `breach (…)`, `rolled-back`) when colour is on. */
export type Painter = (text: string) => string;

/** A painter for one stream: the identity when colour is off. */
export function statePainter(enabled: boolean): Painter {
  if (!enabled) return (text) => text;
  return (text) => {
    const colour = STATE_COLOURS[text.split(/[\s(]/, 1)[0] ?? ''];
    return colour ? `\u001b[${CODES[colour]}m${text}\u001b[39m` : text;
  };
}
