import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { sequence } from '../../../functions/shared/middleware/sequence';

type Log = string[];

const step = (log: Log, name: string, options: { async?: boolean; fail?: boolean } = {}) => {
  const record = (phase: string) => () => {
    log.push(`${name}.${phase}`);
    if (options.fail && phase === 'before') throw new Error(`${name} failed`);
    return options.async ? Promise.resolve() : undefined;
  };
  return {
    before: record('before'),
    after: record('after'),
    onError: record('onError'),
  } satisfies MiddlewareObj;
};

async function run(stack: (log: Log) => MiddlewareObj[], combine: boolean) {
  const log: Log = [];
  const middlewares = stack(log);
  const handler = middy(async () => {
    log.push('handler');
    return 'ok';
  });
  if (combine) handler.use(sequence(middlewares));
  else for (const m of middlewares) handler.use(m);
  handler.use({
    onError: (request) => {
      request.response = 'mapped';
    },
  });
  const result = await handler({}, {} as Context).catch((err: Error) => err.message);
  return { result, log };
}

describe('a sequence of middlewares', () => {
  it.each([
    ['synchronous', (log: Log) => [step(log, 'a'), step(log, 'b'), step(log, 'c')]],
    ['mixed', (log: Log) => [step(log, 'a'), step(log, 'b', { async: true }), step(log, 'c')]],
    ['failing', (log: Log) => [step(log, 'a'), step(log, 'b', { fail: true }), step(log, 'c')]],
  ])(
    'runs %s middlewares in the order and with the outcome middy gives them one by one',
    async (_, stack) => {
      expect(await run(stack, true)).toEqual(await run(stack, false));
    }
  );

  it('stops a phase at a middleware that answers early, as middy does', async () => {
    const early = (log: Log) => [
      step(log, 'a'),
      { before: () => 'early' } as MiddlewareObj,
      step(log, 'c'),
    ];
    const combined = await run(early, true);
    expect(combined).toEqual(await run(early, false));
    expect(combined.result).toBe('early');
  });
});
