/** One row of the benchmark table: a figure, its baseline from the same run, their ratio. */
export interface Row {
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** The baseline measured in the same run, or null when the figure has none. */
  readonly baseline: number | null;
  /** value / baseline. */
  readonly ratio: number | null;
  /** Spread of the repeats (min–max of the per-round figure). */
  readonly spread?: string;
  readonly target?: string;
  /** Whether the target is met; undefined when there is no target to judge. */
  readonly met?: boolean;
  readonly note?: string;
}

/** Options every benchmark gets. */
export interface BenchOptions {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

export const median = (xs: readonly number[]): number => percentile(xs, 0.5);

export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  ] as number;
}

export const spread = (xs: readonly number[], digits = 2): string =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

export const ratio = (value: number, baseline: number | null): number | null =>
  baseline === null || baseline === 0 ? null : round(value / baseline, 3);

/** Renders rows as the table `npm run bench` prints. */
export function render(rows: readonly Row[]): string {
  const header = ['figure', 'value', 'baseline', 'ratio', 'spread', 'target', 'met'];
  const cells = rows.map((r) => [
    r.figure,
    `${r.value} ${r.unit}`,
    r.baseline === null ? '—' : `${r.baseline} ${r.unit}`,
    r.ratio === null ? '—' : `${r.ratio}×`,
    r.spread ?? '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => (c[i] as string).length))
  );
  const line = (c: string[]) =>
    c
      .map((x, i) => x.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
