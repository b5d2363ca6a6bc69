import type { Json } from './merge-patch';
import { setMember } from './own-members';

// Member names stored escaped: `__proto__` behind any number of `~`. The SDK's marshalling
// (`util-dynamodb` builds maps by assignment) and DynamoDB-compatible local stores drop a
// map key named `__proto__`, so it is stored as `~__proto__`; a client's own `~__proto__`
// becomes `~~__proto__`, so every name reads back as it was sent.
const ESCAPED = /^~*__proto__$/;

const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function mapNames(value: Json, rename: (name: string) => string): Json {
  if (Array.isArray(value)) return value.map((v) => mapNames(v, rename));
  if (!isObject(value)) return value;
  const out: Record<string, Json> = {};
  for (const [name, member] of Object.entries(value)) {
    setMember(out, rename(name), mapNames(member, rename));
  }
  return out;
}

/** An item's value as written to the table: member names DynamoDB paths would lose, escaped. */
export const toStoredValue = (value: Record<string, Json>): Record<string, Json> =>
  mapNames(value, (name) => (ESCAPED.test(name) ? `~${name}` : name)) as Record<string, Json>;

/** An item's value as read from the table, every member name as the client sent it. */
export const fromStoredValue = (stored: Record<string, Json>): Record<string, Json> =>
  mapNames(stored, (name) =>
    ESCAPED.test(name) && name.startsWith('~') ? name.slice(1) : name
  ) as Record<string, Json>;
