import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Release } from '../core/manifest';
import { runAlone } from './alone';
import { type BenchOptions, median, type Row, round, spread } from './lib';

/** What bench/synth-child.ts prints. */
interface SynthRun {
  readonly ms: number;
  readonly parts: Readonly<Record<Part, number>>;
  readonly maxRssMb: number;
}

type Part = 'construct' | 'cfnValidation' | 'cdkNag' | 'deployability' | 'serialize';

const PARTS: Readonly<Record<Part, string>> = {
  construct: "Orbit's stacks and constructs (app construction)",
  cfnValidation: "aws-cdk-lib's CloudFormation validation (cfn-lint in WebAssembly)",
  cdkNag: 'cdk-nag (AwsSolutions)',
  deployability: "Orbit's deployability checks",
  serialize: 'aws-cdk-lib preparing, resolving and writing templates',
};

function synthOnce(n: number, release: Release): SynthRun {
  const out = mkdtempSync(path.join(tmpdir(), 'orbit-bench-synth-'));
  const json = execFileSync(
    process.execPath,
    ['node_modules/tsx/dist/cli.mjs', 'bench/synth-child.ts', String(n), release.dir, out],
    {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'ignore'],
    }
  ).toString();
  return JSON.parse(json) as SynthRun;
}

/**
 * Synth time (app construction to cloud assembly, cdk-nag and guardrails included) and peak
 * memory for 1, 10, 50 and 200 locations, each in a fresh process, in rounds that run every
 * size (rotating their order): a size's ratio is the median over rounds of its time over the
 * 1-location time of the same round. Each synth reports its parts (see bench/synth-child.ts);
 * what each part adds per added region location (1 to 10) and per added satellite (10 to the
 * largest size) is reported apart.
 */
export function synthScaling(release: Release, options: BenchOptions): Row[] {
  // 200 locations take half a minute a synth: left out of the quick run.
  const sizes = options.quick ? [1, 10, 50] : [1, 10, 50, 200];
  const rounds = options.quick ? 1 : 3;
  const runs = new Map<number, SynthRun[]>(sizes.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < sizes.length; i++) {
      const n = sizes[(i + r) % sizes.length] as number;
      runs.get(n)?.push(synthOnce(n, release));
    }
  }
  const base = runs.get(1) ?? [];
  const rows: Row[] = [];
  for (const n of sizes) {
    const rs = runs.get(n) ?? [];
    const ratios = rs.map((x, i) => x.ms / (base[i] as SynthRun).ms);
    const r = round(median(ratios), 3);
    const ms = median(rs.map((x) => x.ms));
    const mem = median(rs.map((x) => x.maxRssMb));
    const baseMem = median(base.map((x) => x.maxRssMb));
    options.log(`synth: ${n} locations in ${round(ms / 1000)} s, ${round(mem, 0)} MB`);
    const parts = (Object.keys(PARTS) as Part[])
      .map((p) => `${p} ${round(median(rs.map((x) => x.parts[p])) / 1000)} s`)
      .join(', ');
    rows.push({
      figure: `synth, ${n} location${n === 1 ? '' : 's'}`,
      value: round(ms / 1000),
      unit: 's',
      baseline: round(median(base.map((x) => x.ms)) / 1000),
      ratio: r,
      spread: rs.length > 1 ? `${spread(ratios)}×` : undefined,
      target: n === 50 ? '≤ 1.5× of 1' : undefined,
      met: n === 50 ? r <= 1.5 : undefined,
      note: parts,
    });
    rows.push({
      figure: `synth peak memory, ${n} location${n === 1 ? '' : 's'}`,
      value: round(mem, 0),
      unit: 'MB',
      baseline: round(baseMem, 0),
      ratio: round(mem / baseMem, 3),
    });
  }
  // The bench environment's first 10 locations are regions, the rest satellites (on-prem
  // sites): what a location adds is taken per kind, regions between 1 and 10 locations,
  // satellites between 10 and the largest size.
  const largest = sizes[sizes.length - 1] as number;
  const partMedian = (n: number, p: Part) => median((runs.get(n) ?? []).map((x) => x.parts[p]));
  const spans = [
    { kind: 'region', from: 1, to: 10 },
    { kind: 'satellite', from: 10, to: largest },
  ];
  for (const { kind, from, to } of spans) {
    for (const p of Object.keys(PARTS) as Part[]) {
      rows.push({
        figure: `synth per added ${kind} location: ${PARTS[p]}`,
        value: round((partMedian(to, p) - partMedian(from, p)) / (to - from), 1),
        unit: 'ms',
        baseline: null,
        ratio: null,
        note: `between ${from} and ${to} locations; ${round(partMedian(from, p) / 1000)} s at ${from}`,
      });
    }
  }
  return rows;
}

// `npx tsx bench/synth.ts [--quick]`: this figure alone, with its own release.
if (require.main === module) {
  runAlone(async ({ options, release }) => synthScaling(await release(), options));
}
