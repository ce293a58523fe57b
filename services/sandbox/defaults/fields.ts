// Reading request bodies before validation: any field may hold anything, so every read is checked. `isObject` is
// the defaulting code's test (`typeof v === 'object'`, lists included), so defaults land where they always did.

/** An object's fields, as they came. */
export type Fields = Record<string, unknown>;

export const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null;

/** The value at a path of nested objects; undefined where the path leaves them. */
export const at = (v: unknown, ...path: string[]): unknown =>
  path.reduce((cur, k) => (isObject(cur) ? cur[k] : undefined), v);

/** A value that should be a list, as one: empty when it is not. */
export const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Whether a value is one of the allowed strings. */
export const oneOf = (allowed: readonly string[], v: unknown): boolean => typeof v === 'string' && allowed.includes(v);
