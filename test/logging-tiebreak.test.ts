// Paging across same-millisecond lines on an Elasticsearch 7.10 (point in time, but no implicit `_shard_doc`
// tie-breaker: that came in 7.12) and on an 8.x, and across points in time that expire mid-walk: a new point in time
// numbers its shards (and so its `_shard_doc` values) anew, here because a new daily index of the range appeared.
// Every line is returned exactly once, in order, and the total stays the total of the search.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from './harness/graphql.js';
import { quietLogger } from './harness/stack.js';
import { Cluster } from '../services/es/cluster.js';
import { startEs, type EsServer } from '../services/es/server.js';
import { startLoggingSubgraph, type LoggingSubgraph } from '../services/logging/server.js';
import { bulkLoad, LINES_QUERY, type LogsPage, type SyntheticLine } from './logging-helpers.js';

const DAY2 = Date.parse('2026-12-04T06:00:00Z');
const DAY1 = Date.parse('2026-12-03T06:00:00Z');
const LINES = 600;
const filter = {
  namespaces: ['tiebreak'],
  start: new Date(DAY1).toISOString(),
  end: new Date(DAY2 + 60_000).toISOString(),
};

interface Server {
  es: EsServer;
  logging: LoggingSubgraph;
}

async function serverOf(version: string): Promise<Server> {
  const cluster = new Cluster();
  cluster.version = version;
  const es = await startEs({ port: 0, host: '127.0.0.1', cluster });
  // Seven lines per millisecond, all on the second day: pages of 10 end in the middle of a millisecond.
  const lines: SyntheticLine[] = Array.from({ length: LINES }, (_, i) => ({
    t: DAY2 + Math.floor(i / 7),
    namespace: 'tiebreak',
    pod: `p-${i % 3}`,
    log: `line ${i}`,
  }));
  await bulkLoad(es.url, lines);
  const logging = await startLoggingSubgraph({ port: 0, log: quietLogger, elasticsearch: { url: es.url } });
  return { es, logging };
}

const servers = new Map<string, Server>();
beforeAll(async () => {
  for (const v of ['7.10.2', '8.15.0']) servers.set(v, await serverOf(v));
}, 60_000);
afterAll(async () => {
  for (const s of servers.values()) {
    await s.logging.close();
    await s.es.close();
  }
});

describe.each(['7.10.2', '8.15.0'])('Elasticsearch %s', (version) => {
  it.each(['NEWEST_FIRST', 'OLDEST_FIRST'])(
    'walks same-millisecond page boundaries and expired points in time, %s: no repeat, no gap',
    async (order) => {
      const { es, logging } = servers.get(version)!;
      // Without a tie-breaker the server adds none: its hits carry only the time.
      const first = await gql<LogsPage>(logging.url, LINES_QUERY, { filter, order, first: 1 });
      const raw = JSON.parse(Buffer.from(first.data!.logs.edges[0]!.cursor.split('.')[0]!, 'base64url').toString());
      expect((raw[1] as unknown[]).length).toBe(version.startsWith('7.') ? 1 : 2);

      const seen = new Map<string, number>();
      let after: string | undefined;
      let previous = order === 'NEWEST_FIRST' ? Infinity : -Infinity;
      let pages = 0;
      let late = 0;
      for (;;) {
        const r = await gql<LogsPage>(logging.url, LINES_QUERY, { filter, order, first: 10, after });
        expect(r.errors).toBeUndefined();
        const page = r.data!.logs;
        // The total is the search's, not what is left after the cursor.
        expect(page.totalCount).toBeGreaterThanOrEqual(LINES);
        for (const e of page.edges) {
          seen.set(e.node.message, (seen.get(e.node.message) ?? 0) + 1);
          const t = Date.parse(e.node.timestamp);
          if (order === 'NEWEST_FIRST') expect(t).toBeLessThanOrEqual(previous);
          else expect(t).toBeGreaterThanOrEqual(previous);
          previous = t;
        }
        pages++;
        if (pages % 13 === 0) {
          // A line of the range's first day (its index appears in the next point in time, before the other
          // day's), then every point in time expires.
          await bulkLoad(es.url, [{ t: DAY1 + pages, namespace: 'tiebreak', pod: 'late', log: `late ${pages}` }]);
          late++;
          expect(es.cluster.closeAllPits()).toBeGreaterThan(0);
        }
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor!;
      }
      expect(late).toBeGreaterThan(2);
      const repeated = [...seen].filter(([, n]) => n > 1).map(([m]) => m);
      expect(repeated).toEqual([]);
      const missing = Array.from({ length: LINES }, (_, i) => `line ${i}`).filter((m) => !seen.has(m));
      expect(missing).toEqual([]);
      await fetch(`${es.url}/ks-logstash-log-2026.12.03`, { method: 'DELETE' });
    },
    120_000,
  );
});
