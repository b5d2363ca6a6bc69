/** What a guarded log stream has lost: writes its reader never got. */
export interface GuardedOutput {
  /** Writes dropped so far: after the reader went away, or while it lagged too far behind. */
  readonly dropped: number;
  /** Why the stream takes no more writes (`EPIPE`, …), once it failed. */
  readonly failure?: string;
}

/** Options of {@link guardLogOutput}. */
export interface GuardLogOutputOptions {
  /**
   * Writes that would buffer more than this many bytes are dropped: a reader that stopped
   * reading costs lines, never memory. @default 1 MiB
   */
  readonly maxBufferedBytes?: number;
  /** Told once, when the stream fails for good (its reader went away). @default - nothing */
  readonly onFailure?: (why: string) => void;
}

type WriteCallback = (err?: Error | null) => void;

/**
 * Makes a process's log stream (`process.stdout`, `process.stderr`) unable to hurt the
 * process: once the stream fails (EPIPE when the reader of a pipe exits, a journald socket
 * that closed) every later write is dropped and counted, and its error is handled, so it
 * never becomes an uncaught exception (which, logged to a failed stderr, fails again, and so
 * on without end). A reader that stops reading is not waited for either. Writes still report
 * success to their callers, so nobody waits for a `drain` that never comes.
 */
export function guardLogOutput(
  stream: NodeJS.WriteStream,
  options: GuardLogOutputOptions = {}
): GuardedOutput {
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const state: { dropped: number; failure?: string } = { dropped: 0 };
  const fail = (err: unknown) => {
    if (state.failure !== undefined) return;
    state.failure = (err as NodeJS.ErrnoException)?.code ?? String(err);
    options.onFailure?.(state.failure);
  };
  const write = stream.write.bind(stream) as (
    chunk: unknown,
    encoding?: BufferEncoding,
    cb?: WriteCallback
  ) => boolean;
  stream.on('error', fail);
  stream.write = ((
    chunk: unknown,
    encoding?: BufferEncoding | WriteCallback,
    cb?: WriteCallback
  ): boolean => {
    const callback = typeof encoding === 'function' ? encoding : cb;
    if (
      state.failure !== undefined ||
      stream.destroyed ||
      stream.writableLength > maxBufferedBytes
    ) {
      state.dropped++;
      if (callback) process.nextTick(callback);
      return true;
    }
    try {
      // A failed write reaches its callback (counted there) and the 'error' listener.
      return write(chunk, typeof encoding === 'function' ? undefined : encoding, (err) => {
        if (err) {
          state.dropped++;
          fail(err);
        }
        callback?.(null);
      });
    } catch (err) {
      state.dropped++;
      fail(err);
      if (callback) process.nextTick(callback);
      return true;
    }
  }) as typeof stream.write;
  return state;
}
