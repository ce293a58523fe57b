// Aggregations over the documents a search matched: date_histogram (fixed_interval, calendar_interval, offset,
// extended_bounds, hard_bounds, min_doc_count, order, keyed, format; `interval` refused as Elasticsearch 8 does),
// histogram, terms (size, order, min_doc_count, missing), filter, filters, missing, and the metrics cardinality,
// value_count, min, max, avg, sum, stats; sub-aggregations under every bucket.
import { formatDate, parseDate, resolveDateMath, roundDown } from './dates.js';
import { EsError, illegalArgument } from './errors.js';
import {
  CALENDAR,
  DATE_HISTOGRAM_FIELDS,
  addCalendar,
  parseFixed,
  parseOffset,
  suggest,
  xcontent,
  type Interval,
} from './intervals.js';
import { cellValues, type Snapshot } from './index.js';
import type { LeafField, LeafValue } from './mapping.js';
import { parseQuery, type Query } from './query-parse.js';
import { evaluate } from './query-eval.js';
import { TEXT_FIELDDATA, type Candidate } from './sort.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface AggSpec {
  name: string;
  type: string;
  body: Obj;
  meta?: unknown;
  subs: AggSpec[];
  /** Parsed parts some types need. */
  query?: Query;
  filters?: { key: string; query: Query }[];
  filtersKeyed?: boolean;
  interval?: Interval;
}

const TYPES = new Set([
  'date_histogram',
  'histogram',
  'terms',
  'filter',
  'filters',
  'missing',
  'cardinality',
  'value_count',
  'min',
  'max',
  'avg',
  'sum',
  'stats',
]);

const MAX_BUCKETS = 65536;

export function parseAggs(spec: unknown): AggSpec[] {
  if (spec === undefined || spec === null) return [];
  if (!isObj(spec))
    throw new EsError(400, 'parsing_exception', 'Aggregation definition must be an object', { line: 1, col: 1 });
  return Object.entries(spec).map(([name, def]) => parseAgg(name, def));
}

function parseAgg(name: string, def: unknown): AggSpec {
  if (!isObj(def))
    throw new EsError(
      400,
      'parsing_exception',
      `Expected [START_OBJECT] under [${name}], but got a [VALUE_STRING] in [${name}]`,
      { line: 1, col: 1 },
    );
  let type: string | undefined;
  let subs: AggSpec[] = [];
  let meta: unknown;
  for (const [k, v] of Object.entries(def)) {
    if (k === 'aggs' || k === 'aggregations') subs = parseAggs(v);
    else if (k === 'meta') meta = v;
    else if (type !== undefined) {
      throw new EsError(
        400,
        'parsing_exception',
        `Found two aggregation type definitions in [${name}]: [${type}] and [${k}]`,
        { line: 1, col: 1 },
      );
    } else type = k;
  }
  if (type === undefined)
    throw new EsError(400, 'parsing_exception', `Missing definition for aggregation [${name}]`, { line: 1, col: 1 });
  if (!TYPES.has(type))
    throw xcontent(
      `Unknown aggregation type [${type}]`,
      new EsError(400, 'named_object_not_found_exception', `[1:2] unknown field [${type}]`),
    );
  const body = def[type];
  if (!isObj(body))
    throw new EsError(
      400,
      'parsing_exception',
      `Expected [START_OBJECT] under [${type}], but got a [VALUE_STRING] in [${name}]`,
      { line: 1, col: 1 },
    );
  const agg: AggSpec = { name, type, body, subs, meta };
  switch (type) {
    case 'date_histogram': {
      for (const k of Object.keys(body))
        if (!DATE_HISTOGRAM_FIELDS.includes(k))
          throw xcontent(`[date_histogram] unknown field [${k}]${suggest(k, DATE_HISTOGRAM_FIELDS)}`);
      if (body.fixed_interval !== undefined && body.calendar_interval !== undefined)
        throw illegalArgument('Cannot use [fixed_interval] with [calendar_interval] configuration option.');
      if (body.fixed_interval !== undefined) agg.interval = { fixed: parseFixed(String(body.fixed_interval)) };
      else if (body.calendar_interval !== undefined) {
        const unit = CALENDAR[String(body.calendar_interval)];
        if (!unit)
          throw xcontent(
            '[date_histogram] failed to parse field [calendar_interval]',
            illegalArgument(
              `The supplied interval [${String(body.calendar_interval)}] could not be parsed as a calendar interval.`,
            ),
          );
        agg.interval = { calendar: unit };
      } else throw illegalArgument('Invalid interval specified, must be non-null and non-empty');
      if (body.time_zone !== undefined && !/^(UTC|Z|GMT|Etc\/UTC|[+-]00:?00)$/i.test(String(body.time_zone)))
        throw illegalArgument(
          `time_zone [${String(body.time_zone)}] is not supported by this stand-in: it works in UTC only`,
        );
      if (typeof body.field !== 'string')
        throw illegalArgument(`Required one of fields [field, script], but none were specified.`);
      break;
    }
    case 'histogram':
      if (typeof body.interval !== 'number' || body.interval <= 0)
        throw xcontent(
          '[histogram] failed to parse field [interval]',
          illegalArgument(`[interval] must be >0 for histogram aggregation [${name}]`),
        );
      break;
    case 'filter':
      agg.query = parseQuery(body);
      break;
    case 'filters': {
      const f = body.filters;
      if (Array.isArray(f)) {
        agg.filters = f.map((q, i) => ({ key: String(i), query: parseQuery(q) }));
        agg.filtersKeyed = false;
      } else if (isObj(f)) {
        agg.filters = Object.entries(f).map(([key, q]) => ({ key, query: parseQuery(q) }));
        agg.filtersKeyed = true;
      } else throw new EsError(400, 'parsing_exception', '[filters] cannot be empty.', { line: 1, col: 1 });
      break;
    }
    case 'terms':
      if (body.size !== undefined && (typeof body.size !== 'number' || body.size < 1))
        throw illegalArgument(`[size] must be greater than 0. Found [${String(body.size)}] in [${name}]`);
      break;
  }
  if (
    ['terms', 'cardinality', 'value_count', 'min', 'max', 'avg', 'sum', 'stats', 'missing', 'histogram'].includes(
      type,
    ) &&
    typeof body.field !== 'string'
  )
    throw illegalArgument(`Required one of fields [field, script], but none were specified.`);
  return agg;
}

export interface AggContext {
  snapshots: Snapshot[];
  now: number;
  typedKeys: boolean;
  buckets: { count: number };
}

function leafFor(ctx: AggContext, field: string): LeafField | undefined {
  for (const s of ctx.snapshots) {
    const leaf = s.index.leaves.get(field);
    if (leaf) return leaf;
  }
  return undefined;
}

function valuesOf(ctx: AggContext, field: string, d: Candidate): LeafValue[] | undefined {
  return cellValues(ctx.snapshots[d.s].index.columns.get(field)?.values[d.seq]);
}

function checkFielddata(ctx: AggContext, field: string): LeafField | undefined {
  const leaf = leafFor(ctx, field);
  if (leaf?.kind === 'text') throw TEXT_FIELDDATA(field);
  return leaf;
}

function countBucket(ctx: AggContext): void {
  if (++ctx.buckets.count > MAX_BUCKETS)
    throw new EsError(
      400,
      'too_many_buckets_exception',
      `Trying to create too many buckets. Must be less than or equal to: [${MAX_BUCKETS}] but this number of buckets was exceeded. This limit can be set by changing the [search.max_buckets] cluster level setting.`,
      { max_buckets: MAX_BUCKETS },
    );
}

/** The `aggregations` object of a search response. */
export function runAggs(specs: AggSpec[], docs: Candidate[], ctx: AggContext): Obj {
  const out: Obj = {};
  for (const spec of specs) {
    const result = runAgg(spec, docs, ctx);
    if (spec.meta !== undefined) result.meta = spec.meta;
    out[ctx.typedKeys ? `${typedName(spec.type, spec, ctx)}#${spec.name}` : spec.name] = result;
  }
  return out;
}

function typedName(type: string, spec: AggSpec, ctx: AggContext): string {
  if (type !== 'terms') return type;
  const leaf = leafFor(ctx, String(spec.body.field));
  if (!leaf) return 'sterms';
  return leaf.kind === 'number'
    ? leaf.mappedType.includes('float') || leaf.mappedType === 'double'
      ? 'dterms'
      : 'lterms'
    : leaf.kind === 'date' || leaf.kind === 'boolean'
      ? 'lterms'
      : 'sterms';
}

function withSubs(spec: AggSpec, docs: Candidate[], ctx: AggContext, bucket: Obj): Obj {
  return spec.subs.length ? { ...bucket, ...runAggs(spec.subs, docs, ctx) } : bucket;
}

function runAgg(spec: AggSpec, docs: Candidate[], ctx: AggContext): Obj {
  const body = spec.body;
  const field = typeof body.field === 'string' ? body.field : '';
  switch (spec.type) {
    case 'date_histogram':
    case 'histogram':
      return histogram(spec, docs, ctx);
    case 'terms':
      return terms(spec, docs, ctx);
    case 'filter': {
      const inside = filterDocs(spec.query as Query, docs, ctx);
      return withSubs(spec, inside, ctx, { doc_count: inside.length });
    }
    case 'filters': {
      const buckets = (spec.filters ?? []).map(({ key, query }) => {
        const inside = filterDocs(query, docs, ctx);
        countBucket(ctx);
        return { key, bucket: withSubs(spec, inside, ctx, { doc_count: inside.length }) };
      });
      return spec.filtersKeyed
        ? { buckets: Object.fromEntries(buckets.map((b) => [b.key, b.bucket])) }
        : { buckets: buckets.map((b) => b.bucket) };
    }
    case 'missing': {
      const inside = docs.filter((d) => !valuesOf(ctx, field, d)?.length);
      return withSubs(spec, inside, ctx, { doc_count: inside.length });
    }
    case 'cardinality': {
      checkFielddata(ctx, field);
      const seen = new Set<LeafValue>();
      for (const d of docs) for (const v of valuesOf(ctx, field, d) ?? []) seen.add(v);
      return { value: seen.size };
    }
    case 'value_count': {
      let n = 0;
      for (const d of docs) n += valuesOf(ctx, field, d)?.length ?? 0;
      return { value: n };
    }
    default:
      return metric(spec.type, field, docs, ctx);
  }
}

function filterDocs(query: Query, docs: Candidate[], ctx: AggContext): Candidate[] {
  const bits = ctx.snapshots.map((snapshot) => evaluate(query, { snapshot, now: ctx.now }, false).bits);
  return docs.filter((d) => bits[d.s][d.seq] === 1);
}

function metric(type: string, field: string, docs: Candidate[], ctx: AggContext): Obj {
  const leaf = checkFielddata(ctx, field);
  if (leaf && leaf.kind !== 'number' && leaf.kind !== 'date' && leaf.kind !== 'boolean')
    throw illegalArgument(`Field [${field}] of type [${leaf.mappedType}] is not supported for aggregation [${type}]`);
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const d of docs) {
    for (const v of valuesOf(ctx, field, d) ?? []) {
      const n = v as number;
      count++;
      sum += n;
      if (n < min) min = n;
      if (n > max) max = n;
    }
  }
  const isDate = leaf?.kind === 'date';
  const withString = (value: number | null, o: Obj = { value }) => {
    if (isDate && value !== null) o.value_as_string = formatDate(value, leaf.format);
    return o;
  };
  switch (type) {
    case 'min':
      return withString(count ? min : null);
    case 'max':
      return withString(count ? max : null);
    case 'avg':
      return withString(count ? sum / count : null);
    case 'sum':
      return { value: sum };
    default: {
      const o: Obj = { count, min: count ? min : null, max: count ? max : null, avg: count ? sum / count : null, sum };
      if (isDate && count) {
        o.min_as_string = formatDate(min, leaf.format);
        o.max_as_string = formatDate(max, leaf.format);
        o.avg_as_string = formatDate(sum / count, leaf.format);
        o.sum_as_string = formatDate(sum, leaf.format);
      }
      return o;
    }
  }
}

function histogram(spec: AggSpec, docs: Candidate[], ctx: AggContext): Obj {
  const body = spec.body;
  const field = String(body.field);
  const leaf = checkFielddata(ctx, field);
  const isDate = spec.type === 'date_histogram';
  if (isDate && leaf && leaf.kind !== 'date' && leaf.kind !== 'number')
    throw illegalArgument(
      `Field [${field}] of type [${leaf.mappedType}] is not supported for aggregation [date_histogram]`,
    );
  const format = typeof body.format === 'string' ? body.format : leaf?.kind === 'date' ? leaf.format : undefined;
  const offset = parseOffset(body.offset, isDate);
  const interval = spec.interval;
  const numInterval = Number(body.interval);
  const round = (t: number): number => {
    if (!isDate) return Math.floor((t - offset) / numInterval) * numInterval + offset;
    if (interval && 'fixed' in interval) return Math.floor((t - offset) / interval.fixed) * interval.fixed + offset;
    const unit = (interval as { calendar: 'm' | 'h' | 'd' | 'w' | 'M' | 'q' | 'y' }).calendar;
    if (unit === 'q') {
      const d = new Date(t - offset);
      return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1) + offset;
    }
    return roundDown(t - offset, unit) + offset;
  };
  const next = (key: number): number => {
    if (!isDate) return key + numInterval;
    if (interval && 'fixed' in interval) return key + interval.fixed;
    return addCalendar(key - offset, (interval as { calendar: 'm' }).calendar) + offset;
  };
  const bound = (v: unknown, roundUp: boolean): number =>
    isDate ? resolveDateMath(v, { format: format ?? leaf?.format, now: ctx.now, roundUp }) : Number(v);
  const hard = isObj(body.hard_bounds) ? body.hard_bounds : undefined;
  const hardMin = hard?.min !== undefined ? bound(hard.min, false) : undefined;
  const hardMax = hard?.max !== undefined ? bound(hard.max, true) : undefined;
  const missing =
    body.missing !== undefined ? (isDate ? parseDate(body.missing, format) : Number(body.missing)) : undefined;
  const groups = new Map<number, Candidate[]>();
  for (const d of docs) {
    const vs = valuesOf(ctx, field, d);
    const values = vs?.length ? vs : missing !== undefined ? [missing] : [];
    const keys = new Set<number>();
    for (const v of values) {
      // hard_bounds bound the buckets: a value counts when its bucket's key is within them.
      const key = round(v as number);
      if ((hardMin !== undefined && key < hardMin) || (hardMax !== undefined && key > hardMax)) continue;
      keys.add(key);
    }
    for (const k of keys) {
      const g = groups.get(k);
      if (g) g.push(d);
      else groups.set(k, [d]);
    }
  }
  const minDocCount = typeof body.min_doc_count === 'number' ? body.min_doc_count : 0;
  let keys = [...groups.keys()].sort((a, b) => a - b);
  if (minDocCount === 0) {
    let lo = keys.length ? keys[0] : undefined;
    let hi = keys.length ? keys[keys.length - 1] : undefined;
    const ext = isObj(body.extended_bounds) ? body.extended_bounds : undefined;
    if (ext?.min !== undefined) {
      const m = round(bound(ext.min, false));
      lo = lo === undefined ? m : Math.min(lo, m);
    }
    if (ext?.max !== undefined) {
      const m = round(bound(ext.max, false));
      hi = hi === undefined ? m : Math.max(hi, m);
    }
    if (hardMin !== undefined && lo !== undefined && lo < hardMin) {
      // The first bucket whose key is within the bounds.
      const first = round(hardMin);
      lo = first < hardMin ? next(first) : first;
    }
    if (hardMax !== undefined && hi !== undefined) hi = Math.min(hi, round(hardMax));
    if (lo !== undefined && hi !== undefined) {
      const all: number[] = [];
      for (let k = lo; k <= hi; k = next(k)) {
        all.push(k);
        if (all.length > MAX_BUCKETS) countBucket({ ...ctx, buckets: { count: MAX_BUCKETS } });
      }
      keys = all;
    }
  } else {
    keys = keys.filter((k) => (groups.get(k)?.length ?? 0) >= minDocCount);
  }
  let buckets = keys.map((key) => {
    countBucket(ctx);
    const inside = groups.get(key) ?? [];
    const b: Obj = {};
    if (format !== undefined || isDate) b.key_as_string = isDate ? formatDate(key, format) : String(key);
    b.key = key;
    b.doc_count = inside.length;
    return withSubs(spec, inside, ctx, b);
  });
  const order = isObj(body.order) ? body.order : undefined;
  if (order) {
    const [k, dir] = Object.entries(order)[0] ?? ['_key', 'asc'];
    const sign = dir === 'desc' ? -1 : 1;
    const keyOf = (b: Obj) => (k === '_count' ? (b.doc_count as number) : (b.key as number));
    buckets = [...buckets].sort((a, b) => sign * (keyOf(a) - keyOf(b)) || (a.key as number) - (b.key as number));
  }
  if (body.keyed === true)
    return { buckets: Object.fromEntries(buckets.map((b) => [String(b.key_as_string ?? b.key), b])) };
  return { buckets };
}

function terms(spec: AggSpec, docs: Candidate[], ctx: AggContext): Obj {
  const body = spec.body;
  const field = String(body.field);
  const leaf = checkFielddata(ctx, field);
  const size = typeof body.size === 'number' ? body.size : 10;
  const minDocCount = typeof body.min_doc_count === 'number' ? body.min_doc_count : 1;
  const missing = body.missing;
  const groups = new Map<LeafValue, Candidate[]>();
  for (const d of docs) {
    const vs = valuesOf(ctx, field, d);
    const values = vs?.length ? new Set(vs) : missing !== undefined ? new Set([missing as LeafValue]) : [];
    for (const v of values) {
      const g = groups.get(v);
      if (g) g.push(d);
      else groups.set(v, [d]);
    }
  }
  const include = body.include;
  const exclude = body.exclude;
  const pattern = (p: unknown): RegExp | undefined => {
    if (typeof p !== 'string') return undefined;
    try {
      return new RegExp(`^(?:${p})$`, 'u');
    } catch {
      throw illegalArgument(`invalid regular expression [${p}] in [include]/[exclude] of terms aggregation`);
    }
  };
  const includeRe = pattern(include);
  const excludeRe = pattern(exclude);
  const allowed = (k: LeafValue) => {
    const s = String(k);
    if (Array.isArray(include) && !include.map(String).includes(s)) return false;
    if (includeRe && !includeRe.test(s)) return false;
    if (Array.isArray(exclude) && exclude.map(String).includes(s)) return false;
    if (excludeRe && excludeRe.test(s)) return false;
    return true;
  };
  let entries = [...groups.entries()].filter(([k, g]) => g.length >= minDocCount && allowed(k));
  const orders: [string, string][] = Array.isArray(body.order)
    ? body.order.flatMap((o) => Object.entries(o as Obj) as [string, string][])
    : isObj(body.order)
      ? (Object.entries(body.order) as [string, string][])
      : [['_count', 'desc']];
  const cmpKey = (a: LeafValue, b: LeafValue) => (a < b ? -1 : a > b ? 1 : 0);
  entries.sort((a, b) => {
    for (const [k, dir] of orders) {
      const sign = dir === 'asc' ? 1 : -1;
      const d = k === '_count' ? a[1].length - b[1].length : k === '_key' || k === '_term' ? cmpKey(a[0], b[0]) : 0;
      if (d !== 0) return sign * d;
    }
    return b[1].length - a[1].length || cmpKey(a[0], b[0]);
  });
  const total = entries.reduce((n, [, g]) => n + g.length, 0);
  entries = entries.slice(0, size);
  const shown = entries.reduce((n, [, g]) => n + g.length, 0);
  const buckets = entries.map(([key, inside]) => {
    countBucket(ctx);
    const b: Obj = { key };
    if (leaf?.kind === 'date')
      b.key_as_string = formatDate(key as number, typeof body.format === 'string' ? body.format : leaf.format);
    if (leaf?.kind === 'boolean') b.key_as_string = key === 1 ? 'true' : 'false';
    b.doc_count = inside.length;
    return withSubs(spec, inside, ctx, b);
  });
  return { doc_count_error_upper_bound: 0, sum_other_doc_count: total - shown, buckets };
}
