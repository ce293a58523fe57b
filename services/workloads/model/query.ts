// Index-driven list queries over a cache (CacheReader): candidates come from the smallest index selection, the other
// filters are checked per candidate, sorted arrays are cached per (selection, sort) and rebuilt lazily when one of
// their buckets changes, and pages are cut by binary search on an opaque cursor (sort key + namespace + name), so
// pages stay stable while the cache changes.
import { badUserInput } from '../../common/errors.js';
import type { CacheReader } from '../clients/indexed-cache.js';
import type { StoredObject } from '../../common/k8s/object.js';

export type Direction = 'ASC' | 'DESC';

/** A union of buckets of one index ("namespace in (a, b)"). */
export interface Selection {
  index: string;
  values: string[];
}

export interface SortSpec {
  /** Identifies the sort key function (part of the cache key). */
  id: string;
  key: (o: StoredObject) => string;
  /** The key can change while the object stays (e.g. status): rebuild on content changes, not only membership. */
  volatile: boolean;
}

export interface Entry {
  sort: string;
  ns: string;
  name: string;
  key: string;
  /** The cache holding the object (objects are looked up at page time, so entries survive object updates). */
  cache: CacheReader;
}

export interface Page<T = StoredObject> {
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
export const compareEntries = (
  a: { sort: string; ns: string; name: string },
  b: { sort: string; ns: string; name: string },
) => cmp(a.sort, b.sort) || cmp(a.name, b.name) || cmp(a.ns, b.ns);

export const sortByName: SortSpec = { id: 'NAME', key: (o) => o.metadata.name, volatile: false };
export const sortByCreated: SortSpec = {
  id: 'CREATED_AT',
  key: (o) => o.metadata.creationTimestamp ?? '',
  volatile: false,
};

const MEMO_LIMIT = 256;
interface Memo {
  version: string;
  /** Per selected bucket, the sequence number the entries reflect. */
  seqs: number[];
  entries: Entry[];
  byKey: Map<string, Entry>;
}
const memos = new WeakMap<CacheReader, Map<string, Memo>>();

/** Counters for the report and metrics: sorted views built from scratch, patched incrementally, served as they were. */
export const queryStats = { sortedBuilds: 0, sortedPatches: 0, sortedHits: 0, scanned: 0 };

function selectionSize(cache: CacheReader, s: Selection): number {
  let n = 0;
  for (const v of s.values) n += cache.indexState(s.index, v).size;
  return n;
}

/** Index of the first entry not less than `e` (binary search). */
function lowerBound(entries: Entry[], e: { sort: string; ns: string; name: string }): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEntries(entries[mid], e) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The entries of a selection, sorted ascending. Cached per (selection, sort): served as is while its buckets are
 * unchanged; patched in place from the buckets' change logs when a few members came or went (binary search and
 * splice, no re-sort); rebuilt only when the logs do not reach back far enough, many members changed, or the sort key
 * itself is volatile (status) and a member changed.
 */
export function sortedSelection(cache: CacheReader, sel: Selection, sort: SortSpec): Entry[] {
  const values = [...new Set(sel.values)].sort();
  const memoKey = `${sel.index}\u0000${values.join('\u0001')}\u0000${sort.id}`;
  const states = values.map((v) => cache.indexState(sel.index, v));
  const seqs = states.map((b) => (sort.volatile ? b.content : b.members));
  const version = seqs.join(',');
  let memos1 = memos.get(cache);
  if (!memos1) memos.set(cache, (memos1 = new Map()));
  const hit = memos1.get(memoKey);
  if (hit && hit.version === version) {
    queryStats.sortedHits++;
    return hit.entries;
  }
  let memo: Memo | undefined;
  if (hit && !sort.volatile) memo = patch(cache, sel, sort, hit, values);
  if (memo) queryStats.sortedPatches++;
  else {
    queryStats.sortedBuilds++;
    memo = build(cache, sel.index, values, sort);
  }
  memo.version = version;
  memo.seqs = seqs;
  memos1.delete(memoKey);
  memos1.set(memoKey, memo);
  if (memos1.size > MEMO_LIMIT) memos1.delete(memos1.keys().next().value as string);
  return memo.entries;
}

function build(cache: CacheReader, index: string, values: string[], sort: SortSpec): Memo {
  const byKey = new Map<string, Entry>();
  for (const v of values) {
    for (const key of cache.indexKeys(index, v)) {
      if (byKey.has(key)) continue; // a union may hold an object twice
      const obj = cache.getByKey(key);
      if (!obj) continue;
      byKey.set(key, { sort: sort.key(obj), ns: obj.metadata.namespace ?? '', name: obj.metadata.name, key, cache });
    }
  }
  const entries = [...byKey.values()].sort(compareEntries);
  return { version: '', seqs: [], entries, byKey };
}

function patch(cache: CacheReader, sel: Selection, sort: SortSpec, memo: Memo, values: string[]): Memo | undefined {
  const changed = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    // Undefined: emptied and dropped, re-created, or the log does not reach back.
    const keys = cache.indexChangesSince(sel.index, values[i], memo.seqs[i]);
    if (!keys) return undefined;
    for (const key of keys) changed.add(key);
  }
  if (changed.size > 64 && changed.size > memo.entries.length / 8) return undefined;
  for (const key of changed) {
    const inSelection = sel.values.some((v) => cache.inIndex(sel.index, v, key));
    const obj = inSelection ? cache.getByKey(key) : undefined;
    const old = memo.byKey.get(key);
    const next = obj && { sort: sort.key(obj), ns: obj.metadata.namespace ?? '', name: obj.metadata.name, key, cache };
    if (old && next && compareEntries(old, next) === 0) continue;
    if (old) {
      const at = lowerBound(memo.entries, old);
      if (memo.entries[at]?.key !== key) return undefined; // should not happen; rebuild rather than guess
      memo.entries.splice(at, 1);
      memo.byKey.delete(key);
    }
    if (next) {
      memo.entries.splice(lowerBound(memo.entries, next), 0, next);
      memo.byKey.set(key, next);
    }
  }
  return memo;
}

export interface Query {
  cache: CacheReader;
  /** Index selections, intersected. None: every object. An empty `values` list selects nothing. */
  selections: Selection[];
  /** The filters no index answers. */
  predicate?: (o: StoredObject) => boolean;
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
  return entries.filter(
    (e) =>
      others.every((s) => s.values.some((v) => q.cache.inIndex(s.index, v, e.key))) &&
      (!q.predicate || q.predicate(q.cache.getByKey(e.key)!)),
  );
}

export function encodeCursor(e: { sort: string; ns: string; name: string }): string {
  return Buffer.from(JSON.stringify([e.sort, e.ns, e.name])).toString('base64url');
}

export function decodeCursor(cursor: string): { sort: string; ns: string; name: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string'))
      return { sort: v[0], ns: v[1], name: v[2] };
  } catch {
    // fall through
  }
  throw badUserInput(`invalid cursor ${JSON.stringify(cursor)}`, { argument: 'after' });
}

export function validateFirst(first: number | null | undefined): void {
  if (first !== null && first !== undefined && first < 0)
    throw badUserInput(`first must be >= 0, got ${first}`, { argument: 'first' });
}

/** Binary search: the first index whose entry, compared with the cursor, satisfies `past` (entries are sorted). */
function firstIndexWhere(
  entries: Entry[],
  cursor: ReturnType<typeof decodeCursor>,
  past: (cmp: number) => boolean,
): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (past(compareEntries(entries[mid], cursor))) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The arguments every list takes: a page, and an order whose field picks the sort. */
export interface ListArgs {
  first?: number | null;
  after?: string | null;
  orderBy?: { field: string; direction: Direction } | null;
}

/** The sort an orderBy field names: STATUS where the kind has one (`byStatus`), CREATED_AT, else by name. */
export function sortFor(field: string | undefined, byStatus?: SortSpec): SortSpec {
  if (field === 'STATUS' && byStatus) return byStatus;
  return field === 'CREATED_AT' ? sortByCreated : sortByName;
}

/** The page of sorted entries a list's arguments ask for. */
export function pageOf(entries: Entry[], args: ListArgs): Page {
  return paginate(entries, { first: args.first, after: args.after, direction: args.orderBy?.direction });
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
    const node = e.cache.getByKey(e.key);
    if (node) edges.push({ cursor: encodeCursor(e), node });
  };
  if (!desc) {
    // Ascending: start at the first entry after the cursor.
    let i = args.after ? firstIndexWhere(entries, decodeCursor(args.after), (cmp) => cmp > 0) : 0;
    for (; i < n && edges.length < first; i++) push(entries[i]);
    hasNextPage = i < n;
  } else {
    // Descending: start at the last entry before the cursor.
    let i = args.after ? firstIndexWhere(entries, decodeCursor(args.after), (cmp) => cmp >= 0) - 1 : n - 1;
    for (; i >= 0 && edges.length < first; i--) push(entries[i]);
    hasNextPage = i >= 0;
  }
  return {
    edges,
    pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1].cursor : null },
    totalCount: n,
  };
}
