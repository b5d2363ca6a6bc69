import { ValidationError } from '../../../core/errors';

/** Where a listing stopped: the last id returned, bound to the prefix it was listed with. */
interface CursorState {
  readonly after: string;
  readonly prefix: string;
}

/** Makes the opaque `cursor` a client passes back to get the next page. */
export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify({ v: 1, a: state.after, p: state.prefix })).toString(
    'base64url'
  );
}

const invalid = (why: string) =>
  new ValidationError(`cursor is not valid: ${why}; start again without a cursor`, [
    { in: 'query', field: 'cursor', message: why },
  ]);

/**
 * Reads a cursor back. A cursor from another listing (another prefix), or one that was
 * altered, is a 400, never a page from somewhere else.
 */
export function decodeCursor(cursor: string, prefix: string): CursorState {
  let parsed: { v?: unknown; a?: unknown; p?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('it is not a cursor this API issued');
  }
  if (parsed?.v !== 1 || typeof parsed.a !== 'string' || typeof parsed.p !== 'string') {
    throw invalid('it is not a cursor this API issued');
  }
  if (parsed.p !== prefix || !parsed.a.startsWith(prefix)) {
    throw invalid('it belongs to a listing with another prefix');
  }
  return { after: parsed.a, prefix };
}
