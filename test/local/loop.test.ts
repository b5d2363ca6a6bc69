import { runLoop } from '../../lib/local/loop';

describe('the orchestrator loop of the local fleet', () => {
  let passes: number[];
  let finishPass: () => void;
  const pass = async (n: number) => {
    passes.push(n);
    await new Promise<void>((resolve) => {
      finishPass = resolve;
    });
  };

  beforeEach(() => {
    jest.useFakeTimers();
    passes = [];
  });
  afterEach(() => jest.useRealTimers());

  it('runs a pass every interval, at a fixed rate: a pass does not stretch the interval', async () => {
    const loop = runLoop(1, pass);
    await jest.advanceTimersByTimeAsync(999);
    expect(passes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(passes).toEqual([0]);
    await jest.advanceTimersByTimeAsync(300);
    finishPass();
    await jest.advanceTimersByTimeAsync(699);
    expect(passes).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1);
    expect(passes).toEqual([0, 1]);
    finishPass();
    await loop.stop();
  });

  it('runs a pass at once when woken, and one more after a pass that wakes arrived during', async () => {
    const loop = runLoop(60, pass);
    loop.wake();
    expect(passes).toEqual([0]);
    loop.wake();
    loop.wake();
    expect(passes).toEqual([0]);
    finishPass();
    await jest.advanceTimersByTimeAsync(0);
    expect(passes).toEqual([0, 1]);
    finishPass();
    // Then back to the interval, counted from the last pass.
    await jest.advanceTimersByTimeAsync(59_999);
    expect(passes).toEqual([0, 1]);
    await jest.advanceTimersByTimeAsync(1);
    expect(passes).toEqual([0, 1, 2]);
    finishPass();
    await loop.stop();
  });

  it('waits for the pass in progress when stopped, and runs none after, woken or not', async () => {
    const loop = runLoop(1, pass);
    loop.wake();
    let stopped = false;
    const stopping = loop.stop().then(() => {
      stopped = true;
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finishPass();
    await stopping;
    loop.wake();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(passes).toEqual([0]);
    expect(jest.getTimerCount()).toBe(0);
  });
});
