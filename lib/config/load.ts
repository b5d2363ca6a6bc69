import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import {
  type Environment,
  type EnvironmentInput,
  environmentSchema,
} from '../../core/environment/schema';
import { dev } from './environments/dev';
import { prod } from './environments/prod';
import { staging } from './environments/staging';
import { type ConfigIssue, checkEnvironment } from './rules';

/** The environments shipped with Orbit, by name. */
export const ENVIRONMENTS: Readonly<Record<string, EnvironmentInput>> = { dev, staging, prod };

/**
 * An environment that cannot be deployed. Its message lists every problem, each naming the
 * field and the fix, so the CDK app can print it as it is and exit non-zero.
 */
export class ConfigError extends Error {
  /** The problems, one per field. */
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], options?: ErrorOptions) {
    const lines = issues.map((i) => `${i.path || '(environment)'}: ${i.message}`);
    // One problem reads best on one line; several, one per line.
    super(
      lines.length === 1
        ? `Invalid Orbit environment ${source}: ${lines[0]}`
        : `Invalid Orbit environment ${source}:\n${lines.map((l) => `  - ${l}`).join('\n')}`,
      options
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

function pathOf(segments: readonly PropertyKey[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i === 0 ? '' : '.'}${String(s)}`))
    .join('');
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({
    path: pathOf(issue.path),
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; check the spelling against core/environment/schema.ts.`
        : issue.code === 'invalid_type' && / received undefined$/.test(issue.message)
          ? `is required (expected ${issue.expected}); core/environment/schema.ts says what it holds.`
          : issue.message,
  }));
}

/**
 * Parses and checks an environment: the schema first (types, formats, defaults), then the
 * rules that relate fields to each other. Throws a `ConfigError` listing every problem.
 *
 * @param source how to name the input in messages, e.g. `'prod'` or a file path
 */
export function parseEnvironment(input: unknown, source: string): Environment {
  const parsed = environmentSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(source, zodIssues(parsed.error));
  const issues = checkEnvironment(parsed.data);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return parsed.data;
}

/** How to pick an environment: a shipped one by name, or a JSON file anywhere on disk. */
export interface LoadEnvironmentOptions {
  /** Name of a shipped environment. @default 'dev' */
  readonly env?: string;
  /** Path of a JSON environment file; wins over `env` when both are given. */
  readonly configPath?: string;
}

/** Loads the environment the user asked for (`-c env=NAME` or `-c config=PATH`). */
export function loadEnvironment(options: LoadEnvironmentOptions = {}): Environment {
  if (options.configPath !== undefined) {
    const file = path.resolve(options.configPath);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(
        `from ${file}`,
        [{ path: '', message: `cannot read it as JSON (${(err as Error).message}).` }],
        { cause: err }
      );
    }
    return parseEnvironment(raw, `from ${file}`);
  }
  const name = options.env ?? 'dev';
  const input = ENVIRONMENTS[name];
  if (!input) {
    throw new ConfigError(`'${name}'`, [
      {
        path: 'env',
        message: `no environment named '${name}'; use one of ${Object.keys(ENVIRONMENTS).join(', ')}, or give a JSON file (cdk: -c config=PATH, npm start: --config PATH).`,
      },
    ]);
  }
  return parseEnvironment(input, `'${name}'`);
}
