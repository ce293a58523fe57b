// A real Prometheus scrapes the sandbox's exporters over HTTPS (verifying the sandbox CA) and answers the PromQL the
// monitoring subgraph will send: per-pod CPU rates, working sets, pod phases, restarts, owners, workspace labels,
// node memory, and pods appearing and going stale as the API creates and deletes them.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, valueOf, type PromSample, type TestPrometheus } from './harness/prometheus.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

let t: TestSandbox;
let prom: TestPrometheus;

beforeAll(async () => {
  t = await startTestSandbox({ speed: 20, seed: { kind: 'demo' } });
  const caData = t.kc.getCurrentCluster()?.caData;
  expect(caData, 'the sandbox kubeconfig carries its CA').toBeTruthy();
  prom = await startPrometheus({
    // The sandbox serves every node's node-exporter series from one endpoint, each with its own `instance`.
    scrapeTargets: [
      {
        job: 'sandbox',
        url: `${t.sandbox.url}/metrics`,
        caPem: Buffer.from(caData!, 'base64').toString(),
        honorLabels: true,
      },
    ],
    scrapeIntervalSeconds: 1,
  });
  await prom.waitFor('up{job="sandbox"} == 1');
});
afterAll(async () => {
  await prom?.close();
  await t?.close();
});

const key = (ns: string | undefined, pod: string | undefined) => `${ns}/${pod}`;
const keysOf = (samples: PromSample[]) => samples.map((s) => key(s.metric.namespace, s.metric.pod)).sort();
const apiPods = async () => (await t.core.listPodForAllNamespaces()).items;
const runningKeys = (pods: k8s.V1Pod[]) =>
  pods
    .filter((p) => p.status?.phase === 'Running')
    .map((p) => key(p.metadata!.namespace, p.metadata!.name))
    .sort();
/** Running pods whose containers have all run, without restarting, for a few seconds: they have a CPU rate. */
const steadyPods = (pods: k8s.V1Pod[]) =>
  pods.filter(
    (p) =>
      p.status?.phase === 'Running' &&
      p.status.containerStatuses?.length &&
      p.status.containerStatuses.every(
        (c) =>
          c.restartCount === 0 &&
          c.state?.running?.startedAt &&
          Date.now() - new Date(c.state.running.startedAt).getTime() > 5000,
      ),
  );

describe('a real Prometheus scraping the sandbox', () => {
  it('scrapes the target healthily over HTTPS', async () => {
    const [up] = await prom.query('up{job="sandbox"}');
    expect(up.metric.instance).toBe(new URL(t.sandbox.url).host);
    expect(valueOf(up)).toBe(1);
    const [samples] = await prom.query('scrape_samples_scraped{job="sandbox"}');
    expect(valueOf(samples)).toBeGreaterThan(100);
  });

  it('per-pod CPU rates cover the running demo pods with positive values', async () => {
    // A rate needs two samples of a series: wait for a few scrapes.
    await prom.waitFor('count_over_time(up{job="sandbox"}[30s]) >= 3');
    const q = 'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[30s]))';
    let result: PromSample[] = [];
    let steady: string[] = [];
    await eventually(
      async () => {
        steady = steadyPods(await apiPods()).map((p) => key(p.metadata!.namespace, p.metadata!.name));
        result = await prom.query(q);
        const have = new Set(keysOf(result));
        return steady.length >= 10 && steady.every((k) => have.has(k));
      },
      20_000,
      'a CPU rate for every steady running pod',
    );
    const byPod = new Map(result.map((s) => [key(s.metric.namespace, s.metric.pod), valueOf(s)]));
    for (const k of steady) expect(byPod.get(k), k).toBeGreaterThan(0);
    for (const s of result) {
      expect(Object.keys(s.metric).sort()).toEqual(['namespace', 'pod']);
      expect(valueOf(s)).toBeGreaterThanOrEqual(0);
      expect(valueOf(s)).toBeLessThan(8); // cores; no counter reset read as a huge jump
    }
    expect(steady).toEqual(expect.arrayContaining(['shop/redis-0', 'analytics/postgres-0']));
  });

  it('reports the working set of redis-0 in shop', async () => {
    const [ws] = await prom.waitFor(
      'container_memory_working_set_bytes{namespace="shop", pod="redis-0", container="redis"}',
    );
    expect(ws.metric).toMatchObject({
      job: 'sandbox',
      node: expect.stringMatching(/^node-\d$/),
      image: expect.stringContaining('redis'),
    });
    expect(valueOf(ws)).toBeGreaterThan(0);
    const [sum] = await prom.query('sum(container_memory_working_set_bytes{namespace="shop", pod="redis-0"})');
    expect(valueOf(sum)).toBeGreaterThan(1024 * 1024);
  });

  it('kube_pod_status_phase says Running for exactly the pods the API lists as Running', async () => {
    let api: string[] = [];
    let seen: string[] = [];
    await eventually(
      async () => {
        const [pods, samples] = await Promise.all([
          apiPods(),
          prom.query('kube_pod_status_phase{phase="Running"} == 1'),
        ]);
        api = runningKeys(pods);
        seen = keysOf(samples);
        return api.length >= 10 && JSON.stringify(api) === JSON.stringify(seen);
      },
      15_000,
      'Prometheus and the API to agree on running pods',
    ).catch(() => undefined);
    expect(seen).toEqual(api);
    // Each pod has exactly one phase at 1.
    const perPod = await prom.query('sum by (namespace, pod) (kube_pod_status_phase) != 1');
    expect(perPod).toEqual([]);
  });

  it('the crash-looping payment-worker in shop-staging has growing restarts', async () => {
    const series = 'kube_pod_container_status_restarts_total{namespace="shop-staging", pod=~"payment-worker-.*"}';
    const [grown] = await prom.waitFor(`${series} > min_over_time(${series}[5m])`, { timeoutMs: 30_000 });
    expect(grown.metric).toMatchObject({ container: 'worker', pod: expect.stringMatching(/^payment-worker-/) });
    const pod = await t.core.readNamespacedPod({ namespace: 'shop-staging', name: grown.metric.pod });
    expect(pod.status!.containerStatuses![0].restartCount).toBeGreaterThanOrEqual(valueOf(grown));
    // As a counter: never decreasing over what Prometheus has recorded.
    const now = Date.now() / 1000;
    const [range] = await prom.queryRange(series, now - 60, now, 1);
    const values = range.values.map(([, v]) => Number(v));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
    expect(values.at(-1)).toBeGreaterThan(values[0]);
  });

  it('kube_pod_owner links pods to their ReplicaSets, and joins CPU to them', async () => {
    const owners = await prom.query('kube_pod_owner{owner_kind="ReplicaSet"}');
    const ownerOf = new Map(owners.map((s) => [key(s.metric.namespace, s.metric.pod), s.metric.owner_name]));
    const rsPods = (await apiPods()).filter((p) =>
      p.metadata!.ownerReferences?.some((o) => o.controller && o.kind === 'ReplicaSet'),
    );
    expect(rsPods.length).toBeGreaterThanOrEqual(8);
    for (const p of rsPods) {
      const rs = p.metadata!.ownerReferences!.find((o) => o.controller)!.name;
      expect(ownerOf.get(key(p.metadata!.namespace, p.metadata!.name)), p.metadata!.name).toBe(rs);
    }
    const rsApi = (await t.apps.listNamespacedReplicaSet({ namespace: 'shop', labelSelector: 'app=api' })).items.find(
      (r) => (r.status?.replicas ?? 0) > 0,
    )!;
    // CPU per ReplicaSet, the way a workload's usage is computed.
    const perRs = await prom.waitFor(
      'sum by (namespace, owner_name) (sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[30s])) ' +
        '* on (namespace, pod) group_left (owner_name) kube_pod_owner{owner_kind="ReplicaSet"})',
      { until: (s) => s.some((x) => x.metric.owner_name === rsApi.metadata!.name) },
    );
    const api = perRs.find((x) => x.metric.namespace === 'shop' && x.metric.owner_name === rsApi.metadata!.name)!;
    expect(valueOf(api)).toBeGreaterThan(0);
  });

  it('kube_namespace_labels lists the namespaces of workspace demo-shop', async () => {
    const samples = await prom.query('kube_namespace_labels{label_kubesphere_io_workspace="demo-shop"}');
    expect(samples.map((s) => s.metric.namespace).sort()).toEqual(['shop', 'shop-staging']);
    const [analytics] = await prom.query('kube_namespace_labels{namespace="analytics"}');
    expect(analytics.metric.label_kubesphere_io_workspace).toBe('data-platform');
  });

  it('node memory availability is a fraction for each of the 3 nodes', async () => {
    const ratios = await prom.query('node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes');
    expect(ratios.map((s) => s.metric.node).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const s of ratios) {
      expect(s.metric.instance).toBe(s.metric.node);
      expect(valueOf(s)).toBeGreaterThan(0);
      expect(valueOf(s)).toBeLessThan(1);
    }
    const nodes = (await t.core.listNode()).items.map((n) => n.metadata!.name).sort();
    expect(nodes).toEqual(['node-1', 'node-2', 'node-3']);
  });

  it('a pod created through the API appears in kube_pod_info, and goes stale once deleted', async () => {
    const name = 'prom-probe';
    const q = `kube_pod_info{namespace="shop", pod="${name}"}`;
    expect(await prom.query(q)).toEqual([]);
    const created = await t.core.createNamespacedPod({
      namespace: 'shop',
      body: { metadata: { name }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } },
    });
    const [info] = await prom.waitFor(q);
    expect(info.metric.uid).toBe(created.metadata!.uid);
    // Once running on a node, kube_pod_info says where.
    await prom.waitFor(`${q} and on (namespace, pod) kube_pod_status_phase{phase="Running"} == 1`);
    const [placed] = await prom.waitFor(`${q}`, { until: (s) => s.length === 1 && /^node-\d$/.test(s[0].metric.node) });
    const pod = await t.core.readNamespacedPod({ namespace: 'shop', name });
    expect(placed.metric.node).toBe(pod.spec!.nodeName);

    await t.core.deleteNamespacedPod({ namespace: 'shop', name, gracePeriodSeconds: 0 });
    await eventually(
      async () =>
        !(await t.core.listNamespacedPod({ namespace: 'shop', fieldSelector: `metadata.name=${name}` })).items.length,
      10_000,
      'pod gone',
    );
    await prom.waitFor(q, { until: (s) => s.length === 0 });
    await prom.waitFor(`kube_pod_status_phase{namespace="shop", pod="${name}"}`, { until: (s) => s.length === 0 });
    // The history is still there.
    expect((await prom.query(`max_over_time(${q}[1m])`)).length).toBe(1);
  });
});
