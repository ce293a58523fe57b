// Paging through matching lines: a point in time on the indices the range needs, and search_after on (time,
// Elasticsearch's implicit tie-breaker of searches under a point in time, _shard_doc), so walking page by page
// repeats and skips no line while new ones arrive. A cursor carries the point in time; one that has expired is
// replaced by a new one, continuing after the same sort values. The export walks the same way, page after page.
import { badUserInput } from '../../common/errors.js';
import type { SearchResponse } from '../clients/elasticsearch.js';
import { isExpiredPointInTime } from './es-access.js';
import type { LogScope } from './filter.js';
import { cursorOf, lineOf, scopeQuery, timeSort, type LogConnectionView, type LoggingModelOptions } from './lines.js';
import { indicesFor, SOURCE_FIELDS, type LogSource } from './query.js';
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

/** One page of hits under a point in time (opened for a first page; reopened when the cursor's has expired). */
async function readPage(opts: LoggingModelOptions, req: PageRequest): Promise<RawPage> {
  const indices = indicesFor(opts.indexPrefix, req.scope.start, req.scope.end, Date.now());
  const open = () => opts.access.run((es) => es.openPointInTime(indices, opts.pitKeepAlive));
  const search = (pit: string) =>
    opts.access.run(
      (es) =>
        es.search<LogSource>(undefined, {
          size: req.size,
          query: scopeQuery(opts, req.scope),
          sort: timeSort(req.desc),
          pit: { id: pit, keep_alive: opts.pitKeepAlive },
          track_total_hits: req.countTotal ? EXACT_TOTAL_UP_TO : false,
          _source: SOURCE_FIELDS,
          ...(req.after ? { search_after: req.after.sort } : {}),
        }),
      isExpiredPointInTime,
    );
  let pit = req.after?.pit ?? (await open());
  let response: SearchResponse<LogSource>;
  try {
    response = await search(pit);
  } catch (e) {
    if (!isExpiredPointInTime(e)) throw e;
    pit = await open();
    response = await search(pit);
  }
  return { pit: response.pit_id ?? pit, response };
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
  const edges = hits.map((hit) => ({ cursor: opts.cursors.encode(cursorOf(hit, pit, desc)), node: lineOf(hit) }));
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
    after = cursorOf(hits.at(-1)!, pit, desc);
  }
}
