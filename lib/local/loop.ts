/**
 * Runs `pass` every `seconds` (at a fixed rate), never two at once. `wake` runs a pass now, or right after the
 * one in progress (wakes during a pass coalesce into one); `stop` waits for the pass running.
 */
export function runLoop(
  seconds: number,
  pass: (n: number) => Promise<void>
): { wake: () => void; stop: () => Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let n = 0;
  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(tick, ms);
  };
  function tick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    const started = Date.now();
    running = pass(n++)
      .catch((err) => console.error(`orbit: orchestrator pass failed: ${(err as Error).message}`))
      .finally(() => {
        running = undefined;
        // A fixed rate, as a schedule in AWS keeps: a pass's own time does not stretch the interval.
        schedule(again ? 0 : Math.max(0, seconds * 1000 - (Date.now() - started)));
        again = false;
      });
  }
  schedule(seconds * 1000);
  return {
    wake: tick,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
