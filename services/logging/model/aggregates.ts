// Histogram, statistics and context of log lines: aggregations and short searches without a point in time.
import { badUserInput } from '../../common/errors.js';
import type { SearchHit } from '../clients/elasticsearch.js';
import type { LineCursor } from './cursor.js';
import type { LogScope } from './filter.js';
import { lineOf, scopeQuery, timeSort, type LogLineView, type LoggingModelOptions } from './lines.js';
import { chooseInterval, FIELDS, indicesFor, intervalMs, rangeClause, SOURCE_FIELDS, type LogSource } from './query.js';

export interface LogHistogramView {
  interval: string;
  total: number;
  buckets: { start: string; count: number }[];
}

export interface LogStatisticsView {
  containers: number;
  lines: number;
}

/** At most this many buckets per histogram (Elasticsearch's search.max_buckets is far above). */
export const MAX_BUCKETS = 5000;
/** Lines of context on each side, at most. */
export const MAX_CONTEXT = 500;
const DEFAULT_CONTEXT = 10;
/** Lines at the very same millisecond looked at to place the cursor's line among them. */
const SAME_TIME_LINES = 1000;

const indicesOf = (opts: LoggingModelOptions, scope: LogScope) =>
  indicesFor(opts.indexPrefix, scope.start, scope.end, Date.now());

/** Lines per bucket from start to end (the oldest line when the filter has no start; now when no end). */
export async function histogram(
  opts: LoggingModelOptions,
  scope: LogScope,
  interval: string | null | undefined,
): Promise<LogHistogramView> {
  const given = interval ?? undefined;
  if (given !== undefined && intervalMs(given) === undefined)
    throw badUserInput(`interval ${JSON.stringify(given)} is not a fixed interval such as 30s, 5m, 1h or 1d`, {
      argument: 'interval',
    });
  const end = scope.end ?? Date.now();
  let start = scope.start;
  if (start === undefined) {
    // The whole asked range is "everything": it starts at the oldest matching line.
    const r = await opts.access.run((es) =>
      es.search<LogSource, { oldest?: { value: number | null } }>(indicesOf(opts, scope), {
        size: 0,
        track_total_hits: false,
        query: scopeQuery(opts, scope),
        aggs: { oldest: { min: { field: FIELDS.timestamp } } },
      }),
    );
    const oldest = r.aggregations?.oldest?.value;
    if (oldest === null || oldest === undefined)
      return { interval: given ?? chooseInterval(3_600_000), total: 0, buckets: [] };
    start = Math.min(oldest, end);
  }
  const chosen = given ?? chooseInterval(end - start);
  const step = intervalMs(chosen)!;
  if ((end - start) / step > MAX_BUCKETS)
    throw badUserInput(`interval ${chosen} gives more than ${MAX_BUCKETS} buckets over the range: choose a wider one`, {
      argument: 'interval',
    });
  const bounded: LogScope = { ...scope, start, end };
  const r = await opts.access.run((es) =>
    es.search<LogSource, { lines?: { buckets: { key: number; doc_count: number }[] } }>(indicesOf(opts, bounded), {
      size: 0,
      track_total_hits: false,
      query: scopeQuery(opts, bounded),
      aggs: {
        lines: {
          date_histogram: {
            field: FIELDS.timestamp,
            fixed_interval: chosen,
            min_doc_count: 0,
            extended_bounds: { min: start, max: end },
          },
        },
      },
    }),
  );
  const buckets = (r.aggregations?.lines?.buckets ?? []).map((b) => ({
    start: new Date(b.key).toISOString(),
    count: b.doc_count,
  }));
  return { interval: chosen, total: buckets.reduce((sum, b) => sum + b.count, 0), buckets };
}

/** The histogram of a scope that covers nothing: every bucket of the range, empty (no upstream call). */
export function emptyHistogram(scope: LogScope, interval: string | null | undefined): LogHistogramView {
  const given = interval ?? undefined;
  if (given !== undefined && intervalMs(given) === undefined)
    throw badUserInput(`interval ${JSON.stringify(given)} is not a fixed interval such as 30s, 5m, 1h or 1d`, {
      argument: 'interval',
    });
  if (scope.start === undefined) return { interval: given ?? chooseInterval(3_600_000), total: 0, buckets: [] };
  const end = scope.end ?? Date.now();
  const chosen = given ?? chooseInterval(end - scope.start);
  const step = intervalMs(chosen)!;
  if ((end - scope.start) / step > MAX_BUCKETS)
    throw badUserInput(`interval ${chosen} gives more than ${MAX_BUCKETS} buckets over the range: choose a wider one`, {
      argument: 'interval',
    });
  const buckets: LogHistogramView['buckets'] = [];
  for (let t = Math.floor(scope.start / step) * step; t <= end; t += step)
    buckets.push({ start: new Date(t).toISOString(), count: 0 });
  return { interval: chosen, total: 0, buckets };
}

/** How many lines match, and from how many containers (instances: Fluent Bit's docker_id). */
export async function statistics(opts: LoggingModelOptions, scope: LogScope): Promise<LogStatisticsView> {
  const r = await opts.access.run((es) =>
    es.search<LogSource, { containers?: { value: number } }>(indicesOf(opts, scope), {
      size: 0,
      track_total_hits: true,
      query: scopeQuery(opts, scope),
      // Exact up to 40,000 containers (the largest precision Elasticsearch allows), approximate beyond.
      aggs: { containers: { cardinality: { field: FIELDS.containerId, precision_threshold: 40_000 } } },
    }),
  );
  const total = r.hits.total;
  return {
    containers: r.aggregations?.containers?.value ?? 0,
    lines: typeof total === 'number' ? total : (total?.value ?? 0),
  };
}

export function contextSize(value: number | null | undefined, argument: string): number {
  if (value === null || value === undefined) return DEFAULT_CONTEXT;
  if (!Number.isInteger(value) || value < 0 || value > MAX_CONTEXT)
    throw badUserInput(`${argument} must be between 0 and ${MAX_CONTEXT}`, { argument });
  return value;
}

/**
 * The lines of the cursor's container around its line, oldest first, the line itself among them: those before it
 * (earlier, or at the same millisecond and placed before it by Elasticsearch's order), then those after.
 */
export async function context(
  opts: LoggingModelOptions,
  scope: LogScope,
  at: LineCursor,
  before: number,
  after: number,
): Promise<LogLineView[]> {
  const indices = indicesFor(opts.indexPrefix, undefined, undefined, Date.now());
  const query = (extra: Record<string, unknown>) => {
    const q = scopeQuery(opts, scope) as { bool: { filter: unknown[]; must_not?: unknown[] } };
    return { bool: { ...q.bool, filter: [...q.bool.filter, extra] } };
  };
  const search = (size: number, desc: boolean, range: Record<string, unknown>) =>
    size === 0
      ? Promise.resolve([] as SearchHit<LogSource>[])
      : opts.access
          .run((es) =>
            es.search<LogSource>(indices, {
              size,
              track_total_hits: false,
              query: query(range),
              sort: timeSort(desc),
              _source: SOURCE_FIELDS,
            }),
          )
          .then((r) => r.hits.hits);
  const [older, same, newer] = await Promise.all([
    search(before, true, rangeClause(undefined, undefined, at.at)),
    search(SAME_TIME_LINES, false, rangeClause(at.at, at.at)),
    search(after, false, rangeClause(undefined, undefined, undefined, at.at)),
  ]);
  const i = same.findIndex((h) => h._id === at.id && h._index === at.index);
  // The line itself may be gone (its index deleted): the lines around its time still are the context.
  const sameBefore = i >= 0 ? same.slice(0, i) : [];
  const self = i >= 0 ? [same[i]!] : [];
  const sameAfter = i >= 0 ? same.slice(i + 1) : same;
  const earlier = [...older.reverse(), ...sameBefore].slice(Math.max(0, older.length + sameBefore.length - before));
  const later = [...sameAfter, ...newer].slice(0, after);
  return [...earlier, ...self, ...later].map(lineOf);
}
