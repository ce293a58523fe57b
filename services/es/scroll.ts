// The scroll API: a search whose pages continue from where the last one ended, over the indices as they were when it
// started (a snapshot, as a point in time), until its keep-alive runs out or it is cleared.
import { randomBytes } from 'node:crypto';
import type { Cluster } from './cluster.js';
import { parseTimeValue } from './cluster.js';
import { EsError, ShardsFailedError, illegalArgument } from './errors.js';
import { search, type ScrollState, type SearchTarget } from './search.js';

interface ScrollContext {
  state: ScrollState;
  body: Record<string, unknown>;
  params: URLSearchParams;
  expiresAt: number;
}

const scrolls = new WeakMap<Cluster, Map<string, ScrollContext>>();

function contexts(cluster: Cluster): Map<string, ScrollContext> {
  let map = scrolls.get(cluster);
  if (!map) scrolls.set(cluster, (map = new Map()));
  const now = Date.now();
  for (const [id, c] of map) if (c.expiresAt <= now) map.delete(id);
  return map;
}

/** `_search?scroll=<keep-alive>`: the first page, and the scroll's id. */
export function startScroll(
  cluster: Cluster,
  target: SearchTarget,
  rawBody: unknown,
  params: URLSearchParams,
): Record<string, unknown> {
  const keepAlive = parseTimeValue(params.get('scroll') ?? '', 'scroll');
  const body = (rawBody && typeof rawBody === 'object' ? rawBody : {}) as Record<string, unknown>;
  if (body.pit !== undefined)
    throw new EsError(
      400,
      'action_request_validation_exception',
      'Validation Failed: 1: using [point in time] is not allowed in a scroll context;',
    );
  const indices = cluster.resolve(target.expression, {
    ignoreUnavailable: params.get('ignore_unavailable') === 'true',
    allowNoIndices: params.get('allow_no_indices') !== 'false',
  });
  const state: ScrollState = { snapshots: indices.map((i) => i.snapshot(cluster.generation)) };
  const first = search(cluster, target, body, params, state);
  const id = randomBytes(40).toString('base64');
  // Later pages: the same query and sort, no aggregations (Elasticsearch gives them with the first page only).
  const { aggs: _a, aggregations: _b, ...rest } = body;
  void _a;
  void _b;
  const later = new URLSearchParams(params);
  later.delete('scroll');
  contexts(cluster).set(id, { state, body: rest, params: later, expiresAt: Date.now() + keepAlive });
  return { _scroll_id: id, ...first };
}

/** `_search/scroll`: the next page. */
export function continueScroll(cluster: Cluster, id: unknown, keepAlive: unknown): Record<string, unknown> {
  if (typeof id !== 'string' || id === '')
    throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: scrollId is missing;');
  const context = contexts(cluster).get(id);
  if (!context) {
    throw new ShardsFailedError(
      new EsError(
        404,
        'search_context_missing_exception',
        `No search context found for id [${id.length > 40 ? '0' : id}]`,
      ),
      [],
    );
  }
  if (keepAlive !== undefined && keepAlive !== null)
    context.expiresAt = Date.now() + parseTimeValue(String(keepAlive), 'scroll');
  return { _scroll_id: id, ...search(cluster, {}, context.body, context.params, context.state) };
}

/** `DELETE _search/scroll`: frees the listed scrolls (or all with `_all`). */
export function clearScroll(cluster: Cluster, ids: unknown): { status: number; body: Record<string, unknown> } {
  const map = contexts(cluster);
  const list = Array.isArray(ids) ? ids : typeof ids === 'string' ? ids.split(',') : undefined;
  if (!list) throw illegalArgument('no scroll ids specified');
  let freed = 0;
  if (list.includes('_all')) {
    freed = map.size;
    map.clear();
  } else {
    for (const id of list) if (map.delete(String(id))) freed++;
  }
  return { status: freed === 0 && list.length > 0 ? 404 : 200, body: { succeeded: true, num_freed: freed } };
}
