import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Release } from '../core/manifest';
import { type BenchOptions, median, type Row, ratio, round, spread } from './lib';

/**
 * Synth time (app construction to cloud assembly, cdk-nag and guardrails included) and peak
 * memory for 1, 10 and 50 locations, each in a fresh process; 1 location is the baseline.
 */
export function synthScaling(release: Release, options: BenchOptions): Row[] {
  const repeats = options.quick ? 1 : 3;
  const run = (n: number) =>
    Array.from({ length: repeats }, () => {
      const out = mkdtempSync(path.join(tmpdir(), 'orbit-bench-synth-'));
      const json = execFileSync(
        process.execPath,
        ['node_modules/tsx/dist/cli.mjs', 'bench/synth-child.ts', String(n), release.dir, out],
        {
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          stdio: ['ignore', 'pipe', 'ignore'],
        }
      ).toString();
      return JSON.parse(json) as { ms: number; maxRssMb: number };
    });
  const results = new Map([1, 10, 50].map((n) => [n, run(n)]));
  const base = median((results.get(1) ?? []).map((r) => r.ms));
  const baseMem = median((results.get(1) ?? []).map((r) => r.maxRssMb));
  const rows: Row[] = [];
  for (const [n, rs] of results) {
    const ms = median(rs.map((r) => r.ms));
    const mem = median(rs.map((r) => r.maxRssMb));
    options.log(`synth: ${n} locations in ${round(ms / 1000)} s, ${round(mem, 0)} MB`);
    rows.push({
      figure: `synth, ${n} location${n === 1 ? '' : 's'}`,
      value: round(ms / 1000),
      unit: 's',
      baseline: round(base / 1000),
      ratio: ratio(ms, base),
      spread: spread(rs.map((r) => r.ms / 1000)),
      target: n === 50 ? '≤ 1.5× of 1' : undefined,
      met: n === 50 ? ms / base <= 1.5 : undefined,
    });
    rows.push({
      figure: `synth peak memory, ${n} location${n === 1 ? '' : 's'}`,
      value: round(mem, 0),
      unit: 'MB',
      baseline: round(baseMem, 0),
      ratio: ratio(mem, baseMem),
    });
  }
  return rows;
}
