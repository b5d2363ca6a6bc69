/** Options of {@link withBackoff}. */
export interface BackoffOptions {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Wait before the second attempt; each later wait doubles it. */
  readonly baseDelayMs: number;
  /** The longest wait between two attempts. @default 5000 */
  readonly maxDelayMs?: number;
  /** Whether an error is worth another attempt. @default - every error is */
  readonly retryable?: (err: unknown) => boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` until it succeeds or `attempts` are spent, waiting exponentially longer
 * between attempts; the last error is thrown as it is.
 */
export async function withBackoff<T>(
  work: (attempt: number) => Promise<T>,
  options: BackoffOptions
): Promise<T> {
  const maxDelayMs = options.maxDelayMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      if (attempt >= options.attempts || !(options.retryable?.(err) ?? true)) throw err;
      await sleep(Math.min(maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

/**
 * Runs `work` over every item, at most `limit` at a time. After a failure no further item
 * starts; the first error is thrown once the running ones have settled, so that nothing is
 * still writing when the caller cleans up.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { readonly err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.err;
  return results;
}
