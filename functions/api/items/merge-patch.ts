import { memberOf, setMember } from './own-members';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Applies a JSON merge patch (RFC 7396) to `target`: objects merge key by key, `null`
 * removes a key, anything else (arrays included) replaces. Neither argument is modified.
 * Every member name is data, `__proto__` included: it merges like any other member and
 * never reaches a prototype.
 */
export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  // Spreading copies own members as own properties, `__proto__` included.
  const result: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setMember(result, key, applyMergePatch(memberOf(result, key), value));
  }
  return result;
}
