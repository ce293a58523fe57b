// What the logging tests share: synthetic Fluent-Bit-shaped documents bulk-loaded into the Elasticsearch stand-in,
// a recording HTTP proxy in front of it (the request bodies the logging subgraph sends, asserted by the tests), and
// the export read as a stream.
import type { FluentBitRecord } from '../services/es/shipper.js';

export const INDEX_PREFIX = 'ks-logstash-log';

const two = (n: number) => String(n).padStart(2, '0');
export const dailyIndexOf = (t: number): string => {
  const d = new Date(t);
  return `${INDEX_PREFIX}-${d.getUTCFullYear()}.${two(d.getUTCMonth() + 1)}.${two(d.getUTCDate())}`;
};

export interface SyntheticLine {
  t: number;
  namespace: string;
  pod: string;
  container?: string;
  node?: string;
  stream?: 'stdout' | 'stderr';
  log: string;
  dockerId?: string;
}

export const recordOf = (l: SyntheticLine): FluentBitRecord => ({
  '@timestamp': new Date(l.t).toISOString(),
  log: `${l.log}\n`,
  time: new Date(l.t).toISOString(),
  stream: l.stream ?? 'stdout',
  kubernetes: {
    pod_name: l.pod,
    namespace_name: l.namespace,
    pod_id: `uid-${l.pod}`,
    host: l.node ?? 'node-synthetic',
    container_name: l.container ?? 'app',
    docker_id: l.dockerId ?? `docker-${l.pod}-${l.container ?? 'app'}`,
    container_hash: 'sha256:0',
    container_image: 'example/app:1',
  },
});

/** Bulk-loads lines into their daily indices (in requests of `batch`), refreshed so that searches see them. */
export async function bulkLoad(esUrl: string, lines: SyntheticLine[], batch = 5000): Promise<void> {
  for (let i = 0; i < lines.length; i += batch) {
    const body =
      lines
        .slice(i, i + batch)
        .flatMap((l) => [JSON.stringify({ create: { _index: dailyIndexOf(l.t) } }), JSON.stringify(recordOf(l))])
        .join('\n') + '\n';
    const r = await fetch(`${esUrl}/_bulk?refresh=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    const answer = (await r.json()) as { errors?: boolean; items?: unknown[] };
    if (r.status !== 200 || answer.errors)
      throw new Error(`bulk failed: ${r.status} ${JSON.stringify(answer).slice(0, 500)}`);
  }
}

/** An index template so that `log.keyword` holds long lines (the README's advice; dynamic mapping stops at 256). */
export async function longLineTemplate(esUrl: string): Promise<void> {
  const r = await fetch(`${esUrl}/_index_template/kubegraph-test-logs`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      index_patterns: [`${INDEX_PREFIX}-*`],
      priority: 10,
      template: {
        mappings: {
          properties: { log: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 32766 } } } },
        },
      },
    }),
  });
  if (r.status !== 200) throw new Error(`index template: ${r.status} ${await r.text()}`);
}

// The recording proxy lives in the harness (the monitoring benchmark counts Prometheus requests with it too).
export { recordingProxy, type RecordedRequest } from './harness/proxy.js';

export const LINES_QUERY = `query($filter: LogFilter, $order: LogOrder, $first: Int, $after: String) {
  logs(filter: $filter, order: $order, first: $first, after: $after) {
    totalCount totalCountIsExact
    pageInfo { hasNextPage endCursor }
    edges { cursor node { timestamp message stream namespace podName container node } }
  }
}`;

export interface LineView {
  timestamp: string;
  message: string;
  stream: string | null;
  namespace: string;
  podName: string;
  container: string;
  node: string | null;
}

export interface LogsPage {
  logs: {
    totalCount: number;
    totalCountIsExact: boolean;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: LineView }[];
  };
}
