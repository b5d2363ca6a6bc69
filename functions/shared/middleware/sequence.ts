import type { MiddlewareObj, Request } from '@middy/core';

type Step<E, R> = (request: Request<E, R>) => unknown;

/** Whether a step's outcome has to be awaited: only promises (and other thenables) do. */
const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';

/**
 * Runs the steps of one phase as middy would: in turn, stopping at the first that gives a
 * response early (returns one, or sets `request.earlyResponse`). A step that returns no
 * promise is not awaited, so a phase of synchronous steps finishes in the same tick.
 */
function runPhase<E, R>(steps: readonly Step<E, R>[]): Step<E, R> | undefined {
  if (steps.length === 0) return undefined;
  const from = (i: number, request: Request<E, R>): unknown => {
    for (; i < steps.length; i++) {
      const outcome = (steps[i] as Step<E, R>)(request);
      if (isThenable(outcome)) {
        return Promise.resolve(outcome).then((value) =>
          value !== undefined || Object.hasOwn(request, 'earlyResponse')
            ? value
            : from(i + 1, request)
        );
      }
      if (outcome !== undefined || Object.hasOwn(request, 'earlyResponse')) return outcome;
    }
    return undefined;
  };
  return (request) => from(0, request);
}

/**
 * Several middlewares registered as one, in the same order and with middy's semantics:
 * `before`s in the order given, `after`s and `onError`s in reverse (so the last one given,
 * the error handler, still maps an error first). middy awaits every middleware of every
 * phase, one microtask each even when it returns nothing; Orbit's stack runs eight of its
 * own per request, nearly all synchronous, so it registers them through this.
 */
export function sequence<E, R>(middlewares: readonly MiddlewareObj<E, R>[]): MiddlewareObj<E, R> {
  const steps = (phase: 'before' | 'after' | 'onError', reverse: boolean) => {
    const list = middlewares.flatMap((m) => (m[phase] ? [m[phase] as Step<E, R>] : []));
    return runPhase(reverse ? list.reverse() : list);
  };
  const before = steps('before', false);
  const after = steps('after', true);
  const onError = steps('onError', true);
  return {
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
    ...(onError ? { onError } : {}),
  } as MiddlewareObj<E, R>;
}
