/**
 * How long a runtime told to stop (SIGTERM, or its supervisor gone) keeps answering the
 * requests in flight before it exits anyway. Below systemd's `TimeoutStopSec` (90 s by
 * default), so the runtime, not SIGKILL, decides what is cut.
 */
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 10;

/** The variable that sets the grace period, in seconds. */
export const SHUTDOWN_GRACE_ENV = 'ORBIT_SHUTDOWN_GRACE_SECONDS';

/** Reads the grace period; throws naming the variable when it is not a number of seconds. */
export function shutdownGraceSecondsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[SHUTDOWN_GRACE_ENV];
  if (raw === undefined || raw === '') return DEFAULT_SHUTDOWN_GRACE_SECONDS;
  const seconds = Number(raw);
  if (!(Number.isFinite(seconds) && seconds >= 0)) {
    throw new Error(
      `${SHUTDOWN_GRACE_ENV}=${raw} is not a number of seconds (default ${DEFAULT_SHUTDOWN_GRACE_SECONDS})`
    );
  }
  return seconds;
}
