// Log lines as the API shows them, from Elasticsearch hits; and what every part of the model shares.
import type { Tenancy, Viewer } from '../../common/authz.js';
import type { SearchHit } from '../clients/elasticsearch.js';
import type { NamespaceCreationTimes } from '../../common/tenancy.js';
import type { CursorCodec, LineCursor } from './cursor.js';
import type { ElasticsearchAccess } from './es-access.js';
import type { LogScope } from './filter.js';
import { FIELDS, queryOf, type LogSource } from './query.js';

export interface LogLineView {
  timestamp: string;
  message: string;
  stream: 'STDOUT' | 'STDERR' | null;
  namespace: string;
  podName: string;
  container: string;
  node: string | null;
}

export interface LogEdgeView {
  cursor: string;
  node: LogLineView;
}

export interface LogConnectionView {
  edges: LogEdgeView[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
  totalCountIsExact: boolean;
}

export interface LoggingModelOptions {
  access: ElasticsearchAccess;
  cursors: CursorCodec;
  /** Daily indices `<prefix>-YYYY.MM.DD`. */
  indexPrefix: string;
  /** How long a point in time stays open after the last page read from it (an Elasticsearch time unit). */
  pitKeepAlive: string;
  /** Creation times of the namespaces that exist (none known: no recreation filtering). */
  namespaces?: NamespaceCreationTimes;
  tenancy?: Tenancy;
}

/** The sort of a page: time, then (under a point in time) Elasticsearch's implicit tie-breaker. */
export const timeSort = (desc: boolean) => [
  { [FIELDS.timestamp]: { order: desc ? 'desc' : 'asc', unmapped_type: 'date' } },
];

/** The query of a scope, with the namespace creation times known now. */
export const scopeQuery = (opts: LoggingModelOptions, scope: LogScope) =>
  queryOf(scope, {
    createdAt: opts.namespaces?.entries() ?? [],
    oldestLine: opts.access.oldestLine(opts.indexPrefix),
  });

/** A line of a hit (without its trailing newline: Fluent Bit keeps the one the container wrote). */
export function lineOf(hit: SearchHit<LogSource>): LogLineView {
  const s = hit._source ?? {};
  const k = s.kubernetes ?? {};
  const stream = s.stream === 'stdout' ? 'STDOUT' : s.stream === 'stderr' ? 'STDERR' : null;
  const time = s.time && !Number.isNaN(Date.parse(s.time)) ? s.time : (s['@timestamp'] ?? new Date(0).toISOString());
  return {
    timestamp: time,
    message: (s.log ?? '').replace(/\r?\n$/, ''),
    stream,
    namespace: k.namespace_name ?? '',
    podName: k.pod_name ?? '',
    container: k.container_name ?? '',
    node: k.host ?? null,
  };
}

/** The time a hit sorts by (ms). */
export function hitTime(hit: SearchHit<LogSource>): number {
  const first = hit.sort?.[0];
  if (typeof first === 'number') return first;
  const t = Date.parse(hit._source?.['@timestamp'] ?? '');
  return Number.isNaN(t) ? 0 : t;
}

export function cursorOf(hit: SearchHit<LogSource>, pit: string | undefined, desc: boolean): LineCursor {
  const line = lineOf(hit);
  return {
    ...(pit !== undefined ? { pit } : {}),
    sort: hit.sort ?? [hitTime(hit)],
    at: hitTime(hit),
    index: hit._index,
    id: hit._id,
    namespace: line.namespace,
    pod: line.podName,
    container: line.container,
    desc,
  };
}

export type { Viewer };
