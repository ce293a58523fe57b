// Paging and literal matching through the gateway: walking 50,000 matching lines page by page while new lines keep
// arriving repeats and skips none (point in time + search_after, many lines per millisecond); `contains` and
// `excludes` find exactly the lines that hold the value literally, whatever characters it has (wildcard and regex
// metacharacters, quotes, backslashes, query-string operators, JSON, Chinese, 10 kB).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from './harness/graphql.js';
import { startTestEs, type TestEs } from './harness/es.js';
import { quietLogger, STACK_IDENTITY_SECRET, startTestStack, type TestStack } from './harness/stack.js';
import { startLoggingSubgraph, type LoggingSubgraph } from '../services/logging/server.js';
import type { Gateway } from '../gateway/gateway.js';
import { bulkLoad, LINES_QUERY, longLineTemplate, type LogsPage, type SyntheticLine } from './logging-helpers.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

describe('paging', () => {
  it('walks 50,000 lines while lines arrive: no repeat, no gap, in order', async () => {
    const base = Date.parse('2026-12-01T10:00:00Z');
    // Five lines per millisecond: pages end in the middle of a millisecond, so the tie-breaker matters.
    const lines: SyntheticLine[] = Array.from({ length: 50_000 }, (_, i) => ({
      t: base + Math.floor(i / 5),
      namespace: 'synthetic-paging',
      pod: `gen-${i % 7}`,
      log: `line ${i}`,
    }));
    await bulkLoad(stack.es!.url, lines);
    const filter = {
      namespaces: ['synthetic-paging'],
      start: new Date(base).toISOString(),
      end: new Date(base + 20_000).toISOString(),
    };
    const seen = new Set<string>();
    let after: string | undefined;
    let previous = Infinity;
    let pages = 0;
    let arrived = 0;
    for (;;) {
      const r = await stack.gql<LogsPage>(LINES_QUERY, { filter, first: 1000, after });
      expect(r.errors).toBeUndefined();
      const page = r.data!.logs;
      if (pages === 0) {
        expect(page.totalCount).toBe(10_000);
        expect(page.totalCountIsExact).toBe(false);
      }
      for (const e of page.edges) {
        expect(seen.has(e.node.message), `repeated ${e.node.message}`).toBe(false);
        seen.add(e.node.message);
        const t = Date.parse(e.node.timestamp);
        expect(t).toBeLessThanOrEqual(previous);
        previous = t;
      }
      pages++;
      // New lines inside the walked range (same milliseconds as lines already read and still to read) while paging.
      const more: SyntheticLine[] = Array.from({ length: 200 }, (_, i) => ({
        t: base + ((pages * 977 + i * 53) % 10_000),
        namespace: 'synthetic-paging',
        pod: 'late',
        log: `late ${pages}-${i}`,
      }));
      await bulkLoad(stack.es!.url, more);
      arrived += more.length;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(arrived).toBeGreaterThan(0);
    expect(pages).toBe(50);
    expect(seen.size).toBe(50_000);
    for (let i = 0; i < 50_000; i++) expect(seen.has(`line ${i}`)).toBe(true);
    // A new search sees the lines that arrived.
    const now = await stack.gql<{ logStatistics: { lines: number } }>(
      'query($f: LogFilter) { logStatistics(filter: $f) { lines } }',
      { f: filter },
    );
    expect(now.data!.logStatistics.lines).toBe(50_000 + arrived);
  }, 600_000);

  it('refuses a cursor that was altered, and one of the other order', async () => {
    const r = await stack.gql<LogsPage>(LINES_QUERY, { filter: { namespaces: ['synthetic-paging'] }, first: 2 });
    const cursor = r.data!.logs.pageInfo.endCursor!;
    const [body, mac] = cursor.split('.');
    const forged = `${Buffer.from(Buffer.from(body!, 'base64url').toString().replace('synthetic-paging', 'analytics')).toString('base64url')}.${mac}`;
    for (const after of [forged, `${cursor}x`, 'garbage']) {
      const bad = await stack.gql(LINES_QUERY, { filter: { namespaces: ['synthetic-paging'] }, first: 2, after });
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    const other = await stack.gql(LINES_QUERY, {
      filter: { namespaces: ['synthetic-paging'] },
      first: 2,
      after: cursor,
      order: 'OLDEST_FIRST',
    });
    expect(other.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('literal matching', () => {
  let es: TestEs;
  let logging: LoggingSubgraph;
  let gateway: Gateway;
  const big = `${'x'.repeat(5000)}*?"\\${'y'.repeat(5000)}`;
  const VALUES = [
    '*',
    '?',
    '"',
    '\\',
    '/regex/',
    'AND OR NOT',
    '{"level":"error","code":42}',
    "'); DROP TABLE logs; --",
    'a.b*c',
    'node_cpu',
    '错误',
    big,
  ];
  // Lines that hold each value (in another case where it has letters) and decoys that a query language would match.
  const TEXTS = [
    'plain line without specials',
    'star * here',
    'question ? here',
    'quote " here',
    'backslash \\ here',
    'path /REGEX/ literal',
    'regex alone',
    'rEgEx without slashes',
    'and or not words',
    'AND only',
    'payload {"level":"error","code":42} sent',
    'payload {"level": "error", "code": 42} spaced',
    "sql '); drop table logs; -- injected",
    'a.b*c exact',
    'aXbYYc no dot',
    'a.bc no star',
    'metric NODE_CPU_usage',
    'node cpu apart',
    '发生错误了',
    '错 误 apart',
    `huge ${big} end`,
    `huge ${'x'.repeat(5000)} no specials ${'y'.repeat(5000)}`,
  ];

  beforeAll(async () => {
    es = await startTestEs();
    await longLineTemplate(es.url);
    const base = Date.parse('2026-12-02T08:00:00Z');
    await bulkLoad(
      es.url,
      TEXTS.map((log, i) => ({ t: base + i, namespace: 'synthetic-text', pod: 'text-0', log })),
    );
    logging = await startLoggingSubgraph({
      port: 0,
      log: quietLogger,
      identitySecret: STACK_IDENTITY_SECRET,
      kubeConfig: stack.cluster.kc,
      elasticsearch: { url: es.url },
    });
    gateway = await stack.startGateway({ subgraphUrls: { logging: logging.url } });
  }, 120_000);
  afterAll(async () => {
    await logging?.close();
    await es?.close();
  });

  const search = async (filter: Record<string, unknown>) => {
    const r = await gql<LogsPage>(gateway.url, LINES_QUERY, {
      filter: { namespaces: ['synthetic-text'], ...filter },
      first: 100,
    });
    expect(r.errors).toBeUndefined();
    return r.data!.logs.edges.map((e) => e.node.message).sort();
  };

  it.each(VALUES.map((v) => [v.length > 40 ? `${v.slice(0, 20)}… (${v.length} characters)` : v, v]))(
    'contains %s: exactly the lines that hold it, case-insensitively',
    async (_name, value) => {
      const want = TEXTS.filter((t) => t.toLowerCase().includes(value.toLowerCase())).sort();
      expect(want.length).toBeGreaterThan(0);
      expect(await search({ contains: [value] })).toEqual(want);
      expect(await search({ excludes: [value] })).toEqual(
        TEXTS.filter((t) => !t.toLowerCase().includes(value.toLowerCase())).sort(),
      );
    },
  );

  it('ANDs several contains and excludes', async () => {
    expect(await search({ contains: ['payload', 'error'], excludes: ['spaced'] })).toEqual([
      'payload {"level":"error","code":42} sent',
    ]);
  });

  it('refuses empty and oversized values', async () => {
    for (const contains of [[''], ['x'.repeat(16_385)]]) {
      const r = await gql(gateway.url, LINES_QUERY, { filter: { contains } });
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});
