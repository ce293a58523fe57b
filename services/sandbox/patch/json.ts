// JSON helpers of the patch engine.
import { badRequest } from '../errors.js';
import type { Json, JsonObject, KObject } from '../types.js';

export type { Json } from '../types.js';
export type JsonMap = JsonObject;

export const isMap = (v: unknown): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (!isMap(a) || !isMap(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
}

export function parseJsonBody(body: string, badMessage?: string): Json {
  try {
    return JSON.parse(body) as Json;
  } catch (e) {
    throw badRequest(badMessage ?? `error decoding patch: ${(e as Error).message}`);
  }
}

/** A patch may leave anything at the root; the store needs an object with metadata. */
export function asObject(v: Json | undefined): KObject {
  if (!isMap(v)) throw badRequest('the patched object is not a JSON object');
  if (!isMap(v.metadata)) v.metadata = {};
  // An object with a metadata map: what the store checks from here on (kind, apiVersion, names) it checks itself.
  return v as unknown as KObject;
}

/** A stored object as the JSON it is (the patch engine reads it as plain JSON). */
export const jsonOf = (o: KObject): JsonMap => o as unknown as JsonMap;
