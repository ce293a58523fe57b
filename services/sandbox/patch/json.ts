// JSON helpers of the patch engine.
import { badRequest } from '../errors.js';
import type { KObject, Loose } from '../types.js';

export type JsonMap = Record<string, Loose>;

export const isMap = (v: unknown): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (!isMap(a) || !isMap(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
}

export function parseJsonBody(body: string, badMessage?: string): Loose {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw badRequest(badMessage ?? `error decoding patch: ${(e as Error).message}`);
  }
}

/** A patch may leave anything at the root; the store needs an object with metadata. */
export function asObject(v: Loose): KObject {
  if (!isMap(v)) throw badRequest('the patched object is not a JSON object');
  if (!isMap(v.metadata)) v.metadata = {};
  return v as KObject;
}
