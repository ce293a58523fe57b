// Log search through the gateway on the test stack: every LogFilter field alone and combined against the ground truth
// of what the shipper sent (the documents Elasticsearch acknowledged), histogram buckets and totals, context around a
// hit, newest/oldest order, and the request bodies the logging subgraph sends (asserted through a recording proxy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShippedDocument } from '../services/es/shipper.js';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';
import { LINES_QUERY, recordingProxy, type LineView, type LogsPage } from './logging-helpers.js';
import { startLoggingSubgraph } from '../services/logging/server.js';
import { quietLogger, STACK_IDENTITY_SECRET } from './harness/stack.js';

let stack: TestStack;
/** The window every query of the ground-truth tests is bounded by: every line in it has been shipped. */
let start: number;
let end: number;
let docs: ShippedDocument[];
const created = new Map<string, number>();
const workspaceOf = new Map<string, string>();

beforeAll(async () => {
  stack = await startTestStack();
  await eventually(() => stack.shipped.length > 2000 || undefined, 60_000, 'lines shipped');
  end = Date.now() - 1000;
  await stack.shipper!.flush();
  for (const ns of (await stack.cluster.core.listNamespace()).items) {
    created.set(ns.metadata!.name!, new Date(ns.metadata!.creationTimestamp!).getTime());
    const ws = ns.metadata?.labels?.['kubesphere.io/workspace'];
    if (ws) workspaceOf.set(ns.metadata!.name!, ws);
  }
  const at = (d: ShippedDocument) => Date.parse(d._source['@timestamp']);
  start = Math.min(...stack.shipped.map(at));
  // Lines of a namespace from before its creation belong to an older namespace of that name: never shown.
  docs = stack.shipped.filter(
    (d) => at(d) >= start && at(d) <= end && at(d) >= (created.get(d._source.kubernetes.namespace_name) ?? Infinity),
  );
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

const iso = (t: number) => new Date(t).toISOString();
const at = (d: ShippedDocument) => Date.parse(d._source['@timestamp']);
const keyOfDoc = (d: ShippedDocument) =>
  `${d._source.kubernetes.namespace_name}/${d._source.kubernetes.pod_name}/${d._source.kubernetes.container_name}/${d._source.time}/${d._source.log.replace(/\r?\n$/, '')}`;
const keyOfLine = (l: LineView) => `${l.namespace}/${l.podName}/${l.container}/${l.timestamp}/${l.message}`;

async function statisticsOf(filter: Record<string, unknown>) {
  const r = await stack.gql<{ logStatistics: { lines: number; containers: number } }>(
    'query($f: LogFilter) { logStatistics(filter: $f) { lines containers } }',
    { f: filter },
  );
  expect(r.errors).toBeUndefined();
  return r.data!.logStatistics;
}

/** The filter's first page and count against the shipped documents that `expected` selects. */
async function checkAgainstTruth(filter: Record<string, unknown>, expected: (d: ShippedDocument) => boolean) {
  const want = docs.filter(expected);
  const f = { start: iso(start), end: iso(end), ...filter };
  const stats = await statisticsOf(f);
  expect(stats.lines, JSON.stringify(filter)).toBe(want.length);
  expect(stats.containers).toBe(new Set(want.map((d) => d._source.kubernetes.docker_id)).size);
  const r = await stack.gql<LogsPage>(LINES_QUERY, { filter: f, first: 200 });
  expect(r.errors).toBeUndefined();
  const page = r.data!.logs;
  expect(page.totalCount).toBe(Math.min(want.length, 10_000));
  expect(page.totalCountIsExact).toBe(want.length <= 10_000);
  // Newest first: the page is the newest lines (those at the boundary's millisecond may be any of them).
  const sorted = [...want].sort((a, b) => at(b) - at(a));
  const wanted = new Set(want.map(keyOfDoc));
  for (const e of page.edges) expect(wanted.has(keyOfLine(e.node)), keyOfLine(e.node)).toBe(true);
  expect(page.edges.length).toBe(Math.min(200, want.length));
  if (want.length > 200) {
    const boundary = at(sorted[199]!);
    const got = new Set(page.edges.map((e) => keyOfLine(e.node)));
    for (const d of sorted.filter((d) => at(d) > boundary)) expect(got.has(keyOfDoc(d))).toBe(true);
  }
  const times = page.edges.map((e) => Date.parse(e.node.timestamp));
  for (let i = 1; i < times.length; i++) expect(times[i]!).toBeLessThanOrEqual(times[i - 1]! + 1);
  return want.length;
}

describe('every filter field against what the shipper sent', () => {
  const k = (d: ShippedDocument) => d._source.kubernetes;
  it('namespaces', async () => {
    expect(await checkAgainstTruth({ namespaces: ['shop'] }, (d) => k(d).namespace_name === 'shop')).toBeGreaterThan(0);
    await checkAgainstTruth({ namespaces: ['shop', 'analytics'] }, (d) =>
      ['shop', 'analytics'].includes(k(d).namespace_name),
    );
  });
  it('workspaces', async () => {
    expect(
      await checkAgainstTruth(
        { workspaces: ['demo-shop'] },
        (d) => workspaceOf.get(k(d).namespace_name) === 'demo-shop',
      ),
    ).toBeGreaterThan(0);
  });
  it('workloads (their pods, not those of a workload whose name extends theirs)', async () => {
    const podsOf = async (ns: string, app: string) =>
      new Set(
        (await stack.cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items.map(
          (p) => p.metadata!.name!,
        ),
      );
    const frontend = await podsOf('shop', 'frontend');
    const redis = await podsOf('shop', 'redis');
    expect(frontend.size).toBeGreaterThan(0);
    expect(
      await checkAgainstTruth(
        { workloads: [{ namespace: 'shop', kind: 'DEPLOYMENT', name: 'frontend' }] },
        (d) => k(d).namespace_name === 'shop' && frontend.has(k(d).pod_name),
      ),
    ).toBeGreaterThan(0);
    await checkAgainstTruth(
      {
        workloads: [
          { namespace: 'shop', kind: 'DEPLOYMENT', name: 'frontend' },
          { namespace: 'shop', kind: 'STATEFUL_SET', name: 'redis' },
        ],
      },
      (d) => k(d).namespace_name === 'shop' && (frontend.has(k(d).pod_name) || redis.has(k(d).pod_name)),
    );
  });
  it('pods, containers, nodes, streams', async () => {
    const sample = docs.find((d) => k(d).namespace_name === 'shop')!;
    await checkAgainstTruth({ pods: [k(sample).pod_name] }, (d) => k(d).pod_name === k(sample).pod_name);
    await checkAgainstTruth(
      { containers: [k(sample).container_name] },
      (d) => k(d).container_name === k(sample).container_name,
    );
    await checkAgainstTruth({ nodes: [k(sample).host] }, (d) => k(d).host === k(sample).host);
    await checkAgainstTruth({ streams: ['STDERR'] }, (d) => d._source.stream === 'stderr');
    expect(await checkAgainstTruth({ streams: ['STDOUT'] }, (d) => d._source.stream === 'stdout')).toBeGreaterThan(0);
    await checkAgainstTruth({ streams: ['STDOUT', 'STDERR'] }, () => true);
  });
  it('contains (case-insensitive substrings, ANDed) and excludes', async () => {
    const has = (d: ShippedDocument, s: string) => d._source.log.toLowerCase().includes(s.toLowerCase());
    expect(await checkAgainstTruth({ contains: ['get /'] }, (d) => has(d, 'get /'))).toBeGreaterThan(0);
    await checkAgainstTruth({ contains: ['GET', 'HTTP/1.1" 200'] }, (d) => has(d, 'GET') && has(d, 'HTTP/1.1" 200'));
    await checkAgainstTruth({ excludes: ['get'] }, (d) => !has(d, 'get'));
    await checkAgainstTruth(
      { contains: ['http'], excludes: ['healthz', 'mozilla'] },
      (d) => has(d, 'http') && !has(d, 'healthz') && !has(d, 'mozilla'),
    );
  });
  it('start and end', async () => {
    const mid = Math.round((start + end) / 2);
    await checkAgainstTruth({ start: iso(mid) }, (d) => at(d) >= mid);
    await checkAgainstTruth({ end: iso(mid) }, (d) => at(d) <= mid);
  });
  it('everything together', async () => {
    const sample = docs.find((d) => k(d).namespace_name === 'shop' && d._source.log.includes(' '))!;
    const word = sample._source.log.split(' ')[1]!.slice(0, 4);
    await checkAgainstTruth(
      {
        workspaces: ['demo-shop'],
        namespaces: ['shop', 'analytics'],
        containers: [k(sample).container_name],
        nodes: [k(sample).host],
        streams: [sample._source.stream.toUpperCase()],
        contains: [word],
        excludes: ['zzz-never'],
      },
      (d) =>
        k(d).namespace_name === 'shop' &&
        k(d).container_name === k(sample).container_name &&
        k(d).host === k(sample).host &&
        d._source.stream === sample._source.stream &&
        d._source.log.toLowerCase().includes(word.toLowerCase()),
    );
  });
});

describe('order, histogram, context', () => {
  it('walks oldest first as well', async () => {
    const f = { namespaces: ['analytics'], start: iso(start), end: iso(end) };
    const r = await stack.gql<LogsPage>(LINES_QUERY, { filter: f, first: 50, order: 'OLDEST_FIRST' });
    const want = docs.filter((d) => d._source.kubernetes.namespace_name === 'analytics').sort((a, b) => at(a) - at(b));
    const times = r.data!.logs.edges.map((e) => Date.parse(e.node.timestamp));
    expect(times.length).toBe(Math.min(50, want.length));
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]! - 1);
    expect(Math.abs(times[0]! - at(want[0]!))).toBeLessThanOrEqual(1);
  });

  it('counts lines per bucket over the whole range, empty buckets included', async () => {
    // From a minute before the first line shipped (empty buckets) to the end of the window.
    const from = start - 60_000;
    const to = end;
    const r = await stack.gql<{
      logHistogram: { interval: string; total: number; buckets: { start: string; count: number }[] };
    }>(
      'query($f: LogFilter, $i: String) { logHistogram(filter: $f, interval: $i) { interval total buckets { start count } } }',
      { f: { namespaces: ['shop'], start: iso(from), end: iso(to) }, i: '10s' },
    );
    expect(r.errors).toBeUndefined();
    const h = r.data!.logHistogram;
    expect(h.interval).toBe('10s');
    const want = docs.filter((d) => d._source.kubernetes.namespace_name === 'shop');
    expect(h.total).toBe(want.length);
    // Buckets from the range's start to its end, 10 s apart, the first and last ones empty (outside the lines).
    const first = Math.floor(from / 10_000) * 10_000;
    expect(Date.parse(h.buckets[0]!.start)).toBe(first);
    expect(h.buckets.length).toBe(Math.floor(to / 10_000) - Math.floor(from / 10_000) + 1);
    expect(h.buckets[0]!.count).toBe(0);
    for (const [i, b] of h.buckets.entries()) {
      const s = Date.parse(b.start);
      expect(s).toBe(first + i * 10_000);
      expect(b.count, b.start).toBe(want.filter((d) => at(d) >= Math.max(s, from) && at(d) < s + 10_000).length);
    }
    // Without an interval: about 60 buckets over the range.
    const auto = await stack.gql<{ logHistogram: { interval: string; total: number; buckets: unknown[] } }>(
      'query($f: LogFilter) { logHistogram(filter: $f) { interval total buckets { count } } }',
      { f: { namespaces: ['shop'], start: iso(from), end: iso(to) } },
    );
    expect(auto.data!.logHistogram.buckets.length).toBeGreaterThanOrEqual(59);
    expect(auto.data!.logHistogram.buckets.length).toBeLessThanOrEqual(62);
    expect(auto.data!.logHistogram.total).toBe(want.length);
    const bad = await stack.gql('{ logHistogram(interval: "30m0s") { total } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('opens the lines around a hit, from its container, in order', async () => {
    const f = { namespaces: ['shop'], start: iso(start), end: iso(end) };
    const r = await stack.gql<LogsPage>(LINES_QUERY, { filter: f, first: 100 });
    const hit = r.data!.logs.edges[60]!;
    // The context is not bounded by the search's range: lines shipped after `end` can be among them. Compared with
    // every line shipped when it is asked (flushed just before), not only the range's.
    await stack.shipper!.flush();
    const shipped = [...stack.shipped];
    const c = await stack.gql<{ logContext: LineView[] }>(
      'query($c: String!) { logContext(cursor: $c, before: 5, after: 5) { timestamp message namespace podName container } }',
      { c: hit.cursor },
    );
    expect(c.errors).toBeUndefined();
    const lines = c.data!.logContext;
    const same = shipped
      .filter(
        (d) =>
          d._source.kubernetes.namespace_name === hit.node.namespace &&
          d._source.kubernetes.pod_name === hit.node.podName &&
          d._source.kubernetes.container_name === hit.node.container,
      )
      .sort((a, b) => at(a) - at(b));
    const i = same.findIndex((d) => keyOfDoc(d) === keyOfLine(hit.node));
    expect(i).toBeGreaterThanOrEqual(0);
    const want = same.slice(Math.max(0, i - 5), i + 6).map(keyOfDoc);
    // The hit is among them; every line is of its container, oldest first, and they are the lines around it.
    expect(lines.map(keyOfLine)).toContain(keyOfLine(hit.node));
    expect(lines.length).toBe(want.length);
    for (const l of lines)
      expect(`${l.namespace}/${l.podName}/${l.container}`).toBe(
        `${hit.node.namespace}/${hit.node.podName}/${hit.node.container}`,
      );
    const times = lines.map((l) => Date.parse(l.timestamp));
    for (let j = 1; j < times.length; j++) expect(times[j]!).toBeGreaterThanOrEqual(times[j - 1]! - 1);
    // Lines of one millisecond may come in either order; the set around the hit is the same.
    const distinctTimes = new Set(same.map(at)).size === same.length;
    if (distinctTimes) expect(lines.map(keyOfLine)).toEqual(want);
    const bad = await stack.gql('{ logContext(cursor: "x.y") { message } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('resolves LogLine.pod to workloads Pod', async () => {
    const r = await stack.gql<{
      logs: { edges: { node: { podName: string; pod: { name: string; namespace: string } | null } }[] };
    }>(
      '{ logs(first: 5, filter: { namespaces: ["shop"] }) { edges { node { podName pod { name namespace phase } } } } }',
    );
    expect(r.errors).toBeUndefined();
    for (const e of r.data!.logs.edges) expect(e.node.pod?.name).toBe(e.node.podName);
  });

  it('Pod.logs gives the pod lines', async () => {
    const pod = docs.find((d) => d._source.kubernetes.namespace_name === 'shop')!._source.kubernetes;
    const r = await stack.gql<{ pod: { logs: { totalCount: number; edges: { node: LineView }[] } } }>(
      'query($n: String!, $f: LogFilter) { pod(namespace: "shop", name: $n) { logs(filter: $f, first: 20) { totalCount edges { node { podName container namespace } } } } }',
      { n: pod.pod_name, f: { start: iso(start), end: iso(end) } },
    );
    expect(r.errors).toBeUndefined();
    const want = docs.filter(
      (d) => d._source.kubernetes.namespace_name === 'shop' && d._source.kubernetes.pod_name === pod.pod_name,
    );
    expect(r.data!.pod.logs.totalCount).toBe(Math.min(10_000, want.length));
    for (const e of r.data!.pod.logs.edges) expect(e.node.podName).toBe(pod.pod_name);
  });
});

describe('the requests sent to Elasticsearch', () => {
  it('are plain query DSL: one terms clause for the namespaces, escaped case-insensitive wildcards, the range indices', async () => {
    const proxy = await recordingProxy(stack.es!.url);
    const logging = await startLoggingSubgraph({
      port: 0,
      log: quietLogger,
      identitySecret: STACK_IDENTITY_SECRET,
      kubeConfig: stack.cluster.kc,
      elasticsearch: { url: proxy.url },
    });
    try {
      const gateway = await stack.startGateway({ subgraphUrls: { logging: logging.url } });
      const { gql } = await import('./harness/graphql.js');
      const r = await gql<LogsPage>(gateway.url, LINES_QUERY, {
        filter: {
          namespaces: ['shop', 'analytics'],
          contains: ['a*b?c\\d', 'Node_CPU'],
          excludes: ['"quoted"'],
          start: '2026-12-05T10:00:00Z',
          end: '2026-12-06T02:00:00Z',
        },
        first: 10,
      });
      expect(r.errors).toBeUndefined();
      const pit = proxy.requests.find((q) => q.path.includes('/_pit'))!;
      expect(pit.method).toBe('POST');
      expect(decodeURIComponent(pit.path)).toMatch(
        /^\/ks-logstash-log-2026\.12\.05,ks-logstash-log-2026\.12\.06\/_pit\?.*ignore_unavailable=true/,
      );
      const search = proxy.requests.find((q) => q.path.startsWith('/_search') && (q.body as { pit?: unknown }).pit)!;
      const body = search.body as Record<string, unknown>;
      expect(body.pit).toMatchObject({ keep_alive: '2m' });
      expect(body.sort).toEqual([{ '@timestamp': { order: 'desc', unmapped_type: 'date' } }]);
      expect(body.track_total_hits).toBe(10_000);
      expect(body.size).toBe(11);
      const query = body.query as { bool: { filter: Record<string, unknown>[]; must_not?: Record<string, unknown>[] } };
      const terms = query.bool.filter.filter((c) => 'terms' in c && JSON.stringify(c).includes('namespace_name'));
      // One terms clause for the namespaces. Both were created when this test's stack started, after the range asked
      // for ends: every line of that range under their names was a former namespace's, so the search leaves them out.
      expect(terms).toEqual([{ terms: { 'kubernetes.namespace_name.keyword': [] } }]);
      // A substring of log.keyword, or, for a line too long to be in it, a phrase of the analysed log field.
      const text = (value: string, phrase: string) => ({
        bool: {
          should: [
            { wildcard: { 'log.keyword': { value, case_insensitive: true } } },
            {
              bool: {
                must_not: [{ exists: { field: 'log.keyword' } }],
                filter: [{ match_phrase: { log: { query: phrase } } }],
              },
            },
          ],
          minimum_should_match: 1,
        },
      });
      expect(query.bool.filter).toContainEqual(text('*a\\*b\\?c\\\\d*', 'a*b?c\\d'));
      expect(query.bool.filter).toContainEqual(text('*Node_CPU*', 'Node_CPU'));
      expect(query.bool.must_not).toContainEqual(text('*"quoted"*', '"quoted"'));
      expect(query.bool.filter).toContainEqual({
        range: {
          '@timestamp': {
            gte: Date.parse('2026-12-05T10:00:00Z'),
            lte: Date.parse('2026-12-06T02:00:00Z'),
            format: 'epoch_millis',
          },
        },
      });
      // Histogram: fixed_interval, extended bounds, empty buckets kept; never the `interval` that Elasticsearch 8 refuses.
      proxy.requests.length = 0;
      await gql(
        gateway.url,
        '{ logHistogram(filter: { namespaces: ["shop"], start: "2026-12-05T10:00:00Z", end: "2026-12-05T11:00:00Z" }) { total } }',
      );
      const histogramRequest = proxy.requests.find(
        (q) => (q.body as { aggs?: { lines?: unknown } } | undefined)?.aggs?.lines !== undefined,
      )!;
      const agg = (histogramRequest.body as { aggs: { lines: { date_histogram: Record<string, unknown> } } }).aggs.lines
        .date_histogram;
      expect(agg).toEqual({
        field: '@timestamp',
        fixed_interval: '1m',
        min_doc_count: 0,
        extended_bounds: { min: Date.parse('2026-12-05T10:00:00Z'), max: Date.parse('2026-12-05T11:00:00Z') },
      });
      expect(histogramRequest.path).toMatch(/^\/ks-logstash-log-2026\.12\.05\/_search\?.*ignore_unavailable=true/);
      // No client telemetry header, and plain JSON media types (what Elasticsearch 7.x accepts).
      for (const q of proxy.requests) {
        expect(q.headers['x-elastic-client-meta']).toBeUndefined();
        if (q.body !== undefined) expect(q.headers['content-type']).toBe('application/json');
        expect(String(q.headers.accept ?? '')).not.toContain('compatible-with');
      }
      await gateway.close();
    } finally {
      await logging.close();
      await proxy.close();
    }
  });
});
