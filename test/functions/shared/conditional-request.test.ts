import { ValidationError } from '../../../core/errors';
import {
  evaluatePreconditions,
  parseEntityTagCondition,
  preconditionsOf,
  strongMatch,
  weakMatch,
} from '../../../functions/shared/conditional-request';

const strong = (opaque: string) => ({ opaque, weak: false });
const weak = (opaque: string) => ({ opaque, weak: true });

describe('entity tags (RFC 9110 §8.8.3)', () => {
  it.each([
    ['*', '*'],
    ['  *  ', '*'],
    ['"xyzzy"', [strong('xyzzy')]],
    ['W/"xyzzy"', [weak('xyzzy')]],
    ['""', [strong('')]],
    [
      '"xyzzy", "r2d2xxxx", "c3piozzzz"',
      [strong('xyzzy'), strong('r2d2xxxx'), strong('c3piozzzz')],
    ],
    ['W/"a",\t"b"', [weak('a'), strong('b')]],
    // §5.6.1: a recipient accepts empty list elements.
    ['"a", , "b",', [strong('a'), strong('b')]],
    // A comma inside the quotes belongs to the opaque tag (etagc allows %x21 / %x23-7E).
    ['"a,b"', [strong('a,b')]],
    ['', []],
  ])('parses %j', (value, expected) => {
    expect(parseEntityTagCondition('If-Match', value)).toEqual(expected);
  });

  it.each([
    ['an unquoted tag', 'xyzzy'],
    ['a lower-case weak prefix (W/ is case-sensitive)', 'w/"a"'],
    ['* inside a list', '"a", *'],
    ['two tags without a comma', '"a" "b"'],
    ['an unterminated tag', '"abc'],
    ['a double quote inside a tag', '"a"b"'],
    ['a space inside a tag', '"a b"'],
  ])('throws a 400 naming the header for %s', (_, value) => {
    expect(() => parseEntityTagCondition('If-None-Match', value)).toThrow(ValidationError);
    try {
      parseEntityTagCondition('If-None-Match', value);
    } catch (err) {
      expect((err as ValidationError).statusCode).toBe(400);
      expect((err as ValidationError).message).toMatch(/^If-None-Match must be \*/);
      expect((err as ValidationError).issues).toEqual([
        expect.objectContaining({ in: 'header', field: 'if-none-match' }),
      ]);
    }
  });

  // The comparison table of §8.8.3.2.
  it.each([
    [weak('1'), '1', false, true],
    [weak('2'), '1', false, false],
    [strong('1'), '1', true, true],
    [strong('2'), '1', false, false],
  ])('compares %j with the strong ETag "%s": strong %s, weak %s', (tag, current, s, w) => {
    expect(strongMatch(tag, current)).toBe(s);
    expect(weakMatch(tag, current)).toBe(w);
  });

  it('reads both headers, and nothing when neither is sent', () => {
    expect(preconditionsOf({})).toEqual({});
    expect(preconditionsOf({ 'if-match': '"a"', 'if-none-match': '*' })).toEqual({
      ifMatch: [strong('a')],
      ifNoneMatch: '*',
    });
  });
});

describe('evaluating preconditions (RFC 9110 §13.2.2)', () => {
  const existing = { exists: true, etag: 'cur' };
  const missing = { exists: false };
  const p = (headers: Record<string, string>) => preconditionsOf(headers);

  it.each<[string, Record<string, string>, typeof existing | typeof missing, string, unknown]>([
    // §13.1.1 If-Match: strong comparison; `*` needs a current representation.
    ['If-Match with the current tag', { 'if-match': '"cur"' }, existing, 'PUT', true],
    ['If-Match listing the current tag', { 'if-match': '"old", "cur"' }, existing, 'PUT', true],
    ['If-Match with a stale tag', { 'if-match': '"old"' }, existing, 'PUT', 412],
    ['If-Match with the weak current tag', { 'if-match': 'W/"cur"' }, existing, 'PUT', 412],
    ['If-Match: * on an existing item', { 'if-match': '*' }, existing, 'DELETE', true],
    ['If-Match: * on a missing item', { 'if-match': '*' }, missing, 'PUT', 412],
    ['If-Match on a missing item, GET', { 'if-match': '"cur"' }, missing, 'GET', 412],
    ['an empty If-Match list', { 'if-match': '' }, existing, 'PUT', 412],
    // §13.1.2 If-None-Match: weak comparison; false → 304 on GET/HEAD, 412 otherwise.
    ['If-None-Match with the current tag, GET', { 'if-none-match': '"cur"' }, existing, 'GET', 304],
    [
      'If-None-Match with the current tag, HEAD',
      { 'if-none-match': '"cur"' },
      existing,
      'HEAD',
      304,
    ],
    [
      'If-None-Match with the weak current tag, GET',
      { 'if-none-match': 'W/"cur"' },
      existing,
      'GET',
      304,
    ],
    ['If-None-Match with the current tag, PUT', { 'if-none-match': '"cur"' }, existing, 'PUT', 412],
    [
      'If-None-Match with the weak current tag, DELETE',
      { 'if-none-match': 'W/"x", W/"cur"' },
      existing,
      'DELETE',
      412,
    ],
    ['If-None-Match with other tags', { 'if-none-match': '"a", W/"b"' }, existing, 'PUT', true],
    ['If-None-Match: * on an existing item, PUT', { 'if-none-match': '*' }, existing, 'PUT', 412],
    ['If-None-Match: * on an existing item, GET', { 'if-none-match': '*' }, existing, 'GET', 304],
    ['If-None-Match: * on a missing item', { 'if-none-match': '*' }, missing, 'PUT', true],
    [
      'If-None-Match with a tag on a missing item',
      { 'if-none-match': '"cur"' },
      missing,
      'GET',
      true,
    ],
    // §13.2.2 order: If-Match first; a false If-Match is 412 even when If-None-Match is false too.
    [
      'a false If-Match and a false If-None-Match, GET',
      { 'if-match': '"old"', 'if-none-match': '"cur"' },
      existing,
      'GET',
      412,
    ],
    [
      'a true If-Match and a false If-None-Match, GET',
      { 'if-match': '"cur"', 'if-none-match': '"cur"' },
      existing,
      'GET',
      304,
    ],
    [
      'a true If-Match and a true If-None-Match, PUT',
      { 'if-match': '"cur"', 'if-none-match': '"old"' },
      existing,
      'PUT',
      true,
    ],
  ])('%s: %j', (_, headers, selected, method, expected) => {
    const outcome = evaluatePreconditions(p(headers), selected, method);
    if (expected === true) expect(outcome).toEqual({ holds: true });
    else expect(outcome).toMatchObject({ holds: false, status: expected });
  });

  it('names the header whose condition is false, If-Match before If-None-Match', () => {
    expect(
      evaluatePreconditions(p({ 'if-match': '"old"', 'if-none-match': '*' }), existing, 'PUT')
    ).toEqual({ holds: false, status: 412, header: 'If-Match' });
    expect(evaluatePreconditions(p({ 'if-none-match': '*' }), existing, 'PATCH')).toEqual({
      holds: false,
      status: 412,
      header: 'If-None-Match',
    });
  });

  it('never matches a listed tag against a representation without an ETag; * still matches', () => {
    expect(evaluatePreconditions(p({ 'if-match': '"x"' }), { exists: true }, 'GET')).toMatchObject({
      status: 412,
    });
    expect(evaluatePreconditions(p({ 'if-match': '*' }), { exists: true }, 'GET')).toEqual({
      holds: true,
    });
  });
});
