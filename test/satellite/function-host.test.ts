import { AsyncLocalStorage } from 'node:async_hooks';
import {
  InvocationTimeoutError,
  invoke as invokeWith,
  type LambdaHandler,
  type LoadedFunction,
  prepareConcurrentInvocations,
} from '../../lib/satellite/function-host';

// The library builds its AsyncLocalStorage through a dynamic import, which jest's module
// system cannot run: the same store, built directly, installed as the library installs it.
jest.mock('@aws/lambda-invoke-store', () => ({
  InvokeStore: {
    getInstanceAsync: async () => {
      const als = new AsyncLocalStorage<Record<symbol, unknown>>();
      const store = {
        run: (context: Record<symbol, unknown>, f: () => unknown) => als.run(context, f),
        getRequestId: () => als.getStore()?.[Symbol.for('_AWS_LAMBDA_REQUEST_ID')] ?? '-',
      };
      const g = globalThis as { awslambda?: { InvokeStore?: unknown } };
      g.awslambda ??= {};
      g.awslambda.InvokeStore ??= store;
      return g.awslambda.InvokeStore;
    },
  },
}));

const fn = (handler: LambdaHandler, timeoutMs = 5000): LoadedFunction => ({
  name: 'echo',
  qualifiedName: 'orbit-test-echo',
  handler,
  timeoutMs,
  memoryMb: 128,
});

const event = {} as Parameters<LambdaHandler>[0];

/** Every outcome an invocation reported, in order. */
function outcomesOf(f: LoadedFunction, requestId: string) {
  const outcomes: { answered?: unknown; failed?: unknown }[] = [];
  const settled = new Promise<void>((resolve) => {
    invokeWith(
      f,
      event,
      requestId,
      (answered) => {
        outcomes.push({ answered });
        resolve();
      },
      (failed) => {
        outcomes.push({ failed });
        resolve();
      }
    );
  });
  return { outcomes, settled };
}

/** The invocation as a promise: its result, or its error as a rejection. */
async function invoke(f: LoadedFunction, requestId: string): Promise<unknown> {
  const { outcomes, settled } = outcomesOf(f, requestId);
  await settled;
  const [outcome] = outcomes;
  if (outcome && 'failed' in outcome) throw outcome.failed;
  return outcome?.answered;
}

/** What Powertools reads the request id through: the global the runtime installs. */
const storeRequestId = () =>
  (
    globalThis as { awslambda?: { InvokeStore?: { getRequestId(): string } } }
  ).awslambda?.InvokeStore?.getRequestId();

describe('invoking a function', () => {
  beforeAll(() => prepareConcurrentInvocations());

  it('hands the handler a Lambda-like context with its request id and remaining time', async () => {
    const context = (await invoke(
      fn(async (_e, c) => ({ ...c, remaining: c.getRemainingTimeInMillis() })),
      'req-1'
    )) as Record<string, unknown>;
    expect(context).toMatchObject({
      awsRequestId: 'req-1',
      functionName: 'orbit-test-echo',
      invokedFunctionArn: 'arn:orbit:satellite:orbit-test-echo',
      memoryLimitInMB: '128',
      logGroupName: '/orbit/orbit-test-echo',
    });
    expect(context.remaining).toBeGreaterThan(0);
    expect(context.remaining).toBeLessThanOrEqual(5000);
  });

  it('rejects with the error of a handler that throws before it returns a promise', async () => {
    const failing = fn(() => {
      throw new Error('boom');
    });
    await expect(invoke(failing, 'req-2')).rejects.toThrow('boom');
  });

  it('answers a handler that never settles with a timeout, no sooner than its timeout', async () => {
    const started = Date.now();
    const hung = fn(() => new Promise(() => undefined), 200);
    await expect(invoke(hung, 'req-3')).rejects.toBeInstanceOf(InvocationTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200 - 5);
  });

  it('reports a handler that settles after its timeout once, as the timeout', async () => {
    let finish: (value: unknown) => void = () => undefined;
    const late = fn(() => new Promise((resolve) => (finish = resolve)), 60);
    const { outcomes, settled } = outcomesOf(late, 'req-late');
    await settled;
    finish({ statusCode: 200 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.failed).toBeInstanceOf(InvocationTimeoutError);
  });

  it('answers a handler that returns a value rather than a promise', async () => {
    const sync = fn((() => ({ statusCode: 204 })) as unknown as LambdaHandler);
    await expect(invoke(sync, 'req-sync')).resolves.toEqual({ statusCode: 204 });
  });

  it('keeps each concurrent invocation in its own store scope once the store is read', async () => {
    // A bundle with Powertools reads the store when it loads; this stands for it.
    storeRequestId();
    const slow = fn(async () => {
      const before = storeRequestId();
      await new Promise((resolve) => setImmediate(resolve));
      return [before, storeRequestId()];
    });
    const results = await Promise.all(['a', 'b', 'c'].map((id) => invoke(slow, `req-${id}`)));
    expect(results).toEqual([
      ['req-a', 'req-a'],
      ['req-b', 'req-b'],
      ['req-c', 'req-c'],
    ]);
  });
});
