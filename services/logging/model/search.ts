// Paging through matching lines: a point in time on the indices the range needs, and search_after on (time,
// Elasticsearch's implicit tie-breaker of searches under a point in time, _shard_doc, 7.12+), so walking page by page
// repeats and skips no line while new ones arrive. A cursor carries the point in time and the _ids of the lines of its
// millisecond already returned: where there is no usable tie-breaker (7.10-7.11; a new point in time after the
// cursor's expired, whose _shard_doc values are not the old ones) the next page starts at that millisecond without
// those lines. The export walks the same way, page after page.
import { badUserInput } from '../../common/errors.js';
import type { SearchHit, SearchResponse } from '../clients/elasticsearch.js';
import { isExpiredPointInTime } from './es-access.js';
import type { LogScope } from './filter.js';
import { cursorOf, lineOf, scopeQuery, timeSort, type LogConnectionView, type LoggingModelOptions } from './lines.js';
import { indicesFor, rangeClause, SOURCE_FIELDS, type LogSource } from './query.js';
import type { LineCursor } from './cursor.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;
/** totalCount is exact up to this many lines (track_total_hits). */
export const EXACT_TOTAL_UP_TO = 10_000;

export const emptyConnection = (): LogConnectionView => ({
  edges: [],
  pageInfo: { hasNextPage: false, endCursor: null },
  totalCount: 0,
  totalCountIsExact: true,
});

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE)
    throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, { argument: 'first' });
  return first;
}

interface PageRequest {
  scope: LogScope;
  desc: boolean;
  size: number;
  after?: LineCursor;
  /** Count the matching lines (up to EXACT_TOTAL_UP_TO). */
  countTotal: boolean;
}

interface RawPage {
  pit: string;
  response: SearchResponse<LogSource>;
}

/** The ids of same-millisecond lines a cursor carries: the page's last one, any other (quadratic otherwise). */
export const MAX_SEEN_END = 2000;
const MAX_SEEN_EDGE = 20;

/**
 * The query of a page that goes on from `after` without the server's tie-breaker: the lines at or beyond its
 * millisecond but those of that millisecond already returned (by _id, stable across points in time and versions).
 */
function continuationQuery(opts: LoggingModelOptions, scope: LogScope, after: LineCursor) {
  if (after.seen === null || after.seen === undefined)
    throw badUserInput(
      `after is a cursor in the middle of more than ${MAX_SEEN_END} lines of one millisecond whose point in time has expired: search again`,
      { argument: 'after' },
    );
  const q = scopeQuery(opts, scope) as { bool: { filter: unknown[]; must_not?: unknown[] } };
  const range = after.desc ? rangeClause(undefined, after.at) : rangeClause(after.at);
  return {
    bool: {
      ...q.bool,
      filter: [...q.bool.filter, range],
      must_not: [...(q.bool.must_not ?? []), ...(after.seen.length ? [{ ids: { values: after.seen } }] : [])],
    },
  };
}

/**
 * One page of hits under a point in time (opened for a first page; reopened when the cursor's has expired). It goes
 * on with search_after on (time, the server's implicit `_shard_doc`) while the cursor's point in time lives and the
 * server added that tie-breaker (7.12+); otherwise (7.10-7.11, or a new point in time) from the cursor's millisecond
 * without the lines of it already returned.
 */
async function readPage(opts: LoggingModelOptions, req: PageRequest): Promise<RawPage> {
  const indices = indicesFor(opts.indexPrefix, req.scope.start, req.scope.end, Date.now());
  const open = () => opts.access.run((es) => es.openPointInTime(indices, opts.pitKeepAlive));
  const after = req.after;
  const run = (body: Record<string, unknown>) =>
    opts.access.run((es) => es.search<LogSource>(undefined, body), isExpiredPointInTime);
  const search = async (pit: string, exact: boolean) => {
    const common = { pit: { id: pit, keep_alive: opts.pitKeepAlive } };
    if (!after || exact)
      return run({
        ...common,
        size: req.size,
        query: scopeQuery(opts, req.scope),
        sort: timeSort(req.desc),
        track_total_hits: req.countTotal ? EXACT_TOTAL_UP_TO : false,
        _source: SOURCE_FIELDS,
        ...(after ? { search_after: after.sort } : {}),
      });
    // The continuation's query matches only what is left: the total is counted on the scope's query alongside.
    const [page, total] = await Promise.all([
      run({
        ...common,
        size: req.size,
        query: continuationQuery(opts, req.scope, after),
        sort: timeSort(req.desc),
        track_total_hits: false,
        _source: SOURCE_FIELDS,
      }),
      req.countTotal
        ? run({ ...common, size: 0, query: scopeQuery(opts, req.scope), track_total_hits: EXACT_TOTAL_UP_TO })
        : undefined,
    ]);
    return total ? { ...page, hits: { ...page.hits, total: total.hits.total } } : page;
  };
  let pit = after?.pit ?? (await open());
  let response: SearchResponse<LogSource>;
  try {
    response = await search(pit, after !== undefined && after.sort.length > 1);
  } catch (e) {
    if (!isExpiredPointInTime(e)) throw e;
    pit = await open();
    response = await search(pit, false);
  }
  return { pit: response.pit_id ?? pit, response };
}

/** The cursors of a page's hits, each with the ids of its millisecond's lines returned up to it. */
function cursorsOf(
  hits: SearchHit<LogSource>[],
  pit: string,
  desc: boolean,
  after: LineCursor | undefined,
): LineCursor[] {
  let at = after?.at;
  let seen: string[] | null = after?.seen ?? (after ? null : []);
  return hits.map((hit, i) => {
    const c = cursorOf(hit, pit, desc);
    if (c.at !== at) {
      at = c.at;
      seen = [];
    }
    seen = seen && seen.length < MAX_SEEN_END ? [...seen, hit._id] : null;
    const cap = i === hits.length - 1 ? MAX_SEEN_END : MAX_SEEN_EDGE;
    return { ...c, seen: seen && seen.length <= cap ? seen : null };
  });
}

function totalOf(response: SearchResponse<LogSource>): { count: number; exact: boolean } {
  const t = response.hits.total;
  if (t === undefined) return { count: 0, exact: false };
  if (typeof t === 'number') return { count: t, exact: true };
  return { count: t.value, exact: t.relation === 'eq' };
}

/** A page of `logs` (first lines after `after`). */
export async function logsPage(
  opts: LoggingModelOptions,
  scope: LogScope,
  desc: boolean,
  first: number,
  after: LineCursor | undefined,
): Promise<LogConnectionView> {
  // Walking a page in the other order than the cursor's would not continue it.
  if (after && after.desc !== desc)
    throw badUserInput('after is a cursor of the other order: search again with this order', { argument: 'after' });
  const { pit, response } = await readPage(opts, { scope, desc, size: first + 1, after, countTotal: true });
  const hits = response.hits.hits.slice(0, first);
  const cursors = cursorsOf(hits, pit, desc, after);
  const edges = hits.map((hit, i) => ({ cursor: opts.cursors.encode(cursors[i]!), node: lineOf(hit) }));
  const total = totalOf(response);
  return {
    edges,
    pageInfo: { hasNextPage: response.hits.hits.length > first, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: total.count,
    totalCountIsExact: total.exact,
  };
}

/**
 * Every matching line, page by page (constant memory: one page at a time), until `limit` lines or the end; stops
 * before the next page once `signal` is aborted.
 */
export async function* walkLines(
  opts: LoggingModelOptions,
  scope: LogScope,
  desc: boolean,
  pageLines: number,
  limit: number,
  signal: AbortSignal,
): AsyncGenerator<ReturnType<typeof lineOf>[]> {
  let after: LineCursor | undefined;
  let sent = 0;
  while (sent < limit && !signal.aborted) {
    const size = Math.min(pageLines, limit - sent);
    const { pit, response } = await readPage(opts, { scope, desc, size, after, countTotal: false });
    const hits = response.hits.hits;
    if (!hits.length) return;
    sent += hits.length;
    yield hits.map(lineOf);
    if (hits.length < size) return;
    after = cursorsOf(hits, pit, desc, after).at(-1);
  }
}
