/**
 * Member access on JSON objects that holds for every member name. `JSON.parse` makes a
 * member named `__proto__` an own property, but assigning `obj['__proto__'] = v` calls the
 * prototype setter instead (the member is lost, or the object's prototype changes), and
 * reading `obj['__proto__']` of an object without that member returns `Object.prototype`.
 * These helpers define and read own properties only, so such a member is plain data.
 */

/** Sets `name` on `target` as an own, enumerable data property, whatever the name. */
export function setMember(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** The own member `name` of `target`, `undefined` when it has none (never an inherited one). */
export function memberOf<T>(target: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(target, name) ? target[name] : undefined;
}
