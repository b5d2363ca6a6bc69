import { applyMergePatch, type Json } from '../../../functions/api/items/merge-patch';

describe('applyMergePatch', () => {
  // The examples of RFC 7396, appendix A.
  it.each<[Json, Json, Json]>([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('patches %j with %j into %j', (target, patch, expected) => {
    const before = JSON.stringify(target);
    expect(applyMergePatch(target, patch)).toEqual(expected);
    expect(JSON.stringify(target)).toBe(before);
  });
});

describe('applyMergePatch with a member named __proto__', () => {
  const json = (text: string) => JSON.parse(text) as Json;
  const own = (value: Json, name: string) => Object.getOwnPropertyDescriptor(value, name)?.value;

  it.each([
    ['adds it as data', '{"a":1}', '{"__proto__":{"x":1}}', '{"a":1,"__proto__":{"x":1}}'],
    [
      'merges into it',
      '{"__proto__":{"x":1}}',
      '{"__proto__":{"y":2}}',
      '{"__proto__":{"x":1,"y":2}}',
    ],
    ['removes it with null', '{"__proto__":{"x":1},"a":1}', '{"__proto__":null}', '{"a":1}'],
    ['replaces it', '{"__proto__":[1]}', '{"__proto__":"s"}', '{"__proto__":"s"}'],
    ['adds it nested', '{"n":{}}', '{"n":{"__proto__":{"x":1}}}', '{"n":{"__proto__":{"x":1}}}'],
    // Without the member, the patch must not merge into Object.prototype's members.
    ['starts from nothing', '{}', '{"__proto__":{"toString":1}}', '{"__proto__":{"toString":1}}'],
  ])('%s (RFC 7396)', (_, target, patch, expected) => {
    const result = applyMergePatch(json(target), json(patch));
    expect(result).toEqual(json(expected));
    expect(JSON.stringify(result)).toBe(JSON.stringify(json(expected)));
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });

  it('never touches a prototype', () => {
    const result = applyMergePatch({}, json('{"__proto__":{"polluted":true}}')) as Record<
      string,
      Json
    >;
    expect(own(result, '__proto__')).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((result as Record<string, unknown>).polluted).toBeUndefined();
  });
});
