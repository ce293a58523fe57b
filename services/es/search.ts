// `_search` and `_count`: the body and URL parameters checked as Elasticsearch checks them, the query run on each
// index snapshot (or a point in time's), total hits per track_total_hits, aggregations, sorting with search_after,
// from/size within max_result_window, and `_source` filtering.
import { parseAggs, runAggs, type AggSpec } from './aggs.js';
import type { Cluster } from './cluster.js';
import { EsError, ShardsFailedError, illegalArgument, parsingError } from './errors.js';
import { cellValues, sourceOf, visible, type Snapshot } from './index.js';
import { parseQuery, type Query } from './query-parse.js';
import { evaluate } from './query-eval.js';
import { filterSource, parseSourceFilter } from './source-filter.js';
import { parseTimeValue } from './cluster.js';
import { formatDate } from './dates.js';
import {
  afterKeys,
  checkSortFields,
  compareCandidates,
  compareKey,
  sortKeyer,
  parseSort,
  wireSortValue,
  type Candidate,
  type SortClause,
  type SortKey,
} from './sort.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const BODY_KEYS = new Set([
  'query',
  'size',
  'from',
  'sort',
  'search_after',
  '_source',
  'track_total_hits',
  'aggs',
  'aggregations',
  'pit',
  'timeout',
  'track_scores',
  'version',
  'seq_no_primary_term',
  'fields',
  'docvalue_fields',
  'stored_fields',
  'highlight',
  'post_filter',
  'min_score',
  'explain',
  'terminate_after',
  'runtime_mappings',
  'script_fields',
  'profile',
  'indices_boost',
  'stats',
  'ext',
]);

function tokenName(v: unknown): string {
  if (isObj(v)) return 'START_OBJECT';
  if (Array.isArray(v)) return 'START_ARRAY';
  if (typeof v === 'string') return 'VALUE_STRING';
  if (typeof v === 'number') return 'VALUE_NUMBER';
  if (typeof v === 'boolean') return 'VALUE_BOOLEAN';
  return 'VALUE_NULL';
}

function intParam(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw illegalArgument(`Failed to parse int parameter [${name}] with value [${String(v)}]`);
  return n;
}

function boolParam(params: URLSearchParams, name: string): boolean | undefined {
  const v = params.get(name);
  if (v === null) return undefined;
  if (v === '' || v === 'true') return true;
  if (v === 'false') return false;
  throw illegalArgument(`Failed to parse value [${v}] as only [true] or [false] are allowed.`);
}

export interface SearchTarget {
  /** The index expression of the URL (undefined: all). */
  expression?: string;
}

interface PreparedSearch {
  query: Query;
  postFilter?: Query;
  snapshots: Snapshot[];
  pitId?: string;
  pitBases: number[];
}

function resolveSnapshots(
  cluster: Cluster,
  target: SearchTarget,
  body: Obj,
  params: URLSearchParams,
): PreparedSearch & { pitId?: string } {
  if (body.pit !== undefined) {
    if (!isObj(body.pit) || typeof body.pit.id !== 'string') throw parsingError('[pit] failed to parse field [id]');
    if (target.expression !== undefined)
      throw new EsError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;',
      );
    const keepAlive =
      body.pit.keep_alive !== undefined ? parseTimeValue(String(body.pit.keep_alive), 'keep_alive') : undefined;
    let pit;
    try {
      pit = cluster.pit(body.pit.id, keepAlive);
    } catch (e) {
      if (e instanceof EsError) throw new ShardsFailedError(e, []);
      throw e;
    }
    // _shard_doc: the shard's position in the point in time in the high 32 bits, the document in the low ones.
    return {
      query: { kind: 'match_all', boost: 1 },
      snapshots: pit.snapshots,
      pitId: pit.id,
      pitBases: pit.snapshots.map((_s, i) => i * 2 ** 32),
    };
  }
  const indices = cluster.resolve(target.expression, {
    ignoreUnavailable: boolParam(params, 'ignore_unavailable') ?? false,
    allowNoIndices: boolParam(params, 'allow_no_indices') ?? true,
    expandHidden: (params.get('expand_wildcards') ?? '').includes('hidden') || params.get('expand_wildcards') === 'all',
  });
  return {
    query: { kind: 'match_all', boost: 1 },
    snapshots: indices.map((i) => i.snapshot(cluster.generation)),
    pitBases: indices.map((_s, i) => i * 2 ** 32),
  };
}

/** Calls back for every visible document a query matches, saying whether the post_filter keeps it. */
function forEachMatch(
  query: Query,
  snapshots: Snapshot[],
  now: number,
  scoring: boolean,
  postFilter: Query | undefined,
  onMatch: (s: number, seq: number, score: number, kept: boolean) => void,
): void {
  snapshots.forEach((snapshot, s) => {
    const m = evaluate(query, { snapshot, now }, scoring);
    const post = postFilter ? evaluate(postFilter, { snapshot, now }, false).bits : undefined;
    const { bits, scores } = m;
    for (let seq = 0; seq < snapshot.maxSeq; seq++) {
      if (!bits[seq] || !visible(snapshot, seq)) continue;
      onMatch(s, seq, scores ? scores[seq] : 0, !post || post[seq] === 1);
    }
  });
}

/** The k first candidates in sort order, offered one by one, without keeping or sorting them all. */
class TopK {
  private readonly heap: Candidate[] = [];

  constructor(
    private readonly k: number,
    private readonly cmp: (a: Candidate, b: Candidate) => number,
  ) {}

  /** Whether a candidate would make it in (so its keys are worth keeping). */
  offer(c: Candidate): void {
    const heap = this.heap;
    if (this.k <= 0) return;
    if (heap.length < this.k) {
      heap.push(c);
      this.up(heap.length - 1);
    } else if (this.cmp(c, heap[0]) < 0) {
      heap[0] = c;
      this.down(0);
    }
  }

  /** The last of the k best so far, once there are k (anything after it cannot make it). */
  worst(): Candidate | undefined {
    return this.heap.length >= this.k ? this.heap[0] : undefined;
  }

  sorted(): Candidate[] {
    return [...this.heap].sort(this.cmp);
  }

  // A max-heap: the root is the worst of the best k.
  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.cmp(heap[i], heap[p]) <= 0) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.cmp(heap[l], heap[m]) > 0) m = l;
      if (r < heap.length && this.cmp(heap[r], heap[m]) > 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
}

function wrapShardError(e: unknown, snapshots: Snapshot[]): unknown {
  if (
    e instanceof EsError &&
    !(e instanceof ShardsFailedError) &&
    e.status === 400 &&
    !['parsing_exception', 'x_content_parse_exception', 'action_request_validation_exception'].includes(e.type)
  )
    return new ShardsFailedError(
      e,
      snapshots.map((s) => s.index.name),
    );
  return e;
}

/** What a scroll keeps between its pages: the indices as of its start and where the last page ended. */
export interface ScrollState {
  snapshots: Snapshot[];
  after?: SortKey[];
}

export function search(
  cluster: Cluster,
  target: SearchTarget,
  rawBody: unknown,
  params: URLSearchParams,
  scroll?: ScrollState,
): Obj {
  const started = Date.now();
  const body: Obj = rawBody === undefined || rawBody === null ? {} : isObj(rawBody) ? rawBody : {};
  if (rawBody !== undefined && rawBody !== null && !isObj(rawBody))
    throw parsingError('request body must be a JSON object');
  for (const [k, v] of Object.entries(body))
    if (!BODY_KEYS.has(k)) throw parsingError(`Unknown key for a ${tokenName(v)} in [${k}].`);

  const size = intParam(params.get('size') ?? body.size, 'size') ?? 10;
  const from = intParam(params.get('from') ?? body.from, 'from') ?? 0;
  if (size < 0) throw illegalArgument(`[size] parameter cannot be negative, found [${size}]`);
  if (from < 0) throw illegalArgument(`[from] parameter cannot be negative, found [${from}]`);
  if (body.search_after !== undefined && from > 0)
    throw new EsError(
      400,
      'action_request_validation_exception',
      'Validation Failed: 1: `from` parameter must be set to 0 when `search_after` is used.;',
    );

  const restTotalAsInt = boolParam(params, 'rest_total_hits_as_int') ?? false;
  let track: boolean | number = 10_000;
  const trackRaw = params.get('track_total_hits') ?? body.track_total_hits;
  if (trackRaw !== undefined && trackRaw !== null) {
    if (trackRaw === true || trackRaw === 'true') track = true;
    else if (trackRaw === false || trackRaw === 'false') track = false;
    else {
      const n = Number(trackRaw);
      if (!Number.isInteger(n) || n < -1)
        throw illegalArgument(`[track_total_hits] parameter must be positive or equals to -1, got ${String(trackRaw)}`);
      track = n === -1 ? true : n;
    }
  }
  // As a number the total must be exact, or not tracked at all (then -1).
  if (restTotalAsInt && track !== false) {
    if (track !== true && trackRaw !== undefined && trackRaw !== null)
      throw new EsError(
        400,
        'action_request_validation_exception',
        `Validation Failed: 1: [rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got ${String(trackRaw)};`,
      );
    track = true;
  }

  let sortSpec: unknown = body.sort;
  if (params.get('sort')) sortSpec = params.get('sort')?.split(',');
  const clauses = parseSort(sortSpec);
  const query = body.query !== undefined ? parseQuery(body.query) : ({ kind: 'match_all', boost: 1 } as Query);
  const postFilter = body.post_filter !== undefined ? parseQuery(body.post_filter) : undefined;
  const aggSpecs: AggSpec[] = parseAggs(body.aggs ?? body.aggregations);
  const sourceFilter = parseSourceFilter(body._source, params);
  const q = params.get('q');
  const finalQuery: Query = q ? queryFromQ(q, params.get('df')) : query;

  if (scroll && from > 0) throw illegalArgument('using [from] is not allowed in a scroll context');
  if (scroll && body.search_after !== undefined)
    throw illegalArgument('[search_after] cannot be used in a scroll context');
  const prepared = scroll
    ? { snapshots: scroll.snapshots, pitId: undefined, pitBases: scroll.snapshots.map((_s, i) => i * 2 ** 32) }
    : resolveSnapshots(cluster, target, body, params);
  const { snapshots, pitId, pitBases } = prepared;
  const now = Date.now();
  try {
    for (const s of snapshots) {
      const window = s.index.settings.max_result_window;
      if (scroll && size > window) {
        throw illegalArgument(
          `Batch size is too large, size must be less than or equal to: [${window}] but was [${size}]. Scroll batch sizes cost as much memory as result windows so they are controlled by the [index.max_result_window] index level setting.`,
        );
      }
      if (from + size > window) {
        throw illegalArgument(
          `Result window is too large, from + size must be less than or equal to: [${window}] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`,
        );
      }
    }
    // With a point in time, a sort without a tie-breaker gets `_shard_doc` added, as Elasticsearch does since 7.12.
    const effective: SortClause[] = clauses.length ? [...clauses] : [];
    if (pitId && cluster.implicitTiebreaker && effective.length && !effective.some((c) => c.field === '_shard_doc'))
      effective.push({ field: '_shard_doc', desc: effective[effective.length - 1]?.desc ?? false, missing: '_last' });
    // A scroll goes on where its last page ended: its order gets the same hidden tie-breaker.
    if (scroll) {
      if (!effective.length) effective.push({ field: '_score', desc: true, missing: '_last' });
      if (!effective.some((c) => c.field === '_shard_doc'))
        effective.push({ field: '_shard_doc', desc: false, missing: '_last' });
    }
    checkSortFields(effective, snapshots, pitId !== undefined || scroll !== undefined);
    const sorted = clauses.length > 0;
    const scoring = !sorted || effective.some((c) => c.field === '_score') || body.track_scores === true;
    const minScore = typeof body.min_score === 'number' ? body.min_score : undefined;
    const byOrder: SortClause[] = effective.length ? effective : [{ field: '_score', desc: true, missing: '_last' }];
    const keyOf = sortKeyer(byOrder, snapshots, (s) => pitBases[s]);
    const cmp = compareCandidates(byOrder);
    let pivot: Candidate | undefined = scroll?.after
      ? { s: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER, score: 0, keys: scroll.after }
      : undefined;
    if (body.search_after !== undefined) {
      if (!sorted) throw illegalArgument('Sort must contain at least one field.');
      const after = afterKeys(body.search_after, effective, snapshots);
      // Past every document with the same keys: search_after is exclusive.
      pivot = { s: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER, score: 0, keys: after };
    }
    const all: Candidate[] | undefined = aggSpecs.length ? [] : undefined;
    const top = new TopK(from + size, cmp);
    let totalCount = 0;
    let maxScore = -Infinity;
    forEachMatch(finalQuery, snapshots, now, scoring, postFilter, (s, seq, score, kept) => {
      if (all) all.push({ s, seq, score });
      if (!kept || (minScore !== undefined && score < minScore)) return;
      totalCount++;
      if (score > maxScore) maxScore = score;
      if (from + size === 0) return;
      const c: Candidate = { s, seq, score };
      // Most matches lose on the first sort key alone: to the page's worst so far, or to search_after's.
      const first = keyOf.first(c);
      const worst = top.worst();
      if (worst && compareKey(first, (worst.keys as SortKey[])[0], byOrder[0]) > 0) return;
      if (pivot && compareKey(first, (pivot.keys as SortKey[])[0], byOrder[0]) < 0) return;
      c.keys = keyOf(c);
      if (pivot && cmp(c, pivot) <= 0) return;
      top.offer(c);
    });
    const page = top.sorted().slice(from);
    if (scroll && page.length) scroll.after = page[page.length - 1].keys;

    const hits = page.map((c) => {
      const snap = snapshots[c.s];
      const doc = snap.index.docs[c.seq];
      const hit: Obj = { _index: snap.index.name, _id: doc.id };
      if (body.version === true) hit._version = doc.version;
      if (body.seq_no_primary_term === true) {
        hit._seq_no = doc.seqNo;
        hit._primary_term = 1;
      }
      hit._score = sorted && !(body.track_scores === true) ? null : c.score;
      const src = sourceFilter.enabled ? filterSource(sourceOf(doc), sourceFilter) : undefined;
      if (src !== undefined) hit._source = src;
      const fields = fieldsOf(body, snap, c.seq);
      if (fields) hit.fields = fields;
      if (sorted) {
        const shown = scroll ? (c.keys as SortKey[]).slice(0, clauses.length) : (c.keys as SortKey[]);
        hit.sort = shown.map((k, i) => wireSortValue(k, effective[i], snapshots));
      }
      return hit;
    });

    const hitsObj: Obj = {};
    if (track !== false) {
      const cap = track === true ? Infinity : track;
      const total = totalCount > cap ? { value: cap, relation: 'gte' } : { value: totalCount, relation: 'eq' };
      hitsObj.total = restTotalAsInt ? total.value : total;
    } else if (restTotalAsInt) hitsObj.total = -1;
    hitsObj.max_score = sorted && body.track_scores !== true ? null : totalCount ? maxScore : null;
    hitsObj.hits = hits;

    const response: Obj = {};
    if (pitId) response.pit_id = pitId;
    response.took = Date.now() - started;
    response.timed_out = false;
    response._shards = { total: snapshots.length, successful: snapshots.length, skipped: 0, failed: 0 };
    response.hits = hitsObj;
    if (aggSpecs.length)
      response.aggregations = runAggs(aggSpecs, all ?? [], {
        snapshots,
        now,
        typedKeys: boolParam(params, 'typed_keys') ?? false,
        buckets: { count: 0 },
      });
    return response;
  } catch (e) {
    throw wrapShardError(e, snapshots);
  }
}

/** `fields` and `docvalue_fields`: values of the matching mapped leaf fields, dates in the field's format. */
function fieldsOf(body: Obj, snap: Snapshot, seq: number): Obj | undefined {
  const wanted = [
    ...(Array.isArray(body.fields) ? body.fields : []),
    ...(Array.isArray(body.docvalue_fields) ? body.docvalue_fields : []),
  ];
  if (!wanted.length) return undefined;
  const out: Obj = {};
  for (const w of wanted) {
    const pattern = typeof w === 'string' ? w : isObj(w) ? String(w.field) : '';
    const format = isObj(w) && typeof w.format === 'string' ? w.format : undefined;
    for (const [path, column] of snap.index.columns) {
      if (
        !(pattern.includes('*')
          ? new RegExp(
              `^${pattern
                .split('*')
                .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
                .join('.*')}$`,
            ).test(path)
          : pattern === path)
      )
        continue;
      const values = cellValues(column.values[seq]);
      if (!values) continue;
      const leaf = column.leaf;
      out[path] = values.map((v) =>
        leaf.kind === 'date' ? formatDate(v as number, format ?? leaf.format) : leaf.kind === 'boolean' ? v === 1 : v,
      );
    }
  }
  return out;
}

/** The `q` URL parameter: `field:value` terms (a match on the field) or free text over every field. */
function queryFromQ(q: string, df: string | null): Query {
  const parts = q.split(/\s+/).filter(Boolean);
  const must: Query[] = parts.map((part) => {
    const idx = part.indexOf(':');
    const field = idx > 0 ? part.slice(0, idx) : (df ?? '*');
    const value = idx > 0 ? part.slice(idx + 1).replace(/^"|"$/g, '') : part;
    if (field === '*') return { kind: 'dis_max', queries: [], boost: 1 };
    if (value === '*') return { kind: 'exists', field, boost: 1 };
    return { kind: 'match', field, query: value, operator: 'or', boost: 1, zeroTermsAll: false };
  });
  return { kind: 'bool', must, filter: [], should: [], mustNot: [], boost: 1 };
}

export function count(cluster: Cluster, target: SearchTarget, rawBody: unknown, params: URLSearchParams): Obj {
  const body: Obj = isObj(rawBody) ? rawBody : {};
  for (const [k, v] of Object.entries(body))
    if (k !== 'query') throw parsingError(`request does not support [${k}]`) ?? v;
  const query = body.query !== undefined ? parseQuery(body.query) : ({ kind: 'match_all', boost: 1 } as Query);
  const q = params.get('q');
  const { snapshots } = resolveSnapshots(cluster, target, {}, params);
  try {
    let n = 0;
    forEachMatch(q ? queryFromQ(q, params.get('df')) : query, snapshots, Date.now(), false, undefined, () => n++);
    return {
      count: n,
      _shards: { total: snapshots.length, successful: snapshots.length, skipped: 0, failed: 0 },
    };
  } catch (e) {
    throw wrapShardError(e, snapshots);
  }
}
