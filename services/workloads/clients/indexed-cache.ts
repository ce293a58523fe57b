// The indexed cache every workloads read is served from, with a lister-style read side (CacheReader) in the manner of
// client-go's Indexer and Lister: objects by key, lists, lists by index, the keys and values of an index. The maps
// stay private; readers get copies or single answers, never a live collection.
import { rvAtLeast } from '../../common/k8s/resource-version.js';
import type { StoredObject } from '../../common/k8s/object.js';
import { keyOf } from './kinds.js';

export type IndexFn = (o: StoredObject) => string[];

/**
 * Where a bucket (the keys indexed under one value) stands, copied when asked. `members` is the cache-wide sequence
 * number of its last membership change (never reused, even across re-created buckets), `content` that of its last
 * membership or member change; its change log is complete for every sequence number after `logFrom`.
 */
export interface IndexState {
  size: number;
  members: number;
  content: number;
  logFrom: number;
}

/**
 * The read side of a cache, as client-go's Indexer and Lister offer it. Whatever it returns is the caller's: arrays
 * are fresh, objects are the cache's (read them, never change them).
 */
export interface CacheReader {
  /** The kind, or for custom objects `group/version/plural`. */
  readonly kind: string;
  readonly size: number;
  /** Bumped on every change. */
  readonly version: number;
  /** Highest resourceVersion seen through list or watch. */
  readonly lastResourceVersion: string;
  get(namespace: string | undefined, name: string): StoredObject | undefined;
  /** By `namespace/name` (`name` alone when cluster-scoped), the key the index functions give. */
  getByKey(key: string): StoredObject | undefined;
  list(): StoredObject[];
  /** The objects indexed under a value (client-go's ByIndex). */
  byIndex(index: string, value: string): StoredObject[];
  /** The keys indexed under a value (client-go's IndexKeys); index `all`, value '' holds every key. */
  indexKeys(index: string, value: string): string[];
  /** Whether a key is indexed under a value. */
  inIndex(index: string, value: string, key: string): boolean;
  /** The values an index holds, without emptied buckets (client-go's ListIndexFuncValues). */
  indexValues(index: string): string[];
  indexState(index: string, value: string): IndexState;
  /**
   * The keys whose membership under a value changed after `since` (a `members` or `logFrom` of indexState), oldest
   * first, a key once per change; undefined when the change log does not reach back that far or the bucket was
   * dropped since.
   */
  indexChangesSince(index: string, value: string, since: number): string[] | undefined;
  /** Resolves true once `check` holds (re-evaluated at each change), false after the timeout. */
  waitFor(check: () => boolean, timeoutMs: number): Promise<boolean>;
}

interface Bucket {
  keys: Set<string>;
  members: number;
  content: number;
  /**
   * Recent membership changes (key added or removed, at seq), as two parallel arrays (no object per entry); complete
   * for every seq > logFrom.
   */
  logSeqs: number[];
  logKeys: string[];
  logFrom: number;
}

const LOG_LIMIT = 4096;

/**
 * The objects of one kind, by `namespace/name`, with secondary indexes (index name → value → keys). Each bucket
 * carries version counters, so derived data (sorted arrays in the model) can be cached and invalidated lazily. The
 * informer writes (upsert, delete, seen); everyone else reads through CacheReader.
 *
 * As client-go's threadSafeMap, it keeps no per-object record of the values an object was indexed under: an update or
 * delete computes them again from the stored object, so index functions must be pure functions of the object (and
 * stored objects are never changed in place). That record cost more memory per object than most objects' own fields.
 */
export class IndexedCache implements CacheReader {
  private readonly objects = new Map<string, StoredObject>();
  private readonly indexes = new Map<string, Map<string, Bucket>>();
  private readonly indexFnList: [string, IndexFn][];
  private lastRv = '';
  private waiters = new Set<() => void>();
  private changes = 0;
  private seq = 0;

  constructor(
    readonly kind: string,
    indexFns: Record<string, IndexFn>,
  ) {
    this.indexFnList = Object.entries(indexFns);
    for (const name of ['all', ...Object.keys(indexFns)]) this.indexes.set(name, new Map());
  }

  get size(): number {
    return this.objects.size;
  }

  get version(): number {
    return this.changes;
  }

  get lastResourceVersion(): string {
    return this.lastRv;
  }

  get(namespace: string | undefined, name: string): StoredObject | undefined {
    return this.objects.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  list(): StoredObject[] {
    return [...this.objects.values()];
  }

  byIndex(index: string, value: string): StoredObject[] {
    const out: StoredObject[] = [];
    for (const key of this.bucket(index, value).keys) {
      const o = this.objects.get(key);
      if (o) out.push(o);
    }
    return out;
  }

  indexKeys(index: string, value: string): string[] {
    return [...this.bucket(index, value).keys];
  }

  inIndex(index: string, value: string, key: string): boolean {
    return this.bucket(index, value).keys.has(key);
  }

  indexValues(index: string): string[] {
    return [...(this.indexes.get(index)?.keys() ?? [])];
  }

  indexState(index: string, value: string): IndexState {
    const b = this.bucket(index, value);
    return { size: b.keys.size, members: b.members, content: b.content, logFrom: b.logFrom };
  }

  indexChangesSince(index: string, value: string, since: number): string[] | undefined {
    const b = this.bucket(index, value);
    if (b.members === since) return [];
    if (b.members < since || b.logFrom > since) return undefined;
    let from = b.logSeqs.length;
    while (from > 0 && b.logSeqs[from - 1] > since) from--;
    return b.logKeys.slice(from);
  }

  /** The bucket of an index value (an empty one when nothing is indexed under it). */
  private bucket(index: string, value: string): Bucket {
    const idx = this.indexes.get(index);
    if (!idx) throw new Error(`no index ${index} on ${this.kind}`);
    return idx.get(value) ?? EMPTY_BUCKET;
  }

  upsert(o: StoredObject): void {
    const key = keyOf(o);
    const previous = this.objects.get(key);
    this.objects.set(key, o);
    const all = previous ? undefined : this.add('all', '', key);
    if (previous && all === undefined) this.touch('all', '', key);
    for (const [name, fn] of this.indexFnList) {
      const values = dedupe(fn(o));
      const old = previous ? dedupe(fn(previous)) : NONE;
      for (const v of old) if (!values.includes(v)) this.remove(name, v, key);
      for (const v of values) {
        if (old.includes(v)) this.touch(name, v, key);
        else this.add(name, v, key);
      }
    }
    this.seen(o.metadata.resourceVersion);
  }

  delete(o: StoredObject): void {
    const key = keyOf(o);
    // The values it is indexed under are those of the object stored, not of the one the DELETED event carries.
    const stored = this.objects.get(key);
    if (!stored) return;
    this.objects.delete(key);
    this.remove('all', '', key);
    for (const [name, fn] of this.indexFnList) for (const v of dedupe(fn(stored))) this.remove(name, v, key);
    this.seen(o.metadata.resourceVersion);
  }

  seen(rv: string | undefined): void {
    this.changes++;
    if (rv && (!this.lastRv || !rvAtLeast(this.lastRv, rv))) this.lastRv = rv;
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once `check` holds (re-evaluated at each change), false after the timeout. */
  waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve(ok);
      };
      const waiter = () => {
        if (check()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private add(index: string, value: string, key: string): void {
    const idx = this.indexes.get(index)!;
    let b = idx.get(value);
    if (!b) {
      b = { keys: new Set(), members: 0, content: 0, logSeqs: [], logKeys: [], logFrom: this.seq };
      idx.set(value, b);
    }
    b.keys.add(key);
    this.logChange(b, key);
  }

  private logChange(b: Bucket, key: string): void {
    const seq = ++this.seq;
    b.members = seq;
    b.content = seq;
    b.logSeqs.push(seq);
    b.logKeys.push(key);
    if (b.logSeqs.length > LOG_LIMIT) {
      b.logFrom = b.logSeqs[LOG_LIMIT / 2 - 1];
      b.logSeqs.splice(0, LOG_LIMIT / 2);
      b.logKeys.splice(0, LOG_LIMIT / 2);
    }
  }

  private touch(index: string, value: string, _key: string): void {
    const b = this.indexes.get(index)!.get(value);
    if (b) b.content = ++this.seq;
  }

  private remove(index: string, value: string, key: string): void {
    const idx = this.indexes.get(index)!;
    const b = idx.get(value);
    if (!b) return;
    b.keys.delete(key);
    this.logChange(b, key);
    if (b.keys.size === 0) idx.delete(value);
  }
}

const EMPTY_BUCKET: Bucket = Object.freeze({
  keys: new Set<string>(),
  members: 0,
  content: 0,
  logSeqs: [],
  logKeys: [],
  logFrom: 0,
}) as Bucket;
const NONE: readonly string[] = [];
const dedupe = (values: string[]) => (values.length < 2 ? values : [...new Set(values)]);

export const byNamespace: IndexFn = (o) => (o.metadata.namespace ? [o.metadata.namespace] : []);
export const byLabel: IndexFn = (o) => Object.entries(o.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`);
export const byLabelKey: IndexFn = (o) => Object.keys(o.metadata.labels ?? {});
export const byOwner: IndexFn = (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid);
