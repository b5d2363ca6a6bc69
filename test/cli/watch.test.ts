import type { RolloutStatusOutput } from '../../lib/cli/schemas';
import { changeLines, redraw, watchRollout } from '../../lib/cli/watch';
import { schemaErrors } from './json-schema';

const ESC = '\u001b';

/**
 * A terminal as far as redrawing needs one: rows of text and a cursor that the escapes
 * `CSI n A` (up), `CSI n B` (down), `CSI 2K` (erase the line), `CSI J` (erase below) and
 * `\r`, `\n` move; enough to prove that what is on screen after a redraw is the new block.
 */
class Screen {
  rows: string[] = [];
  row = 0;
  write(text: string) {
    const re = new RegExp(`${ESC}\\[(\\d*)([ABJK])|\\r|\\n|[^${ESC}\\r\\n]+`, 'g');
    for (const m of text.matchAll(re)) {
      const [all, n, op] = m;
      if (op === 'A') this.row = Math.max(0, this.row - Number(n || 1));
      else if (op === 'B') this.row += Number(n || 1);
      else if (op === 'K') this.rows[this.row] = '';
      else if (op === 'J') this.rows.length = this.row;
      else if (all === '\n') this.row++;
      else if (all !== '\r') this.rows[this.row] = (this.rows[this.row] ?? '') + all;
    }
  }
}

const rollout = (
  over: Partial<NonNullable<RolloutStatusOutput>> = {}
): NonNullable<RolloutStatusOutput> => ({
  rolloutId: 'ro-c6c4ee18',
  release: 'r-0e13705233649bed',
  status: 'running',
  reason: null,
  wave: { index: 0, name: 'canary', of: 2, step: 0, weight: 0.5, batch: 0, batches: 1 },
  phase: 'baking',
  bakeUntil: '2026-12-02T00:47:01.000Z',
  previous: { lab: 'r-3464f3ac38a19263' },
  touched: ['lab'],
  breached: [],
  waiting: { lab: 'bake until 00:47:01 UTC' },
  evidence: {},
  createdBy: 'local:developer',
  createdAt: '2026-12-02T00:46:01.084Z',
  updatedAt: '2026-12-02T00:46:01.127Z',
  history: [{ at: '2026-12-02T00:46:01.084Z', event: 'started by local:developer' }],
  ...over,
});

describe('rollout status --watch', () => {
  it('redraws in place only the lines that changed, without clearing the screen', () => {
    const screen = new Screen();
    const first = ['rollout ro-1: running', 'wave canary, step 50%', '', '  started'];
    const second = [
      'rollout ro-1: running',
      'wave canary, step 100%',
      '',
      '  started',
      '  at 100%',
    ];
    screen.write(redraw([], first));
    const escapes = redraw(first, second);
    screen.write(escapes);
    expect(screen.rows).toEqual(second);
    // Neither "erase the screen" (CSI 2J) nor "reset" (ESC c).
    expect(escapes).not.toContain(`${ESC}[2J`);
    expect(escapes).not.toContain(`${ESC}c`);
    // The unchanged first line is never written again; line 2 is.
    expect(escapes).not.toContain('rollout ro-1');
    expect(escapes).toContain('step 100%');
    expect(redraw(second, second)).toBe('');
    const shorter = ['rollout ro-1: completed'];
    screen.write(redraw(second, shorter));
    expect(screen.rows).toEqual(shorter);
  });

  it('prints one line per change into a pipe, each naming the rollout and the time', async () => {
    const reads = [
      rollout(),
      rollout(),
      rollout({
        evidence: {
          lab: {
            verdict: 'pass',
            candidate: { requests: 60, errors5xx: 0, errorRatePercent: 0, p99Ms: 9 },
          },
        },
        waiting: {},
        history: [
          { at: '2026-12-02T00:46:01.084Z', event: 'started by local:developer' },
          { at: '2026-12-02T00:47:02.096Z', event: 'wave canary at 100%' },
        ],
        wave: { index: 0, name: 'canary', of: 2, step: 1, weight: 1, batch: 0, batches: 1 },
      }),
      rollout({ status: 'completed', wave: null, waiting: {} }),
    ];
    let written = '';
    await watchRollout({
      read: async () => {
        const data = reads.shift() ?? null;
        return { text: 'unused in a pipe', data };
      },
      mode: 'lines',
      write: (t) => {
        written += t;
      },
      now: () => Date.parse('2026-12-02T00:47:03.000Z'),
      sleep: async () => undefined,
    });
    const at = '2026-12-02T00:47:03.000Z  ro-c6c4ee18';
    expect(written.trimEnd().split('\n')).toEqual([
      `${at}  status: running`,
      `${at}  position: wave canary (1/2), step 50%`,
      `${at}  waits for lab: bake until 00:47:01 UTC`,
      `${at}  event: 2026-12-02T00:46:01.084Z  started by local:developer`,
      // The second read changed nothing, so it printed nothing.
      `${at}  position: wave canary (1/2), step 100%`,
      `${at}  lab: pass`,
      `${at}  event: 2026-12-02T00:47:02.096Z  wave canary at 100%`,
      `${at}  waits no longer for lab`,
      `${at}  status: completed`,
      `${at}  position: all waves done`,
    ]);
    expect(reads).toEqual([]);
  });

  it('prints one JSON object per change with --json (NDJSON), each in the rollout status schema', async () => {
    const reads = [
      rollout(),
      rollout(),
      rollout({ status: 'rolled-back', reason: 'gate breached at lab' }),
    ];
    let written = '';
    await watchRollout({
      read: async () => ({ text: '', data: reads.shift() ?? null }),
      mode: 'ndjson',
      write: (t) => {
        written += t;
      },
      sleep: async () => undefined,
    });
    const lines = written
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.status)).toEqual(['running', 'rolled-back']);
    for (const line of lines) expect(schemaErrors('rollout-status.schema.json', line)).toEqual([]);
  });

  it('fails with the reason when a read fails, instead of waiting on', async () => {
    await expect(
      watchRollout({
        read: async () => {
          throw new Error('the table is unreachable');
        },
        mode: 'lines',
        write: () => undefined,
        sleep: async () => undefined,
      })
    ).rejects.toThrow('the table is unreachable');
  });

  it('says each fact of a first read, and only changes after', () => {
    expect(changeLines(undefined, rollout(), 'T')).toHaveLength(4);
    expect(changeLines(rollout(), rollout(), 'T')).toEqual([]);
  });
});
