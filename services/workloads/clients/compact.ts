// What the caches keep of an object and how, applied to every object on its way in (LIST items and watch events), as
// client-go informers' transforms do: metadata.managedFields goes (nothing reads it; `yaml` and the JSON results leave
// it out anyway), a Secret loses its values (kinds.ts sanitize), and equal strings are held once. JSON.parse gives every
// string value its own copy: at 10,000 pods the same timestamps, images, label values, container names and condition
// types were held tens of thousands of times over. Every other field stays as it came, so every schema field (and
// `yaml`) still reads the whole object.
//
// Not done: sharing equal small objects too (a toleration, a port, requests and limits, an owner reference) saved
// another 0.6 KB per sandbox pod, but keying them cost as much CPU as parsing the LIST (bench/README.md).
import type { StoredObject } from '../../common/k8s/object.js';

/**
 * One copy of equal values, by key. Bounded: two generations of at most `limit` entries each; a key seen again moves
 * to the young one, and when that fills up the old one is dropped. What keeps recurring (constants, images, a
 * template's labels) stays shared; what was seen once (a deleted object's parts) is forgotten within two generations.
 */
export class SharedValues<T> {
  private young = new Map<string, T>();
  private old = new Map<string, T>();

  constructor(private readonly limit = 16_384) {}

  /** The value held for `key`, or `value`, which is held from now on. */
  share(key: string, value: T): T {
    let shared = this.young.get(key);
    if (shared !== undefined) return shared;
    shared = this.old.get(key);
    if (shared !== undefined) this.old.delete(key);
    else shared = value;
    if (this.young.size >= this.limit) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, shared);
    return shared;
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}

/** Equal strings, one copy. */
export class StringTable extends SharedValues<string> {
  intern(s: string): string {
    return this.share(s, s);
  }
}

/** Longer strings (a last-applied-configuration annotation, a certificate) are rarely equal: left as they are. */
const MAX_SHARED_LENGTH = 256;
/** Values that are unique per object or per change: sharing them would only fill the table. */
const UNIQUE_KEYS: ReadonlySet<string> = new Set(['uid', 'resourceVersion', 'containerID', 'podIP', 'ip']);

const STRINGS = new StringTable();

type Json = Record<string, unknown> | unknown[];

/** Replaces, in place, every string value under `v` by its shared copy (the shape of `v` does not change). */
function shareStrings(v: Json, t: StringTable): void {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'string') {
        if (x.length <= MAX_SHARED_LENGTH) v[i] = t.intern(x);
      } else if (x !== null && typeof x === 'object') shareStrings(x as Json, t);
    }
    return;
  }
  for (const k in v) {
    const x = v[k];
    if (typeof x === 'string') {
      if (x.length <= MAX_SHARED_LENGTH && !UNIQUE_KEYS.has(k)) v[k] = t.intern(x);
    } else if (x !== null && typeof x === 'object') shareStrings(x as Json, t);
  }
}

/**
 * The object as the caches keep it: without metadata.managedFields, its strings shared (but its name, uid and
 * resourceVersion, which are its own). Changes the object given (a fresh one from JSON.parse) and returns it, or a
 * copy whose metadata lacks managedFields.
 */
export function compactObject(o: StoredObject, t: StringTable = STRINGS): StoredObject {
  let out = o;
  if (o.metadata && 'managedFields' in o.metadata) {
    const { managedFields: _managed, ...metadata } = o.metadata;
    out = { ...o, metadata };
  }
  for (const k in out) {
    const x = out[k];
    if (typeof x === 'string') out[k] = t.intern(x);
    else if (x === null || typeof x !== 'object') continue;
    else if (k !== 'metadata') shareStrings(x as Json, t);
    else {
      const meta = x as Record<string, unknown>;
      for (const mk in meta) {
        const mx = meta[mk];
        if (typeof mx === 'string') {
          if (mk !== 'name' && mx.length <= MAX_SHARED_LENGTH && !UNIQUE_KEYS.has(mk)) meta[mk] = t.intern(mx);
        } else if (mx !== null && typeof mx === 'object') shareStrings(mx as Json, t);
      }
    }
  }
  return out;
}
