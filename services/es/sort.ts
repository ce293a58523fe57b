// Sorting as Elasticsearch does it: `sort` clauses (field, _score, _doc, _shard_doc) with order, missing
// (_last/_first/a value), unmapped_type, mode and format; sort values as the hits carry them (dates and numbers as
// numbers, a missing number as Long.MAX_VALUE/Long.MIN_VALUE, a missing keyword as null); search_after comparison.
import { failedToParseDate, formatDate, parseDate } from './dates.js';
import { EsError, illegalArgument, parsingError } from './errors.js';
import type { Snapshot } from './index.js';
import type { LeafField, LeafValue } from './mapping.js';

export interface SortClause {
  field: string;
  desc: boolean;
  /** '_last', '_first' or a value used for documents without one. */
  missing: unknown;
  unmappedType?: string;
  mode?: 'min' | 'max' | 'sum' | 'avg' | 'median';
  format?: string;
}

/** One matching document. */
export interface Candidate {
  /** Position of its snapshot in the search's snapshot list. */
  s: number;
  seq: number;
  score: number;
  keys?: SortKey[];
}

/** null: a missing keyword; numbers include ±Infinity for missing numbers and dates. */
export type SortKey = number | string | null;

/** Long.MAX_VALUE and Long.MIN_VALUE, kept exact on the wire (see json.ts). */
export const LONG_MAX = 9223372036854775807n;
export const LONG_MIN = -9223372036854775808n;

export function parseSort(spec: unknown): SortClause[] {
  if (spec === undefined || spec === null) return [];
  const list = Array.isArray(spec) ? spec : [spec];
  return list.map((item): SortClause => {
    if (typeof item === 'string') {
      const [field, order] = item.split(':');
      return { field, desc: order ? order === 'desc' : field === '_score', missing: '_last' };
    }
    if (typeof item !== 'object' || item === null) throw parsingError(`[sort] failed to parse field [sort]`);
    const entries = Object.entries(item as Record<string, unknown>);
    if (entries.length !== 1)
      throw parsingError(`[sort] failed to parse field [sort]: expected one field per sort clause`);
    const [field, opts] = entries[0];
    if (typeof opts === 'string') {
      if (opts !== 'asc' && opts !== 'desc') throw illegalArgument(`Unknown SortOrder [${opts}]`);
      return { field, desc: opts === 'desc', missing: '_last' };
    }
    const o = (opts ?? {}) as Record<string, unknown>;
    const order = o.order === undefined ? (field === '_score' ? 'desc' : 'asc') : String(o.order);
    if (order !== 'asc' && order !== 'desc') throw illegalArgument(`Unknown SortOrder [${order}]`);
    const mode = o.mode as SortClause['mode'];
    if (mode !== undefined && !['min', 'max', 'sum', 'avg', 'median'].includes(mode))
      throw illegalArgument(`Unknown SortMode [${String(mode)}]`);
    return {
      field,
      desc: order === 'desc',
      missing: o.missing ?? '_last',
      unmappedType: o.unmapped_type as string | undefined,
      mode,
      format: o.format as string | undefined,
    };
  });
}

export const TEXT_FIELDDATA = (field: string) =>
  illegalArgument(
    `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`,
  );

/** Checks the sort fields against every snapshot's mapping (errors Elasticsearch raises per shard). */
export function checkSortFields(clauses: SortClause[], snapshots: Snapshot[], pit: boolean): void {
  for (const c of clauses) {
    if (c.field === '_shard_doc' && !pit)
      throw illegalArgument('[_shard_doc] sort field cannot be used without [point in time]');
    if (c.field.startsWith('_')) continue;
    for (const s of snapshots) {
      const leaf = s.index.leaves.get(c.field);
      if (!leaf) {
        if (c.unmappedType === undefined && !s.index.columns.has(c.field))
          throw new EsError(400, 'query_shard_exception', `No mapping found for [${c.field}] in order to sort on`, {
            index_uuid: s.index.uuid,
            index: s.index.name,
          });
      } else if (leaf.kind === 'text') {
        throw TEXT_FIELDDATA(c.field);
      }
    }
  }
}

function missingKey(c: SortClause, numeric: boolean, leaf: LeafField | undefined): SortKey {
  if (c.missing === '_last' || c.missing === '_first') {
    if (!numeric) return null;
    const last = c.missing === '_last';
    return last !== c.desc ? Infinity : -Infinity;
  }
  return toKey(c.missing, leaf);
}

function toKey(v: unknown, leaf: LeafField | undefined): SortKey {
  if (v === null || v === undefined) return null;
  if (leaf?.kind === 'date') {
    const t = typeof v === 'number' ? v : parseDate(v, leaf.format);
    return Number.isNaN(t) ? Number(v) : t;
  }
  if (leaf?.kind === 'number' || leaf?.kind === 'boolean') {
    if (v === true) return 1;
    if (v === false) return 0;
    return Number(v);
  }
  return typeof v === 'number' ? v : String(v);
}

const isNumericLeaf = (leaf: LeafField | undefined, unmappedType?: string) =>
  leaf
    ? leaf.kind === 'number' || leaf.kind === 'date' || leaf.kind === 'boolean'
    : !!unmappedType && unmappedType !== 'keyword';

/** Several values of one document reduced to one sort key (`mode`; min for ascending, max for descending). */
function reduceValues(values: LeafValue[], cl: SortClause, numeric: boolean): SortKey {
  const mode = cl.mode ?? (cl.desc ? 'max' : 'min');
  if (!numeric) {
    const strs = values.map(String).sort();
    return mode === 'max' ? strs[strs.length - 1] : strs[0];
  }
  const nums = values as number[];
  switch (mode) {
    case 'max':
      return nums.reduce((a, b) => (b > a ? b : a));
    case 'sum':
      return nums.reduce((a, b) => a + b, 0);
    case 'avg':
      return nums.reduce((a, b) => a + b, 0) / nums.length;
    case 'median': {
      const sorted = [...nums].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
    default:
      return nums.reduce((a, b) => (b < a ? b : a));
  }
}

/**
 * A function giving the sort keys of a document, with each clause's column looked up once per snapshot (a search
 * may key hundreds of thousands of hits).
 */
export function sortKeyer(
  clauses: SortClause[],
  snapshots: Snapshot[],
  pitShardBase: (s: number) => number,
): ((c: Candidate) => SortKey[]) & { first: (c: Candidate) => SortKey } {
  const perSnapshot = snapshots.map((snap, s) =>
    clauses.map((cl): ((c: Candidate) => SortKey) => {
      switch (cl.field) {
        case '_score':
          return (c) => c.score;
        case '_doc':
          return (c) => c.seq;
        case '_shard_doc': {
          const base = pitShardBase(s);
          return (c) => base + c.seq;
        }
      }
      const leaf = snap.index.leaves.get(cl.field);
      const numeric = isNumericLeaf(leaf, cl.unmappedType);
      const missing = missingKey(cl, numeric, leaf);
      const cells = snap.index.columns.get(cl.field)?.values;
      if (!cells) return () => missing;
      return (c) => {
        const cell = cells[c.seq];
        if (cell === undefined) return missing;
        if (!Array.isArray(cell)) return cell;
        return cell.length === 0 ? missing : cell.length === 1 ? cell[0] : reduceValues(cell, cl, numeric);
      };
    }),
  );
  const keyer = (c: Candidate) => {
    const fns = perSnapshot[c.s];
    const keys = new Array<SortKey>(fns.length);
    for (let i = 0; i < fns.length; i++) keys[i] = fns[i](c);
    return keys;
  };
  return Object.assign(keyer, { first: (c: Candidate): SortKey => perSnapshot[c.s][0](c) });
}

/** Compares two key lists in sort order; ties go to snapshot then sequence order. */
export function compareCandidates(clauses: SortClause[]): (a: Candidate, b: Candidate) => number {
  return (a, b) => {
    const ka = a.keys as SortKey[];
    const kb = b.keys as SortKey[];
    for (let i = 0; i < clauses.length; i++) {
      const d = compareKey(ka[i], kb[i], clauses[i]);
      if (d !== 0) return d;
    }
    return a.s - b.s || a.seq - b.seq;
  };
}

export function compareKey(x: SortKey, y: SortKey, c: SortClause): number {
  if (x === y) return 0;
  if (x === null || y === null) {
    // A missing keyword goes last (or first) whatever the order.
    const last = c.missing !== '_first';
    return x === null ? (last ? 1 : -1) : last ? -1 : 1;
  }
  const d = x < y ? -1 : x > y ? 1 : 0;
  return c.desc ? -d : d;
}

/** search_after values as sort keys of the same kinds (a Long.MAX_VALUE read back as a double is +Infinity). */
export function afterKeys(after: unknown, clauses: SortClause[], snapshots: Snapshot[]): SortKey[] {
  if (!Array.isArray(after)) throw parsingError('[search_after] must be an array');
  if (after.length !== clauses.length)
    throw illegalArgument(`search_after has ${after.length} value(s) but sort has ${clauses.length}.`);
  return after.map((v, i) => {
    const c = clauses[i];
    if (c.field === '_score' || c.field === '_doc' || c.field === '_shard_doc') return Number(v);
    const leaf = snapshots.map((s) => s.index.leaves.get(c.field)).find((l) => l !== undefined);
    const numeric = isNumericLeaf(leaf, c.unmappedType);
    if (v === null) return numeric ? (c.desc ? -Infinity : Infinity) : null;
    if (numeric) {
      let n = typeof v === 'number' ? v : Number(v);
      if (leaf?.kind === 'date' && typeof v === 'string' && (Number.isNaN(n) || c.format)) {
        // A formatted sort value comes back in the sort's format (or the field's).
        const format = c.format ?? leaf.format;
        n = parseDate(v, format);
        if (Number.isNaN(n)) throw failedToParseDate(v, format);
      }
      if (Number.isNaN(n)) throw illegalArgument(`Failed to parse search_after value for field [${c.field}].`);
      if (n >= 9.2e18) return Infinity;
      if (n <= -9.2e18) return -Infinity;
      return n;
    }
    return String(v);
  });
}

/** A sort key as it appears in a hit's `sort` array. */
export function wireSortValue(k: SortKey, c: SortClause, snapshots: Snapshot[]): unknown {
  if (k === Infinity) return LONG_MAX;
  if (k === -Infinity) return LONG_MIN;
  if (c.format && typeof k === 'number' && !c.field.startsWith('_')) {
    const leaf = snapshots.map((s) => s.index.leaves.get(c.field)).find((l) => l !== undefined);
    if (leaf?.kind === 'date') return formatDate(k, c.format);
  }
  return k;
}
