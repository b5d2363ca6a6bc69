/**
 * The `--json` contract: one shape per command, as zod schemas. The commands build their data
 * to these types (type imports only, so no command loads zod for them); `npm run schemas`
 * publishes them, and the environment file's, as JSON Schemas in `schemas/`, and a test
 * checks both that every command's output validates and that the files are what this module
 * generates. Numbers are numbers (traffic weights and fleet shares as fractions 0–1), times
 * ISO 8601 strings, absent values `null`; no table key (`pk`, `sk`) ever appears.
 */
import * as z from 'zod';
import { environmentSchema } from '../../core/environment/schema';

const iso = z.iso.datetime({ offset: true }).describe('an ISO 8601 time');
const fraction = z.number().min(0).max(1);
const releaseId = z.string().regex(/^r-[0-9a-f]{16}$/);

const figures = z.object({
  requests: z.int().min(0),
  errors5xx: z.int().min(0),
  /** 5xx answers in percent of requests (0 without requests). */
  errorRatePercent: z.number().min(0).max(100),
  p99Ms: z.number().min(0),
});

const evidence = z.object({
  verdict: z.enum(['pass', 'wait', 'breach']),
  why: z.string().optional(),
  rule: z.string().optional(),
  confidencePercent: z.number().optional(),
  candidate: figures,
  stable: figures.optional(),
  dryRun: z.array(z.string()).optional(),
});

/** `orbit status --json`. */
export const statusOutput = z.strictObject({
  locations: z.array(
    z.strictObject({
      location: z.string(),
      kind: z.enum(['region', 'local-zone', 'outpost', 'on-prem']),
      stable: releaseId.nullable().describe('null before the first release is staged'),
      candidate: releaseId.nullable().describe('null when no rollout gives this location one'),
      weight: fraction.describe("the candidate's share of the location's traffic"),
      health: z.enum(['ok', 'stale', 'unknown', 'drained', 'cut-off']),
      heartbeatAt: iso.nullable().describe('the latest heartbeat; null before the first'),
      findings: z.int().min(0).describe('open findings about this location'),
      restarts: z
        .int()
        .min(0)
        .nullable()
        .optional()
        .describe('local fleet only: restarts of its runtime; null when the fleet cannot say'),
    })
  ),
  drainedFunctions: z.array(
    z.strictObject({
      function: z.string(),
      reason: z.string().optional(),
      by: z.string().optional(),
      at: iso.optional(),
    })
  ),
  activeRollout: z.string().nullable(),
});

/** `orbit rollout plan RELEASE --json`. */
export const planOutput = z.strictObject({
  release: releaseId,
  environment: z.string(),
  waves: z.array(
    z.strictObject({
      name: z.string(),
      locations: z.array(z.string()),
      batches: z.array(z.array(z.string())),
      steps: z.array(fraction).describe("the candidate's weight at each step"),
      bakeMinutes: z.number().min(0),
      shareOfFleet: fraction,
      cumulativeShare: fraction,
    })
  ),
  totalSteps: z.int().min(0),
  minimumMinutes: z.number().min(0),
  gates: environmentSchema.shape.rollout.shape.gates,
  staging: z
    .enum(['checked', 'not-checked'])
    .describe(
      "checked: read from the fleet's records; not-checked: a plan of an AWS environment, from its configuration only"
    ),
  problem: z
    .string()
    .nullable()
    .describe('why rollout start would refuse it; null when it would not'),
});

/** `orbit rollout status [ROLLOUT_ID] --json` (null when there is no rollout yet). */
export const rolloutStatusOutput = z
  .strictObject({
    rolloutId: z.string(),
    release: releaseId,
    status: z.enum(['running', 'paused', 'completed', 'aborted', 'rolled-back']),
    reason: z.string().nullable(),
    wave: z
      .strictObject({
        index: z.int().min(0),
        name: z.string(),
        of: z.int().min(1),
        step: z.int().min(0),
        weight: fraction.describe("the candidate's weight at this step"),
        batch: z.int().min(0),
        batches: z.int().min(1),
      })
      .nullable()
      .describe('null once every wave is done'),
    phase: z.enum(['applying', 'baking']),
    bakeUntil: iso.nullable().describe('when the current bake ends; null when not baking'),
    previous: z.record(z.string(), z.string()),
    touched: z.array(z.string()),
    breached: z.array(z.string()),
    waiting: z.record(z.string(), z.string()),
    evidence: z.record(z.string(), evidence),
    createdBy: z.string(),
    createdAt: iso,
    updatedAt: iso,
    history: z.array(
      z.strictObject({
        at: iso,
        event: z.string(),
        evidence: z.record(z.string(), evidence).optional(),
      })
    ),
  })
  .nullable();

/** `orbit rollout start|pause|resume|abort|promote`, `orbit drain|restore` with `--json`. */
export const commandOutput = z.strictObject({
  intentId: z.string(),
  command: z.enum(['start', 'pause', 'resume', 'abort', 'promote', 'drain', 'restore']),
  status: z
    .enum(['done', 'pending'])
    .describe('pending: recorded, the orchestrator has not run it yet'),
  outcome: z.string().nullable(),
  by: z.string(),
  at: iso,
  release: releaseId.optional(),
  location: z.string().optional(),
  function: z.string().optional(),
  reason: z.string().optional(),
});

const finding = z.strictObject({
  job: z.string().describe('the governance job that found it: drift, stale-heartbeat, policy, …'),
  subject: z.string(),
  severity: z.enum(['low', 'medium', 'high']),
  message: z.string(),
  firstSeen: iso,
  lastSeen: iso,
  resolved: z.boolean(),
  resolvedAt: iso.optional(),
});

/** `orbit findings --json`: every finding, open ones first. */
export const findingsOutput = z.array(finding);

/** `orbit governance run --json`: the open findings after the run. */
export const governanceOutput = z.strictObject({
  openFindings: z.int().min(0),
  findings: z.array(finding),
});

/** `orbit audit --json`: the newest entries first. */
export const auditOutput = z.array(
  z.strictObject({
    at: iso,
    by: z.string(),
    action: z.string(),
    outcome: z.string(),
    detail: z.record(z.string(), z.unknown()).optional(),
  })
);

/** `orbit stage --json`. */
export const stageOutput = z.strictObject({
  release: releaseId,
  locations: z.array(z.string()),
  functions: z.array(
    z.strictObject({ name: z.string(), bytes: z.int().min(0), sha256: z.string() })
  ),
});

/** `orbit preflight --json`. */
export const preflightOutput = z.array(
  z.strictObject({
    id: z.string(),
    region: z.string().nullable(),
    location: z.string().nullable(),
    status: z.enum(['ok', 'warn', 'fail']),
    message: z.string(),
    fix: z.string().nullable(),
  })
);

/** One line of `orbit logs --json` (NDJSON: one object per line). */
export const logLine = z.strictObject({
  at: iso,
  location: z.string(),
  stream: z
    .enum(['stdout', 'stderr'])
    .optional()
    .describe(
      'local fleet: the runtime stream; absent for CloudWatch Logs, which keeps one stream'
    ),
  line: z.string(),
  function: z.string().optional().describe('CloudWatch Logs: the function whose log group it is'),
});

/** `orbit fault disconnect|reconnect --json`. */
export const faultOutput = z.strictObject({
  location: z.string(),
  connected: z.boolean(),
  since: iso,
});

/** `orbit new function NAME --json`. */
export const newFunctionOutput = z.strictObject({
  files: z.array(z.string()),
  publicRoutes: z.array(z.string()),
});

/** What every command writes to stderr with `--json` when it fails. */
export const problemOutput = z.strictObject({
  type: z.enum(['urn:orbit:problem:cli-usage', 'urn:orbit:problem:cli-failure']),
  title: z.string(),
  detail: z.string(),
  exitCode: z.union([z.literal(1), z.literal(2)]),
});

export type StatusOutput = z.output<typeof statusOutput>;
export type PlanOutput = z.output<typeof planOutput>;
export type RolloutStatusOutput = z.output<typeof rolloutStatusOutput>;
export type CommandOutput = z.output<typeof commandOutput>;
export type FindingOutput = z.output<typeof finding>;
export type GovernanceOutput = z.output<typeof governanceOutput>;
export type AuditOutput = z.output<typeof auditOutput>;
export type StageOutput = z.output<typeof stageOutput>;
export type LogLine = z.output<typeof logLine>;
export type FaultOutput = z.output<typeof faultOutput>;
export type NewFunctionOutput = z.output<typeof newFunctionOutput>;

/** Every published schema by its file name in `schemas/`, with what it describes. */
export const PUBLISHED = {
  'environment.schema.json': {
    schema: environmentSchema,
    io: 'input',
    title: 'An Orbit environment file (--config PATH)',
  },
  'status.schema.json': { schema: statusOutput, io: 'output', title: 'orbit status --json' },
  'rollout-plan.schema.json': {
    schema: planOutput,
    io: 'output',
    title: 'orbit rollout plan RELEASE --json',
  },
  'rollout-status.schema.json': {
    schema: rolloutStatusOutput,
    io: 'output',
    title: 'orbit rollout status --json; with --watch, each line of its NDJSON',
  },
  'command.schema.json': {
    schema: commandOutput,
    io: 'output',
    title: 'orbit rollout start|pause|resume|abort|promote, drain, restore --json',
  },
  'findings.schema.json': { schema: findingsOutput, io: 'output', title: 'orbit findings --json' },
  'governance.schema.json': {
    schema: governanceOutput,
    io: 'output',
    title: 'orbit governance run --json',
  },
  'audit.schema.json': { schema: auditOutput, io: 'output', title: 'orbit audit --json' },
  'stage.schema.json': { schema: stageOutput, io: 'output', title: 'orbit stage --json' },
  'preflight.schema.json': {
    schema: preflightOutput,
    io: 'output',
    title: 'orbit preflight --json',
  },
  'log-line.schema.json': {
    schema: logLine,
    io: 'output',
    title: 'each line of orbit logs --json (NDJSON)',
  },
  'fault.schema.json': {
    schema: faultOutput,
    io: 'output',
    title: 'orbit fault disconnect|reconnect --json',
  },
  'new-function.schema.json': {
    schema: newFunctionOutput,
    io: 'output',
    title: 'orbit new function NAME --json',
  },
  'problem.schema.json': {
    schema: problemOutput,
    io: 'output',
    title: 'what any command writes to stderr with --json when it fails',
  },
} as const satisfies Record<string, { schema: z.ZodType; io: 'input' | 'output'; title: string }>;

/** The JSON Schema files `schemas/` holds, by name, as their text. */
export function generateSchemas(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(PUBLISHED).map(([file, { schema, io, title }]) => {
      const json = z.toJSONSchema(schema, { io, target: 'draft-2020-12' });
      const published = {
        $schema: json.$schema,
        title,
        ...Object.fromEntries(Object.entries(json).filter(([k]) => k !== '$schema')),
      };
      return [file, `${JSON.stringify(published, null, 2)}\n`];
    })
  );
}
