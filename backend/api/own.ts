/**
 * Lookups by keys that come from requests. `key in obj` and `obj[key]` see
 * Object.prototype (`constructor`, `toString`, `__proto__`), so a user-chosen
 * input name could reach an inherited function; these only see own entries.
 */

/** Whether `record` has its own entry `key`. */
export const has = (record: object, key: string): boolean => Object.hasOwn(record, key);

/** `record[key]` when it is an own entry, else undefined. */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
