/**
 * How the CLI fails: a usage error (the command line is wrong: exit code 2) or a failure (the
 * command ran and could not do its job: exit code 1), written to stderr as one line, or with
 * `--json` as a problem object (RFC 9457's members, as the functions answer errors).
 */

/** Exit code of a command line the CLI cannot run as written (gh, wrangler, POSIX utilities). */
export const USAGE_EXIT = 2;
/** Exit code of a command that ran and failed. */
export const FAILURE_EXIT = 1;

/** The command line is wrong: an unknown command or flag, a missing or malformed argument. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** What `--json` writes to stderr when a command fails. */
export interface CliProblem {
  /** `urn:orbit:problem:cli-usage` or `urn:orbit:problem:cli-failure`. */
  readonly type: string;
  readonly title: string;
  /** The message, as the text line gives it (without the `orbit: ` prefix). */
  readonly detail: string;
  /** The process's exit code: 2 for usage errors, 1 for failures. */
  readonly exitCode: number;
}

/** The exit code an error ends the CLI with. */
export const exitCodeOf = (err: unknown): number =>
  err instanceof UsageError ? USAGE_EXIT : FAILURE_EXIT;

/** The problem object of an error, for `--json`. */
export function problemOf(err: unknown): CliProblem {
  const usage = err instanceof UsageError;
  return {
    type: `urn:orbit:problem:${usage ? 'cli-usage' : 'cli-failure'}`,
    title: usage ? 'usage error' : 'command failed',
    detail: err instanceof Error ? err.message : String(err),
    exitCode: exitCodeOf(err),
  };
}
