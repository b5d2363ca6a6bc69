import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Environment } from '../../core/environment/schema';
import { loadEnvironment } from '../config/load';
import type { Output } from './commands';
import { table } from './format';
import {
  type AwsCheckContext,
  awsChecks,
  type CheckOutcome,
  type CheckStatus,
  type CheckTask,
  DEFAULT_BOOTSTRAP_QUALIFIER,
  type IamCall,
  isAccessDenied,
} from './preflight-checks';
import { createPreflightClients, type PreflightClients } from './preflight-clients';
import { checkIssuer } from './preflight-issuer';

/** One line of the preflight report. */
export interface PreflightCheck {
  readonly id: string;
  /** The AWS region the check ran in, when it ran in one. */
  readonly region?: string;
  /** The Orbit location it is about, when it is about one. */
  readonly location?: string;
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do about it; absent when there is nothing to do. */
  readonly fix?: string;
}

/** What `orbit preflight` found for one environment. */
export interface PreflightReport {
  readonly environment: string;
  readonly account: string;
  /** The IAM principal the checks ran as. */
  readonly caller: string;
  readonly checks: readonly PreflightCheck[];
}

/** Options of {@link runPreflight}. */
export interface PreflightOptions {
  /** @default - clients with the default credential chain, see `createPreflightClients` */
  readonly clients?: PreflightClients;
  /** For the issuer check. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The CDK bootstrap qualifier. @default 'hnb659fds' */
  readonly qualifier?: string;
  /**
   * Reserved concurrency Orbit's functions configure, by region, and that is not yet in place
   * (once deployed it is already out of the account's unreserved figure).
   * @default - none: Orbit's functions reserve no concurrency
   */
  readonly reservedConcurrency?: Readonly<Record<string, number>>;
  /** Checks running at once. @default 4 */
  readonly concurrency?: number;
  /** Milliseconds each check may take. @default 10000 */
  readonly timeoutMs?: number;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Runs one check within `timeoutMs`; whatever goes wrong becomes its outcome, never a throw. */
async function settle(task: CheckTask, timeoutMs: number): Promise<PreflightCheck> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({
        status: 'fail',
        message: `no answer within ${seconds(timeoutMs)}`,
        fix: `check the network path to AWS${task.region ? ` in ${task.region}` : ''}, then run preflight again`,
      });
    }, timeoutMs);
  });
  const outcome = await Promise.race([
    task.run(controller.signal).catch((err: unknown) => failure(task.calls, err)),
    timedOut,
  ]);
  clearTimeout(timer);
  return { id: task.id, region: task.region, location: task.location, ...outcome };
}

/** An error no check expected: a denial names the grant, anything else is said as it is. */
function failure(calls: readonly IamCall[], err: unknown): CheckOutcome {
  const e = err as Error;
  const said = (e.message ?? String(err)).split('\n')[0] ?? '';
  if (isAccessDenied(err)) {
    const denied = calls.find((c) => said.includes(c.action)) ?? calls[0];
    return {
      status: 'fail',
      message: `not allowed: ${said}`,
      fix: denied ? `grant ${denied.action} on ${denied.resource}` : undefined,
    };
  }
  return { status: 'fail', message: `could not check: ${e.name ?? 'Error'}: ${said}` };
}

/** Runs `jobs` with at most `limit` at once, results in job order. */
async function bounded<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, worker));
  return results;
}

/**
 * Who the credentials belong to. Every other check needs them, so without usable
 * credentials preflight stops here with one line saying why.
 */
async function callerIdentity(
  clients: PreflightClients,
  region: string,
  timeoutMs: number
): Promise<{ account: string; arn: string }> {
  try {
    const { Account, Arn } = await clients
      .sts(region)
      .send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) });
    if (!Account || !Arn) throw new Error('STS returned no identity');
    return { account: Account, arn: Arn };
  } catch (err) {
    const e = err as Error;
    const why =
      e.name === 'TimeoutError' || e.name === 'AbortError'
        ? `STS did not answer within ${seconds(timeoutMs)}`
        : e.message;
    throw new Error(
      `preflight needs AWS credentials (the default chain: AWS_PROFILE, aws sso login, aws configure, environment variables): ${why}`,
      { cause: err }
    );
  }
}

/** Every AWS call preflight makes for `environment`, as IAM authorizes it (for policies and tests). */
export function preflightCalls(
  environment: Environment,
  qualifier = DEFAULT_BOOTSTRAP_QUALIFIER
): IamCall[] {
  const context: AwsCheckContext = {
    environment,
    clients: createPreflightClients(),
    qualifier,
    reservedConcurrency: {},
  };
  const calls = [
    // No permission is needed for it, and no policy can deny it (STS API Reference).
    { action: 'sts:GetCallerIdentity', resource: '*' },
    ...awsChecks(context).flatMap((t) => t.calls),
  ];
  context.clients.destroy();
  const unique = new Map(calls.map((c) => [`${c.action} ${c.resource}`, c]));
  return [...unique.values()];
}

/**
 * Checks, read-only and with the caller's credentials, what a deploy of `environment` needs:
 * the account, CDK bootstrap in every region it uses, Local Zone opt-in, instance types and
 * certificates of satellites, Lambda concurrency, the token issuer, and the permission to
 * invoke the orchestrator. Checks run concurrently (bounded), each with its own timeout; one
 * failing never stops the others.
 */
export async function runPreflight(
  environment: Environment,
  options: PreflightOptions = {}
): Promise<PreflightReport> {
  const clients = options.clients ?? createPreflightClients();
  const timeoutMs = options.timeoutMs ?? 10_000;
  try {
    const caller = await callerIdentity(clients, environment.homeRegion, timeoutMs);
    const account: PreflightCheck =
      caller.account === environment.account
        ? { id: 'account', status: 'ok', message: `credentials belong to ${caller.account}` }
        : {
            id: 'account',
            status: 'fail',
            message: `credentials belong to ${caller.account}, but ${environment.name} deploys to ${environment.account}; the checks below looked at ${caller.account}`,
            fix: `use credentials for account ${environment.account} (e.g. AWS_PROFILE)`,
          };
    const tasks: CheckTask[] = [
      ...awsChecks({
        environment,
        clients,
        qualifier: options.qualifier ?? DEFAULT_BOOTSTRAP_QUALIFIER,
        reservedConcurrency: options.reservedConcurrency ?? {},
      }),
      {
        id: 'issuer',
        calls: [],
        run: (signal) => checkIssuer(environment.auth.issuer, { fetch: options.fetch, signal }),
      },
    ];
    const checks = await bounded(
      tasks.map((task) => () => settle(task, timeoutMs)),
      options.concurrency ?? 4
    );
    return {
      environment: environment.name,
      account: environment.account,
      caller: caller.arn,
      checks: [account, ...checks],
    };
  } finally {
    if (!options.clients) clients.destroy();
  }
}

/** What `orbit preflight` prints, and how many checks failed (the exit code). */
export interface PreflightOutput extends Output {
  readonly failed: number;
}

/** The report for people (a table, each fix under its line) and for `--json` (the checks). */
export function preflightOutput(report: PreflightReport): PreflightOutput {
  const count = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length;
  const where = (c: PreflightCheck) =>
    c.location
      ? `${c.location} (${c.region})`
      : (c.region ?? (c.id === 'account' ? report.account : '-'));
  const lines = table(
    ['status', 'check', 'where', 'message'],
    report.checks.map((c) => [c.status, c.id, where(c), c.message])
  ).split('\n');
  const text = [
    `preflight of ${report.environment} (account ${report.account}) as ${report.caller}`,
    '',
    lines[0],
    ...report.checks.flatMap((c, i) => [
      lines[i + 1] as string,
      ...(c.fix && c.status !== 'ok' ? [`        fix: ${c.fix}`] : []),
    ]),
    '',
    `${count('fail')} failed, ${count('warn')} to look at, ${count('ok')} ok`,
  ].join('\n');
  const data = report.checks.map((c) => ({
    id: c.id,
    region: c.region ?? null,
    location: c.location ?? null,
    status: c.status,
    message: c.message,
    fix: c.fix ?? null,
  }));
  return { text, data, failed: count('fail') };
}

/** The bootstrap qualifier the CDK app uses: `@aws-cdk/core:bootstrapQualifier` in cdk.json, else the default. */
export function bootstrapQualifier(dir = process.cwd()): string {
  const file = path.join(dir, 'cdk.json');
  if (!existsSync(file)) return DEFAULT_BOOTSTRAP_QUALIFIER;
  const context = (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> })
    .context;
  const qualifier = context?.['@aws-cdk/core:bootstrapQualifier'];
  return typeof qualifier === 'string' ? qualifier : DEFAULT_BOOTSTRAP_QUALIFIER;
}

/** `npx orbit preflight --env NAME`. */
export async function preflight(env: string | undefined): Promise<PreflightOutput> {
  if (!env) throw new Error('preflight checks an AWS environment: name it with --env NAME');
  const environment = loadEnvironment({ env });
  return preflightOutput(await runPreflight(environment, { qualifier: bootstrapQualifier() }));
}
