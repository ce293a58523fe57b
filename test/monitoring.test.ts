// The monitoring subgraph end to end: the demo sandbox, a real Prometheus scraping its exporters (1 s) with a few
// alerting rules and one of KubeSphere's recording rules, a counting proxy in front of Prometheus, the monitoring and
// workloads subgraphs and the gateway. Every query goes to the gateway; values are compared with the same PromQL
// (written out here) asked of Prometheus directly at the same evaluation time.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from './harness/graphql.js';
import { startPrometheus, valueOf, type TestPrometheus } from './harness/prometheus.js';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

const RULES = `
groups:
  - name: kubesphere-recording
    rules:
      - record: namespace:container_cpu_usage_seconds_total:sum_rate
        expr: sum by (namespace) (rate(container_cpu_usage_seconds_total{container!="", container!="POD"}[1m]))
  - name: test-alerts
    rules:
      - alert: PodRestarting
        expr: sum by (namespace, pod) (kube_pod_container_status_restarts_total) > 0
        labels: { severity: warning }
        annotations: { summary: "{{ $labels.pod }} restarts" }
      - alert: NodeWatched
        expr: max by (node) (kube_node_info) > 0
        for: 1h
        labels: { severity: info }
`;

/** A proxy in front of Prometheus that records the path and PromQL of every request. */
interface CountingProxy {
  url: string;
  seen: { path: string; query: string }[];
  close(): Promise<void>;
}

async function startCountingProxy(target: string): Promise<CountingProxy> {
  const seen: CountingProxy['seen'] = [];
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      const params = new URLSearchParams(req.method === 'POST' ? body.toString() : url.search);
      seen.push({ path: url.pathname, query: params.get('query') ?? '' });
      const upstream = request(
        { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end('upstream down');
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

let stack: TestStack;
let prom: TestPrometheus;
let proxy: CountingProxy;

/** A GraphQL request to the gateway (results are read loosely; the tests assert their shape). */
const gw = (query: string, variables: Record<string, unknown> = {}) => gql(stack.gateway.url, query, variables);
const queriesSeen = () => proxy.seen.filter((s) => s.path === '/api/v1/query');
const rangesSeen = () => proxy.seen.filter((s) => s.path === '/api/v1/query_range');

beforeAll(async () => {
  stack = await startTestStack({
    sandbox: { seed: { kind: 'demo' }, speed: 20 },
    monitoring: {
      prometheusUrl: async (cluster) => {
        const caData = cluster.kc.getCurrentCluster()!.caData!;
        prom = await startPrometheus({
          scrapeTargets: [
            {
              job: 'sandbox',
              url: `${cluster.sandbox.url}/metrics`,
              caPem: Buffer.from(caData, 'base64').toString(),
              honorLabels: true,
            },
          ],
          scrapeIntervalSeconds: 1,
          ruleFiles: { 'rules.yml': RULES },
        });
        proxy = await startCountingProxy(prom.url);
        return proxy.url;
      },
      // The recording rule exists from the start; look again soon so the subgraph sees it once evaluated.
      rulesTtlMs: 1000,
    },
  });
  // A few scrapes, so rates have two samples; redis-0 and the crash-looping worker settle. The rate must exist 3 s
  // back already (offset): the tests read values at settledTime(), 2 s before now.
  await prom.waitFor('count_over_time(up{job="sandbox"}[30s]) >= 4', { timeoutMs: 40_000 });
  await prom.waitFor(
    'rate(container_cpu_usage_seconds_total{namespace="shop", pod="redis-0", container="redis"}[5m] offset 3s) > 0',
    { timeoutMs: 40_000 },
  );
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await proxy?.close();
  await prom?.close();
});

/**
 * A settled evaluation time, as ISO and unix seconds: 2 s back, once every scrape target and the recording rule have
 * a sample after it (Prometheus commits each scrape and rule evaluation whole and in order, so from then on every
 * sample up to it is in, and the gateway's read and the test's own read of the same PromQL see the same data), and
 * once redis-0's series exist at it (a pod's series start with the first scrape after the sandbox reports it).
 */
async function settledTime(): Promise<{ iso: string; unix: number }> {
  const latest = 'min(timestamp(up) or timestamp(namespace:container_cpu_usage_seconds_total:sum_rate))';
  const redis = 'namespace="shop", pod="redis-0"';
  const present = `count(container_memory_working_set_bytes{${redis}}) + count(kube_pod_info{${redis}})`;
  return eventually(
    async () => {
      const ms = Date.now() - 2000;
      const unix = ms / 1000;
      await eventually(async () => ((await promValue(latest, Date.now() / 1000)) ?? 0) > unix, 30_000, 'a scrape');
      return (await promValue(present, unix)) === null ? undefined : { iso: new Date(ms).toISOString(), unix };
    },
    60_000,
    'a settled time with redis-0 scraped',
  );
}

async function promValue(promql: string, time: number): Promise<number | null> {
  const r = await prom.query(promql, time);
  return r.length ? valueOf(r[0]) : null;
}

describe('metrics through the gateway', () => {
  it('pod, container, node, project, workload, workspace and cluster values equal the same PromQL asked of Prometheus', async () => {
    const at = await settledTime();
    const r = await gw(
      `query ($at: DateTime) {
      pod(namespace: "shop", name: "redis-0") {
        name
        metrics {
          cpuCores { value(at: $at) unit }
          memoryBytes { value(at: $at) unit }
          networkReceiveBytesPerSecond { value(at: $at) }
          networkTransmitBytesPerSecond { value(at: $at) }
          restarts { value(at: $at) }
          container(name: "redis") { name cpuCores { value(at: $at) } memoryBytes { value(at: $at) } }
        }
      }
      nodes(first: 1, orderBy: { field: NAME, direction: ASC }) { edges { node { name metrics {
        memoryBytes { value(at: $at) } cpuUtilisation { value(at: $at) } load1 { value(at: $at) } podCapacity { value(at: $at) } podCount { value(at: $at) }
      } } } }
      project(name: "shop") { metrics { cpuCores { value(at: $at) } memoryBytes { value(at: $at) } podCount { value(at: $at) } } }
      workload(namespace: "shop", kind: DEPLOYMENT, name: "api") { pods { edges { node { name } } } metrics { memoryBytes { value(at: $at) } podCount { value(at: $at) } } }
      workspaceMetrics(name: "demo-shop") { memoryBytes { value(at: $at) } }
      cluster { metrics { nodeCount { value(at: $at) } podCount { value(at: $at) } } }
    }`,
      { at: at.iso },
    );
    expect(r.errors).toBeUndefined();
    const d = r.data!;
    const pod = d.pod.metrics;
    const shopRedis = 'namespace="shop", pod="redis-0"';
    expect(pod.cpuCores.unit).toBe('cores');
    expect(pod.memoryBytes.unit).toBe('bytes');
    expect(pod.cpuCores.value).toBeGreaterThan(0);
    expect(pod.cpuCores.value).toBe(
      await promValue(
        `sum(rate(container_cpu_usage_seconds_total{${shopRedis}, container!="", container!="POD"}[5m]))`,
        at.unix,
      ),
    );
    expect(pod.memoryBytes.value).toBe(
      await promValue(`sum(container_memory_working_set_bytes{${shopRedis}, container!=""})`, at.unix),
    );
    expect(pod.networkReceiveBytesPerSecond.value).toBe(
      await promValue(`sum(rate(container_network_receive_bytes_total{${shopRedis}}[5m]))`, at.unix),
    );
    expect(pod.networkTransmitBytesPerSecond.value).toBe(
      await promValue(`sum(rate(container_network_transmit_bytes_total{${shopRedis}}[5m]))`, at.unix),
    );
    expect(pod.restarts.value).toBe(
      await promValue(`sum(kube_pod_container_status_restarts_total{${shopRedis}})`, at.unix),
    );
    expect(pod.container.name).toBe('redis');
    expect(pod.container.memoryBytes.value).toBe(
      await promValue(`container_memory_working_set_bytes{${shopRedis}, container="redis"}`, at.unix),
    );

    const node = d.nodes.edges[0].node;
    const n = `node="${node.name}"`;
    expect(node.metrics.memoryBytes.value).toBe(
      await promValue(`node_memory_MemTotal_bytes{${n}} - node_memory_MemAvailable_bytes{${n}}`, at.unix),
    );
    expect(node.metrics.cpuUtilisation.value).toBeCloseTo(
      (await promValue(`1 - avg(rate(node_cpu_seconds_total{mode="idle", ${n}}[5m]))`, at.unix))!,
      12,
    );
    expect(node.metrics.load1.value).toBe(await promValue(`node_load1{${n}}`, at.unix));
    expect(node.metrics.podCapacity.value).toBe(
      await promValue(`kube_node_status_capacity{resource="pods", ${n}}`, at.unix),
    );
    expect(node.metrics.podCount.value).toBe(
      await promValue(
        `count(kube_pod_info{${n}} and on (namespace, pod) (kube_pod_status_phase{phase="Running"} == 1))`,
        at.unix,
      ),
    );

    const project = d.project.metrics;
    // KubeSphere's recording rule exists in this Prometheus: the project's CPU comes from it.
    expect(project.cpuCores.value).toBe(
      await promValue('sum(namespace:container_cpu_usage_seconds_total:sum_rate{namespace="shop"})', at.unix),
    );
    expect(queriesSeen().some((q) => q.query.includes('namespace:container_cpu_usage_seconds_total:sum_rate'))).toBe(
      true,
    );
    expect(project.memoryBytes.value).toBe(
      await promValue('sum(container_memory_working_set_bytes{namespace="shop", container!=""})', at.unix),
    );
    expect(project.podCount.value).toBe(
      await promValue('sum(kube_pod_status_phase{namespace="shop", phase="Running"})', at.unix),
    );

    // The workload's pods (listed by the workloads subgraph) are the ones its metrics sum.
    const apiPods: string[] = d.workload.pods.edges.map((e: { node: { name: string } }) => e.node.name);
    expect(apiPods.length).toBeGreaterThan(0);
    expect(d.workload.metrics.memoryBytes.value).toBe(
      await promValue(
        `sum(container_memory_working_set_bytes{namespace="shop", pod=~"${apiPods.join('|')}", container!=""})`,
        at.unix,
      ),
    );
    expect(d.workload.metrics.podCount.value).toBe(apiPods.length);

    expect(d.workspaceMetrics.memoryBytes.value).toBe(
      await promValue(
        'sum(container_memory_working_set_bytes{namespace=~"shop|shop-staging", container!=""})',
        at.unix,
      ),
    );
    expect(d.cluster.metrics.nodeCount.value).toBe(3);
    expect(d.cluster.metrics.podCount.value).toBe(
      await promValue('sum(kube_pod_status_phase{phase="Running"})', at.unix),
    );
  });

  it('series have the asked step, and their values are Prometheus range query values', async () => {
    const end = Math.floor(Date.now() / 1000) - 2;
    const start = end - 40;
    const r = await gw(
      `query ($start: DateTime!, $end: DateTime!) {
      pod(namespace: "shop", name: "redis-0") { metrics { memoryBytes { series(start: $start, end: $end, step: "5s") { timestamp value } } } }
      project(name: "shop") { metrics { podCount { series(start: $start, end: $end, step: "10s") { timestamp value } } } }
    }`,
      { start: new Date(start * 1000).toISOString(), end: new Date(end * 1000).toISOString() },
    );
    expect(r.errors).toBeUndefined();
    const series: { timestamp: string; value: number | null }[] = r.data!.pod.metrics.memoryBytes.series;
    expect(series).toHaveLength(9);
    series.forEach((s, i) => expect(Date.parse(s.timestamp)).toBe((start + 5 * i) * 1000));
    const [direct] = await prom.queryRange(
      'sum(container_memory_working_set_bytes{namespace="shop", pod="redis-0", container!=""})',
      start,
      end,
      5,
    );
    const byTime = new Map(direct.values.map(([t, v]) => [t * 1000, Number(v)]));
    for (const s of series) expect(s.value).toBe(byTime.get(Date.parse(s.timestamp)) ?? null);
    // Prometheus started seconds ago: the steps before its first scrape have no data (null), the later ones do.
    expect(series.filter((s) => s.value !== null).length).toBeGreaterThan(0);
    expect(series.at(-1)!.value).toBeGreaterThan(0);
    const pods: { timestamp: string }[] = r.data!.project.metrics.podCount.series;
    expect(pods).toHaveLength(5);
    expect(Date.parse(pods[1].timestamp) - Date.parse(pods[0].timestamp)).toBe(10_000);
  });

  it('ranks pods, workloads, projects and nodes in order, resolving the objects through the workloads subgraph', async () => {
    const r = await gw(`{
      topPods(by: MEMORY_BYTES, first: 5) { namespace name value pod { name status } }
      low: topPods(by: MEMORY_BYTES, first: 3, direction: ASC) { value }
      inShop: topPods(by: CPU_CORES, first: 50, namespace: "shop") { namespace }
      topWorkloads(by: MEMORY_BYTES, first: 4, namespace: "shop") { namespace kind name value workload { name kind } }
      topProjects(by: POD_COUNT, first: 3) { name value project { name } }
      topNodes(by: POD_COUNT) { name value node { name ready } }
    }`);
    expect(r.errors).toBeUndefined();
    const d = r.data!;
    const nonIncreasing = (vs: number[]) => vs.every((v, i) => i === 0 || vs[i - 1] >= v);
    expect(d.topPods).toHaveLength(5);
    expect(nonIncreasing(d.topPods.map((p: { value: number }) => p.value))).toBe(true);
    for (const p of d.topPods) expect(p.pod?.name).toBe(p.name);
    const low = d.low.map((p: { value: number }) => p.value);
    expect(nonIncreasing([...low].reverse())).toBe(true);
    expect(low[0]).toBeLessThanOrEqual(d.topPods[4].value);
    expect(d.inShop.length).toBeGreaterThan(2);
    expect(new Set(d.inShop.map((p: { namespace: string }) => p.namespace))).toEqual(new Set(['shop']));
    expect(d.topWorkloads.length).toBeGreaterThan(1);
    expect(nonIncreasing(d.topWorkloads.map((w: { value: number }) => w.value))).toBe(true);
    for (const w of d.topWorkloads) expect(w.workload).toEqual({ name: w.name, kind: w.kind });
    expect(nonIncreasing(d.topProjects.map((p: { value: number }) => p.value))).toBe(true);
    for (const p of d.topProjects) expect(p.project.name).toBe(p.name);
    expect(d.topNodes.map((n: { node: { ready: boolean } }) => n.node.ready)).toEqual([true, true, true]);
    expect(d.topNodes.reduce((sum: number, n: { value: number }) => sum + n.value, 0)).toBeGreaterThan(10);
  });

  it('refuses PromQL injection through arguments and entity keys with BAD_USER_INPUT, never sending a query', async () => {
    const before = proxy.seen.length;
    const r = await gw(`{ topPods(by: CPU_CORES, namespace: "shop\\"} or vector(1) or {a=\\"") { name } }`);
    expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    // The subgraph's _entities contract, as the gateway would call it, with a key crafted to break out of a matcher.
    const e = await gql(
      stack.monitoring.url,
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Pod { metrics { cpuCores { value } } } } }`,
      {
        r: [{ __typename: 'Pod', namespace: 'shop', name: 'x"} or vector(1) or {a="' }],
      },
    );
    expect(e.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(proxy.seen.slice(before).filter((s) => s.query.includes('vector(1)'))).toEqual([]);
  });

  it('answers 50 pods with CPU and memory (and a CPU series) with 2 Prometheus queries and 1 range query', async () => {
    await stack.cluster.core.createNamespace({
      body: { metadata: { name: 'load', labels: { 'kubesphere.io/workspace': 'load-test' } } },
    });
    await stack.cluster.apps.createNamespacedDeployment({
      namespace: 'load',
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 50,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      },
    });
    const query = `query ($start: DateTime!, $end: DateTime!) { pods(namespace: "load", first: 50) { edges { node { name metrics {
      cpuCores { value series(start: $start, end: $end, step: "15s") { value } } memoryBytes { value }
    } } } } }`;
    const vars = () => ({ start: new Date(Date.now() - 60_000).toISOString(), end: new Date().toISOString() });
    // Wait (by asking) until all 50 pods run and have both values.
    await eventually(
      async () => {
        const r = await gw(query, vars());
        const edges = r.data?.pods.edges ?? [];
        return (
          edges.length === 50 &&
          edges.every(
            (e: { node: { metrics: { cpuCores: { value: number | null }; memoryBytes: { value: number | null } } } }) =>
              e.node.metrics.cpuCores.value !== null && e.node.metrics.memoryBytes.value !== null,
          )
        );
      },
      90_000,
      '50 running pods with CPU and memory values',
    );
    const q0 = queriesSeen().length;
    const r0 = rangesSeen().length;
    const r = await gw(query, vars());
    expect(r.errors).toBeUndefined();
    expect(r.data!.pods.edges).toHaveLength(50);
    expect(queriesSeen().length - q0).toBe(2);
    expect(rangesSeen().length - r0).toBe(1);
    const batch = queriesSeen()
      .slice(q0)
      .map((s) => s.query);
    expect(batch.some((q) => q.includes('container_cpu_usage_seconds_total'))).toBe(true);
    expect(batch.some((q) => q.includes('container_memory_working_set_bytes'))).toBe(true);
  }, 120_000);

  it('serves alerts, firing and pending, filtered by project, severity and state, linked to their pods and nodes; and the alerting rules', async () => {
    const firing = await eventually(
      async () => {
        const r = await gw(
          `{ alerts(namespace: "shop-staging", severity: "warning") { name state severity namespace labels annotations activeAt pod { name status } } }`,
        );
        return r.data?.alerts.find(
          (a: { name: string; state: string }) => a.name === 'PodRestarting' && a.state === 'firing',
        )
          ? r.data.alerts
          : undefined;
      },
      60_000,
      'the crash-looping worker to fire PodRestarting',
    );
    for (const a of firing) expect(a).toMatchObject({ namespace: 'shop-staging', severity: 'warning' });
    const worker = firing.find((a: { labels: { pod: string } }) => a.labels.pod.startsWith('payment-worker'));
    expect(worker.pod).toEqual({
      name: worker.labels.pod,
      status: expect.stringMatching(/CRASH_LOOP_BACK_OFF|RUNNING|ERROR/),
    });
    expect(worker.annotations.summary).toBe(`${worker.labels.pod} restarts`);
    expect(Date.parse(worker.activeAt)).toBeLessThanOrEqual(Date.now());

    const pending = await gw(`{ alerts(state: "pending") { name state node { name ready } } }`);
    expect(pending.errors).toBeUndefined();
    expect(pending.data!.alerts.length).toBe(3);
    for (const a of pending.data!.alerts)
      expect(a).toMatchObject({ name: 'NodeWatched', state: 'pending', node: { ready: true } });

    const bad = await gw(`{ alerts(state: "burning") { name } }`);
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const rules = await gw(
      `{ alertingRules { name group state severity durationSeconds alerts { name } } scoped: alertingRules(namespace: "shop-staging") { name } }`,
    );
    expect(rules.errors).toBeUndefined();
    const byName = Object.fromEntries(rules.data!.alertingRules.map((x: { name: string }) => [x.name, x]));
    expect(byName.PodRestarting).toMatchObject({
      group: 'test-alerts',
      state: 'firing',
      severity: 'warning',
      durationSeconds: 0,
    });
    expect(byName.NodeWatched).toMatchObject({ state: 'pending', severity: 'info', durationSeconds: 3600 });
    expect(rules.data!.scoped.map((x: { name: string }) => x.name)).toEqual(['PodRestarting']);
  }, 90_000);

  it('runs PromQL for the platform administrator (the development identity)', async () => {
    const r = await gw(
      `{ promQuery(query: "count(kube_node_info)") { resultType series { labels samples { value } } } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.promQuery).toEqual({ resultType: 'vector', series: [{ labels: {}, samples: [{ value: 3 }] }] });
  });

  // Last: it stops Prometheus.
  it('with Prometheus stopped, only the metric fields fail (UPSTREAM_UNAVAILABLE); the rest of the query answers', async () => {
    await prom.close();
    const end = new Date().toISOString();
    const start = new Date(Date.now() - 60_000).toISOString();
    const r = await gw(
      `query ($start: DateTime!, $end: DateTime!) {
      pods(namespace: "shop", first: 3) { edges { node { name status metrics { cpuCores { value series(start: $start, end: $end, step: "15s") { value } } } } } }
      alerts { name }
      project(name: "shop") { name phase }
    }`,
      { start, end },
    );
    expect(r.data!.project).toEqual({ name: 'shop', phase: 'Active' });
    expect(r.data!.alerts).toEqual([]);
    const edges = r.data!.pods.edges;
    expect(edges).toHaveLength(3);
    for (const e of edges) {
      expect(e.node.name).toBeTruthy();
      expect(e.node.status).toBe('RUNNING');
      expect(e.node.metrics.cpuCores).toEqual({ value: null, series: [] });
    }
    expect(r.errors!.length).toBeGreaterThanOrEqual(7);
    for (const err of r.errors!)
      expect(err.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', service: 'monitoring' });
    const paths = r.errors!.map((e) => (e.path ?? []).join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'pods.edges.0.node.metrics.cpuCores.value',
        'pods.edges.2.node.metrics.cpuCores.series',
        'alerts',
      ]),
    );
  });
});
