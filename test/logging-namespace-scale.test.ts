// Thousands of namespaces created inside the search range (right after a start, every namespace is "new"): the
// creation-time filter groups them by creation time into terms + range pairs, nested so that no bool query has more
// clauses than Elasticsearch 7 allows (indices.query.bool.max_clause_count, 1,024), and a namespace created again
// still hides its predecessor's lines; one created after the range is left out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_VIEWER } from '../services/common/authz.js';
import { startTestEs, type TestEs } from './harness/es.js';
import { ElasticsearchClient } from '../services/logging/clients/elasticsearch.js';
import {
  createLoggingModel,
  CursorCodec,
  ElasticsearchAccess,
  type LoggingModel,
} from '../services/logging/model/index.js';
import { queryOf } from '../services/logging/model/query.js';
import type { LogScope } from '../services/logging/model/filter.js';
import { bulkLoad, INDEX_PREFIX, type SyntheticLine } from './logging-helpers.js';

const START = Date.parse('2026-12-07T00:00:00Z');
const END = Date.parse('2026-12-07T12:00:00Z');
const NAMESPACES = 4000;

/** 4,000 namespaces created in the range, twenty per second (a batch), plus 300 at seconds of their own. */
function creationTimes(): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < NAMESPACES; i++) m.set(`ns-${i}`, START + 60_000 + Math.floor(i / 20) * 1000);
  for (let i = 0; i < 300; i++) m.set(`solo-${i}`, START + 7_200_000 + i * 7000);
  m.set('reborn', START + 3_600_000);
  m.set('future', END + 60_000);
  return m;
}

/** The most clauses any one bool query of `q` has. */
function widestBool(q: unknown): number {
  if (Array.isArray(q)) return Math.max(0, ...q.map(widestBool));
  if (typeof q !== 'object' || q === null) return 0;
  const o = q as Record<string, unknown>;
  let own = 0;
  if (typeof o.bool === 'object' && o.bool !== null) {
    const b = o.bool as Record<string, unknown[] | undefined>;
    own = ['filter', 'must', 'should', 'must_not'].reduce((n, k) => n + (Array.isArray(b[k]) ? b[k].length : 0), 0);
  }
  return Math.max(own, ...Object.values(o).map(widestBool));
}

const scope = (namespaces: LogScope['namespaces']): LogScope => ({
  namespaces,
  workloads: [],
  pods: [],
  containers: [],
  nodes: [],
  streams: [],
  contains: [],
  excludes: [],
  start: START,
  end: END,
});

describe('the creation-time filter of thousands of namespaces', () => {
  it('stays within 1,024 clauses per bool query, one pair per creation time', () => {
    const times = creationTimes();
    const q = queryOf(scope('all'), { createdAt: times.entries() });
    expect(widestBool(q)).toBeLessThanOrEqual(1024);
    const text = JSON.stringify(q);
    // 200 batch seconds + 300 solo seconds + reborn: 501 range clauses with the search's own range.
    expect(text.match(/"range"/g)!.length).toBe(1 + 200 + 300 + 1);
    // The namespace created after the range is left out, not given a clause of its own.
    expect((q as { bool: { must_not: unknown[] } }).bool.must_not).toContainEqual({
      terms: { 'kubernetes.namespace_name.keyword': ['future'] },
    });
    const listed = queryOf(scope([...times.keys()].sort()), { createdAt: times.entries() });
    expect(widestBool(listed)).toBeLessThanOrEqual(1024);
    expect(JSON.stringify(listed)).not.toContain('"future"');
  });
});

describe('searching over them', () => {
  let es: TestEs;
  let client: ElasticsearchClient;
  let model: LoggingModel;
  const times = creationTimes();
  beforeAll(async () => {
    es = await startTestEs();
    const lines: SyntheticLine[] = [
      { t: START + 1000, namespace: 'reborn', pod: 'old', log: 'predecessor line' },
      { t: START + 3_700_000, namespace: 'reborn', pod: 'new', log: 'own line' },
      { t: START + 3_000_000, namespace: 'future', pod: 'old', log: 'line of the future namesake' },
      { t: START + 4_000_000, namespace: 'ns-3999', pod: 'p', log: 'batch line' },
      { t: START + 1000, namespace: 'ns-3999', pod: 'p', log: 'before the batch' },
      { t: START + 7_200_000 + 299 * 7000 + 5, namespace: 'solo-299', pod: 'p', log: 'solo line' },
    ];
    await bulkLoad(es.url, lines);
    client = new ElasticsearchClient({
      url: es.url,
      timeoutMs: 10_000,
      breakerFailures: 0,
      breakerOpenMs: 0,
      maxConcurrent: 4,
      maxQueued: 100,
    });
    model = createLoggingModel({
      access: new ElasticsearchAccess(client),
      cursors: new CursorCodec(),
      indexPrefix: INDEX_PREFIX,
      pitKeepAlive: '1m',
      namespaces: { createdAt: (ns) => times.get(ns), entries: () => times.entries() },
    });
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await es?.close();
  });

  it('succeeds, and a namespace created again hides its predecessor', async () => {
    const session = model.session(DEV_VIEWER);
    const filter = { start: new Date(START).toISOString(), end: new Date(END).toISOString() };
    const page = await session.logs({ filter, first: 100 });
    expect(page.edges.map((e) => e.node.message).sort()).toEqual(['batch line', 'own line', 'solo line']);
    const stats = await session.statistics(filter);
    expect(stats.lines).toBe(3);
    const named = await session.logs({ filter: { ...filter, namespaces: ['reborn', 'future', 'ns-3999'] } });
    expect(named.edges.map((e) => e.node.message).sort()).toEqual(['batch line', 'own line']);
  });
});
