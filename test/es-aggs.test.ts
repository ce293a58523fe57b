// Aggregations of the Elasticsearch stand-in as the Elasticsearch reference describes them: date_histogram
// (fixed_interval, calendar_interval, extended_bounds, hard_bounds, min_doc_count, the removed `interval`), terms,
// cardinality, value_count, min, max and sub-aggregations; answers laid out like the real ones in
// ../shared/fixtures/elasticsearch.
import type { Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { type EsBody as Body, esFailure as failure, esFixture as fixture, useTestEs } from './harness/es.js';

let client: Client;
const T0 = Date.parse('2020-05-16T16:00:00Z');
const MIN = 60_000;

// 3 containers; lines at minutes 0, 1, 1, 5, 5, 5 and 70 after T0 (a gap from minute 6 to 69).
const LINES: { minute: number; ns: string; pod: string; docker: string; level?: number }[] = [
  { minute: 0, ns: 'kube-system', pod: 'calico-node-gc7pp', docker: 'c00a', level: 1 },
  { minute: 1, ns: 'kube-system', pod: 'calico-node-gc7pp', docker: 'c00a', level: 3 },
  { minute: 1, ns: 'kubesphere-system', pod: 'redis-ha-haproxy', docker: 'a673', level: 2 },
  { minute: 5, ns: 'kubesphere-system', pod: 'redis-ha-haproxy', docker: 'a673' },
  { minute: 5, ns: 'istio-system', pod: 'mixer', docker: 'b111', level: 7 },
  { minute: 5, ns: 'kubesphere-system', pod: 'redis-ha-haproxy', docker: 'a673', level: 2 },
  { minute: 70, ns: 'kubesphere-system', pod: 'redis-ha-haproxy', docker: 'a999', level: 5 },
];

useTestEs(async (started) => {
  client = started;
  const body = LINES.flatMap((l, i) => {
    const t = T0 + l.minute * MIN + i;
    return [
      { index: { _index: 'ks-logstash-log-2020.05.16' } },
      {
        '@timestamp': new Date(t).toISOString(),
        time: new Date(t).toISOString().replace('Z', '962452Z'),
        log: `line ${i}\n`,
        ...(l.level !== undefined ? { level: l.level } : {}),
        kubernetes: {
          namespace_name: l.ns,
          pod_name: l.pod,
          docker_id: l.docker,
          container_name: 'c',
          host: 'master0',
        },
      },
    ];
  });
  await client.bulk({ refresh: true, body });
});

async function aggs(aggregations: Body, query: Body = { match_all: {} }): Promise<Body> {
  const r = await client.search({ index: 'ks-logstash-log-*', body: { size: 0, query, aggs: aggregations } });
  return r.body.aggregations as Body;
}

const iso = (minute: number) => new Date(T0 + minute * MIN).toISOString();

describe('date_histogram', () => {
  it('buckets with fixed_interval, laid out like the real answer, empty buckets between the first and last', async () => {
    const a = await aggs({ date_histogram_aggregation: { date_histogram: { field: 'time', fixed_interval: '30m' } } });
    const real = fixture('es7_search_date_histogram_200.json').aggregations.date_histogram_aggregation.buckets[0];
    const buckets = a.date_histogram_aggregation.buckets as Body[];
    expect(Object.keys(buckets[0])).toEqual(Object.keys(real));
    // Minutes 0..5 fall in the first half hour, 70 in the third: the second is there, empty (min_doc_count 0).
    expect(buckets).toEqual([
      { key_as_string: '2020-05-16T16:00:00.000Z', key: T0, doc_count: 6 },
      { key_as_string: '2020-05-16T16:30:00.000Z', key: T0 + 30 * MIN, doc_count: 0 },
      { key_as_string: '2020-05-16T17:00:00.000Z', key: T0 + 60 * MIN, doc_count: 1 },
    ]);
  });

  it('extends the buckets over extended_bounds, and drops empty ones with min_doc_count 1', async () => {
    const a = await aggs({
      h: {
        date_histogram: {
          field: '@timestamp',
          fixed_interval: '1h',
          extended_bounds: { min: '2020-05-16T14:00:00Z', max: '2020-05-16T19:30:00Z' },
        },
      },
      dense: { date_histogram: { field: '@timestamp', fixed_interval: '1m', min_doc_count: 1 } },
    });
    expect(a.h.buckets.map((b: Body) => [b.key_as_string, b.doc_count])).toEqual([
      ['2020-05-16T14:00:00.000Z', 0],
      ['2020-05-16T15:00:00.000Z', 0],
      ['2020-05-16T16:00:00.000Z', 6],
      ['2020-05-16T17:00:00.000Z', 1],
      ['2020-05-16T18:00:00.000Z', 0],
      ['2020-05-16T19:00:00.000Z', 0],
    ]);
    expect(a.dense.buckets.map((b: Body) => [b.key_as_string, b.doc_count])).toEqual([
      [iso(0), 1],
      [iso(1), 2],
      [iso(5), 3],
      [iso(70), 1],
    ]);
  });

  it('limits buckets to hard_bounds', async () => {
    const a = await aggs({
      h: { date_histogram: { field: 'time', fixed_interval: '1m', hard_bounds: { min: iso(1), max: iso(5) } } },
    });
    expect(a.h.buckets.map((b: Body) => [b.key_as_string, b.doc_count])).toEqual([
      [iso(1), 2],
      [iso(2), 0],
      [iso(3), 0],
      [iso(4), 0],
      [iso(5), 3],
    ]);
  });

  it('buckets calendar months and days with calendar_interval', async () => {
    const a = await aggs({
      m: { date_histogram: { field: 'time', calendar_interval: 'month' } },
      d: { date_histogram: { field: 'time', calendar_interval: '1d', format: 'yyyy-MM-dd' } },
    });
    expect(a.m.buckets).toEqual([
      { key_as_string: '2020-05-01T00:00:00.000Z', key: Date.parse('2020-05-01T00:00:00Z'), doc_count: 7 },
    ]);
    expect(a.d.buckets).toEqual([
      { key_as_string: '2020-05-16', key: Date.parse('2020-05-16T00:00:00Z'), doc_count: 7 },
    ]);
  });

  it('refuses the `interval` parameter that Elasticsearch 8 removed, and intervals it cannot parse', async () => {
    const removed = await failure(
      client.search({
        index: 'ks-logstash-log-*',
        body: { aggs: { h: { date_histogram: { field: 'time', interval: '30m' } } } },
      }),
    );
    expect(removed.status).toBe(400);
    expect(removed.body.error.type).toBe('x_content_parse_exception');
    expect(removed.body.error.reason).toMatch(/\[date_histogram\] unknown field \[interval\]/);
    const bad = await failure(
      client.search({
        index: 'ks-logstash-log-*',
        body: { aggs: { h: { date_histogram: { field: 'time', fixed_interval: '30m0s' } } } },
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.caused_by.reason).toMatch(
      /failed to parse setting \[date_histogram.fixedInterval\] with value \[30m0s\]/,
    );
    // The envelope of a real 400 (fixture es7_search_400_bad_interval.json): root_cause list, type, reason, status.
    const real = fixture('es7_search_400_bad_interval.json');
    expect(Object.keys(bad.body).sort()).toEqual(Object.keys(real).sort());
    for (const k of ['root_cause', 'type', 'reason']) expect(bad.body.error).toHaveProperty(k);
    const calendar = await failure(
      client.search({
        index: 'ks-logstash-log-*',
        body: { aggs: { h: { date_histogram: { field: 'time', calendar_interval: '2d' } } } },
      }),
    );
    expect(calendar.status).toBe(400);
    expect(JSON.stringify(calendar.body)).toMatch(
      /The supplied interval \[2d\] could not be parsed as a calendar interval/,
    );
    const none = await failure(
      client.search({ index: 'ks-logstash-log-*', body: { aggs: { h: { date_histogram: { field: 'time' } } } } }),
    );
    expect(none.status).toBe(400);
  });
});

describe('metrics and terms', () => {
  it('counts distinct values with cardinality, laid out like the real answer', async () => {
    const a = await aggs({ container_count: { cardinality: { field: 'kubernetes.docker_id.keyword' } } });
    expect(a).toEqual({ container_count: { value: 4 } });
    expect(Object.keys(a.container_count)).toEqual(
      Object.keys(fixture('es7_search_cardinality_200.json').aggregations.container_count),
    );
  });

  it('value_count, min and max (dates also as strings)', async () => {
    const a = await aggs({
      n: { value_count: { field: 'level' } },
      lo: { min: { field: 'level' } },
      hi: { max: { field: 'level' } },
      first: { min: { field: '@timestamp' } },
      none: { max: { field: 'level' } },
    });
    expect(a.n).toEqual({ value: 6 });
    expect(a.lo).toEqual({ value: 1 });
    expect(a.hi).toEqual({ value: 7 });
    expect(a.first).toEqual({ value: T0, value_as_string: iso(0) });
    const empty = await aggs(
      { none: { max: { field: 'level' } } },
      { term: { 'kubernetes.pod_name.keyword': 'nobody' } },
    );
    expect(empty.none).toEqual({ value: null });
  });

  it('terms: most frequent first, size, order by key, sum_other_doc_count', async () => {
    const a = await aggs({
      ns: { terms: { field: 'kubernetes.namespace_name.keyword' } },
      top1: { terms: { field: 'kubernetes.namespace_name.keyword', size: 1 } },
      byKey: { terms: { field: 'kubernetes.namespace_name.keyword', order: { _key: 'asc' } } },
    });
    expect(a.ns).toEqual({
      doc_count_error_upper_bound: 0,
      sum_other_doc_count: 0,
      buckets: [
        { key: 'kubesphere-system', doc_count: 4 },
        { key: 'kube-system', doc_count: 2 },
        { key: 'istio-system', doc_count: 1 },
      ],
    });
    expect(a.top1.sum_other_doc_count).toBe(3);
    expect(a.top1.buckets).toEqual([{ key: 'kubesphere-system', doc_count: 4 }]);
    expect(a.byKey.buckets.map((b: Body) => b.key)).toEqual(['istio-system', 'kube-system', 'kubesphere-system']);
  });

  it('refuses terms on a text field', async () => {
    const r = await failure(
      client.search({ index: 'ks-logstash-log-*', body: { aggs: { t: { terms: { field: 'log' } } } } }),
    );
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/Text fields are not optimised/);
  });

  it('nests aggregations under each bucket', async () => {
    const a = await aggs({
      ns: {
        terms: { field: 'kubernetes.namespace_name.keyword', order: { _key: 'asc' } },
        aggs: {
          containers: { cardinality: { field: 'kubernetes.docker_id.keyword' } },
          over_time: {
            date_histogram: { field: 'time', fixed_interval: '1h' },
            aggs: { worst: { max: { field: 'level' } } },
          },
        },
      },
    });
    const ks = a.ns.buckets.find((b: Body) => b.key === 'kubesphere-system');
    expect(ks.containers).toEqual({ value: 2 });
    expect(ks.over_time.buckets).toEqual([
      { key_as_string: '2020-05-16T16:00:00.000Z', key: T0, doc_count: 3, worst: { value: 2 } },
      { key_as_string: '2020-05-16T17:00:00.000Z', key: T0 + 60 * MIN, doc_count: 1, worst: { value: 5 } },
    ]);
  });

  it('aggregates over what the query matched only', async () => {
    const a = await aggs(
      { c: { value_count: { field: 'kubernetes.pod_name.keyword' } } },
      { term: { 'kubernetes.namespace_name.keyword': 'kube-system' } },
    );
    expect(a.c.value).toBe(2);
  });
});
