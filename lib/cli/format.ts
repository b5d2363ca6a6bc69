/** How {@link table} colours cells: which columns hold state words, and the painter. */
export interface TableStyle {
  /** Header names of the columns whose cells are state words (`health`, `verdict`). */
  readonly columns: readonly string[];
  readonly paint: (text: string) => string;
}

/**
 * Renders rows as an aligned text table with a header. Cells of the styled columns are
 * painted after their width is measured, so colour codes never shift a column.
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  style?: TableStyle
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const painted = header.map((h) => style?.columns.includes(h) ?? false);
  const line = (cells: readonly string[], body: boolean) =>
    cells
      .map((c, i) => {
        const pad = ' '.repeat((widths[i] as number) - c.length);
        return body && painted[i] && style ? `${style.paint(c)}${pad}` : `${c}${pad}`;
      })
      .join('  ')
      .trimEnd();
  return [line(header, false), ...rows.map((r) => line(r, true))].join('\n');
}

/** `12s ago`, `3m ago`, `never`. */
export function age(atMs: number | undefined, nowMs: number): string {
  if (atMs === undefined) return 'never';
  const s = Math.max(0, Math.round((nowMs - atMs) / 1000));
  return s < 120
    ? `${s}s ago`
    : s < 7200
      ? `${Math.round(s / 60)}m ago`
      : `${Math.round(s / 3600)}h ago`;
}
