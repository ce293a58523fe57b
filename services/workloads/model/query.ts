// Index-driven list queries over an IndexedCache: candidates come from the smallest index selection, the other
// filters are checked per candidate, sorted arrays are cached per (selection, sort) and rebuilt lazily when one of
// their buckets changes, and pages are cut by binary search on an opaque cursor (sort key + namespace + name), so
// pages stay stable while the cache changes.
import { badUserInput } from '../../common/errors.js';
import type { IndexedCache, KubeObject } from '../clients/kube.js';

export type Direction = 'ASC' | 'DESC';

/** A union of buckets of one index ("namespace in (a, b)"). */
export interface Selection {
  index: string;
  values: string[];
}

export interface SortSpec {
  /** Identifies the sort key function (part of the cache key). */
  id: string;
  key: (o: KubeObject) => string;
  /** The key can change while the object stays (e.g. status): rebuild on content changes, not only membership. */
  volatile: boolean;
}

export interface Entry {
  sort: string;
  ns: string;
  name: string;
  key: string;
  /** The cache holding the object (objects are looked up at page time, so entries survive object updates). */
  cache: IndexedCache;
}

export interface Page<T = KubeObject> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  direction?: Direction | null;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const compareEntries = (a: { sort: string; ns: string; name: string }, b: { sort: string; ns: string; name: string }) =>
  cmp(a.sort, b.sort) || cmp(a.name, b.name) || cmp(a.ns, b.ns);

export const sortByName: SortSpec = { id: 'NAME', key: (o) => o.metadata.name, volatile: false };
export const sortByCreated: SortSpec = { id: 'CREATED_AT', key: (o) => o.metadata.creationTimestamp ?? '', volatile: false };

const MEMO_LIMIT = 256;
const memos = new WeakMap<IndexedCache, Map<string, { version: string; entries: Entry[] }>>();

/** Counters for the report and metrics: how often a sorted array was rebuilt vs. served from the memo. */
export const queryStats = { sortedBuilds: 0, sortedHits: 0, scanned: 0 };

function selectionSize(cache: IndexedCache, s: Selection): number {
  let n = 0;
  for (const v of s.values) n += cache.bucket(s.index, v).keys.size;
  return n;
}

/** The entries of a selection, sorted ascending; cached until one of its buckets changes. */
export function sortedSelection(cache: IndexedCache, sel: Selection, sort: SortSpec): Entry[] {
  const values = [...new Set(sel.values)].sort();
  const memoKey = `${sel.index}\u0000${values.join('\u0001')}\u0000${sort.id}`;
  const version = values.map((v) => {
    const b = cache.bucket(sel.index, v);
    return sort.volatile ? b.content : b.members;
  }).join(',');
  let memo = memos.get(cache);
  if (!memo) memos.set(cache, (memo = new Map()));
  const hit = memo.get(memoKey);
  if (hit && hit.version === version) {
    queryStats.sortedHits++;
    return hit.entries;
  }
  queryStats.sortedBuilds++;
  let entries: Entry[] = [];
  for (const v of values) {
    for (const key of cache.bucket(sel.index, v).keys) {
      const obj = cache.objects.get(key);
      if (!obj) continue;
      entries.push({ sort: sort.key(obj), ns: obj.metadata.namespace ?? '', name: obj.metadata.name, key, cache });
    }
  }
  if (values.length > 1) {
    // A union may hold an object twice (an object in two buckets of one index).
    const seen = new Set<string>();
    entries = entries.filter((e) => (seen.has(e.key) ? false : (seen.add(e.key), true)));
  }
  entries.sort(compareEntries);
  memo.delete(memoKey);
  memo.set(memoKey, { version, entries });
  if (memo.size > MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
  return entries;
}

export interface Query {
  cache: IndexedCache;
  /** Index selections, intersected. None: every object. An empty `values` list selects nothing. */
  selections: Selection[];
  /** The filters no index answers. */
  predicate?: (o: KubeObject) => boolean;
  sort: SortSpec;
}

/** Every matching entry, sorted ascending. Drives from the smallest selection; checks the rest per candidate. */
export function runQuery(q: Query): Entry[] {
  if (q.selections.some((s) => s.values.length === 0)) return [];
  const sized = q.selections.map((s) => ({ s, size: selectionSize(q.cache, s) })).sort((a, b) => a.size - b.size);
  const driver = sized[0]?.s ?? { index: 'all', values: [''] };
  const others = sized.slice(1).map(({ s }) => s);
  const entries = sortedSelection(q.cache, driver, q.sort);
  if (!others.length && !q.predicate) return entries;
  queryStats.scanned += entries.length;
  return entries.filter((e) => others.every((s) => s.values.some((v) => q.cache.bucket(s.index, v).keys.has(e.key))) && (!q.predicate || q.predicate(q.cache.objects.get(e.key)!)));
}

export function encodeCursor(e: { sort: string; ns: string; name: string }): string {
  return Buffer.from(JSON.stringify([e.sort, e.ns, e.name])).toString('base64url');
}

export function decodeCursor(cursor: string): { sort: string; ns: string; name: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string')) return { sort: v[0], ns: v[1], name: v[2] };
  } catch {
    // fall through
  }
  throw badUserInput(`invalid cursor ${JSON.stringify(cursor)}`, { argument: 'after' });
}

export function validateFirst(first: number | null | undefined): void {
  if (first !== null && first !== undefined && first < 0) throw badUserInput(`first must be >= 0, got ${first}`, { argument: 'first' });
}

/** One page of sorted entries after a cursor, in either direction; binary search, no scan. */
export function paginate(entries: Entry[], args: PageArgs): Page {
  validateFirst(args.first);
  const desc = args.direction === 'DESC';
  const n = entries.length;
  const first = args.first ?? n;
  const edges: Page['edges'] = [];
  let hasNextPage: boolean;
  const push = (e: Entry) => {
    const node = e.cache.objects.get(e.key);
    if (node) edges.push({ cursor: encodeCursor(e), node });
  };
  if (!desc) {
    let i = 0;
    if (args.after) {
      const c = decodeCursor(args.after);
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareEntries(entries[mid], c) <= 0) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    for (; i < n && edges.length < first; i++) push(entries[i]);
    hasNextPage = i < n;
  } else {
    let i = n - 1;
    if (args.after) {
      const c = decodeCursor(args.after);
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareEntries(entries[mid], c) < 0) lo = mid + 1;
        else hi = mid;
      }
      i = lo - 1;
    }
    for (; i >= 0 && edges.length < first; i--) push(entries[i]);
    hasNextPage = i >= 0;
  }
  return { edges, pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1].cursor : null }, totalCount: n };
}
