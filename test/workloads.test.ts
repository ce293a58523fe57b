// End to end through the gateway, against the demo sandbox cluster: every GraphQL query and mutation goes to the
// gateway (checked-in supergraph) in front of the workloads subgraph — every list with its filters, sorts and cursors
// paged to the end, pod and workload status, each mutation and its effect seen through client-node, stale-write
// CONFLICT, error codes, abusive queries refused on the real schema, readiness and the caches following the cluster.
// Only the subgraph's own health endpoints (/healthz, /readyz, /metrics) and its `_entities` contract (which the
// gateway does not expose) are addressed on the subgraph itself.
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/gateway.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../services/workloads/server.js';
import { createLogger } from '../services/common/log.js';
import { gql, gqlData } from './harness/graphql.js';
import { indexSchema } from './harness/lists.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { STACK_IDENTITY_SECRET, startTestStack, type TestStack } from './harness/stack.js';

const quiet = createLogger('workloads', () => {});
let stack: TestStack;
let sb: TestSandbox;
/** The gateway's GraphQL endpoint: every query and mutation of this file goes here. */
let url: string;
/** The workloads subgraph behind it (health endpoints and the `_entities` contract only). */
let subgraphUrl: string;

/** A gateway in front of one more workloads subgraph (the readiness and resilience tests start their own). */
async function gatewayFor(sg: WorkloadsSubgraph): Promise<Gateway> {
  return stack.startGateway({ subgraphUrls: { workloads: sg.url } });
}

beforeAll(async () => {
  stack = await startTestStack({ sandbox: { seed: { kind: 'demo' }, speed: 20 } });
  sb = stack.cluster;
  url = stack.gateway.url;
  subgraphUrl = stack.workloads.url;
  // createProject refuses a workspace accounts does not know: the demo's workspace exists there too.
  expect((await stack.gql('mutation { createWorkspace(name: "demo-shop") { name } }')).errors).toBeUndefined();
  // The demo settles: the Job completes and the payment worker crash-loops.
  await eventually(
    async () => {
      const d = await gqlData(url, `{ pods(first: 100) { edges { node { name statusText } } } }`);
      const texts = d.pods.edges
        .map((e: { node: { name: string; statusText: string } }) => `${e.node.name}:${e.node.statusText}`)
        .join(' ');
      return /nightly-report-\S+:Completed/.test(texts) && /payment-worker-\S+:CrashLoopBackOff/.test(texts);
    },
    30_000,
    'the demo cluster to settle',
  );
});

afterAll(async () => {
  await stack?.close();
});

interface PodNode {
  namespace: string;
  name: string;
  status: string;
  statusText: string;
  labels: Record<string, string>;
  nodeName: string | null;
  createdAt: string;
}

const POD_FIELDS = 'namespace name status statusText labels nodeName createdAt';
const PODS = `query($namespace: String, $workspace: String, $filter: PodFilter, $orderBy: PodOrder, $first: Int, $after: String) {
  pods(namespace: $namespace, workspace: $workspace, filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${POD_FIELDS} } }
  }
}`;

type Vars = Record<string, unknown>;

/** The whole list in one request. */
async function podList(vars: Vars): Promise<PodNode[]> {
  const d = await gqlData(url, PODS, vars);
  expect(d.pods.totalCount).toBe(d.pods.edges.length);
  return d.pods.edges.map((e: { node: PodNode }) => e.node);
}

interface Conn<T> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: T }[];
}

/** Walks a list page by page (`first` each) until hasNextPage is false; checks totalCount on every page. */
async function walk<T>(
  query: string,
  field: string,
  vars: Vars,
  first: number,
): Promise<{ items: T[]; totalCount: number }> {
  const items: T[] = [];
  let after: string | null = null;
  let totalCount = -1;
  for (let i = 0; i < 200; i++) {
    const d: Record<string, Conn<T>> = await gqlData(url, query, { ...vars, first, after });
    const conn: Conn<T> = d[field];
    if (totalCount === -1) totalCount = conn.totalCount;
    expect(conn.totalCount).toBe(totalCount);
    expect(conn.edges.length).toBeLessThanOrEqual(first);
    items.push(...conn.edges.map((e) => e.node));
    if (!conn.pageInfo.hasNextPage) return { items, totalCount };
    expect(conn.pageInfo.endCursor).toBe(conn.edges[conn.edges.length - 1].cursor);
    after = conn.pageInfo.endCursor;
  }
  throw new Error('paging did not end');
}

const keyOf = (p: { namespace?: string; name: string }) => `${p.namespace ?? ''}/${p.name}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('readiness', () => {
  it('readyz is 503 until every cache synced, then 200; informers restart with back-off until the API answers', async () => {
    // A port where nothing listens yet; later a TCP proxy to the sandbox opens on it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const kc = new k8s.KubeConfig();
    kc.loadFromString(sb.sandbox.kubeconfig);
    const cluster = kc.getCurrentCluster()!;
    kc.clusters = kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${port}` } : c));
    const late = await startWorkloadsSubgraph({
      port: 0,
      kubeConfig: kc,
      log: quiet,
      identitySecret: STACK_IDENTITY_SECRET,
    });
    const lateGateway = await gatewayFor(late);
    let proxy: Server | undefined;
    const sockets = new Set<Socket>();
    try {
      const base = late.url.replace(/\/graphql$/, '');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect((await fetch(lateGateway.url.replace(/\/graphql$/, '/readyz'))).status).toBe(503);
      const r = await gql(lateGateway.url, `{ pods { totalCount } }`);
      expect(r.errors?.[0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(r.errors?.[0].extensions?.service).toBe('workloads');
      const m = await gql(lateGateway.url, `mutation { deletePod(namespace: "shop", name: "nope") }`);
      expect(m.errors?.[0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');

      const target = new URL(sb.sandbox.url);
      proxy = createServer((socket) => {
        sockets.add(socket);
        const upstream = connect(Number(target.port), target.hostname);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      });
      await new Promise<void>((r) => proxy!.listen(port, '127.0.0.1', r));
      await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, 30_000, 'readyz 200');
      await eventually(
        async () => (await fetch(lateGateway.url.replace(/\/graphql$/, '/readyz'))).status === 200,
        10_000,
        'the gateway readyz 200',
      );
      const d = await gqlData(lateGateway.url, `{ nodes { totalCount } }`);
      expect(d.nodes.totalCount).toBe(3);
      expect((await fetch(subgraphUrl.replace(/\/graphql$/, '/readyz'))).status).toBe(200);
    } finally {
      await lateGateway.close();
      await late.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    }
  });

  it('/metrics has the cache-size gauge and resolver timings', async () => {
    await gqlData(url, `{ nodes { totalCount } }`);
    const text = await (await fetch(subgraphUrl.replace(/\/graphql$/, '/metrics'))).text();
    expect(text).toMatch(/kubegraph_workloads_cache_objects\{[^}]*kind="Pod"[^}]*\} \d+/);
    expect(text).toMatch(/kubegraph_workloads_resolver_duration_seconds_count\{[^}]*field="Query.nodes"/);
  });
});

describe('pods', () => {
  it('shows the demo pods with kubectl statuses: Running, Completed job pod, CrashLoopBackOff worker', async () => {
    const all = await podList({});
    const k8sPods = (await sb.core.listPodForAllNamespaces()).items;
    expect(all.map(keyOf).sort()).toEqual(k8sPods.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`).sort());
    const job = all.find((p) => p.name.startsWith('nightly-report-'))!;
    expect(job).toMatchObject({ status: 'COMPLETED', statusText: 'Completed' });
    const d = await gqlData(
      url,
      `{ pods(namespace: "shop-staging", filter: { name: "payment-worker" }) { edges { node { name status statusText phase ready restarts age containers { name image ready restartCount state stateReason } owner { name kind status } } } } }`,
    );
    const worker = d.pods.edges[0].node;
    await eventually(
      async () => {
        // Between crashes the container runs for a moment: poll until one answer shows the back-off.
        const w = (
          await gqlData(
            url,
            `{ pod(namespace: "shop-staging", name: "${worker.name}") { status statusText restarts ready owner { name kind status } } }`,
          )
        ).pod;
        return (
          w.status === 'CRASH_LOOP_BACK_OFF' &&
          w.statusText === 'CrashLoopBackOff' &&
          w.restarts > 0 &&
          w.ready === '0/1' &&
          w.owner.status === 'UPDATING'
        );
      },
      20_000,
      'the worker to crash-loop',
    );
    expect(worker.owner).toMatchObject({ name: 'payment-worker', kind: 'DEPLOYMENT' });
    expect(worker.containers[0]).toMatchObject({ name: 'worker', image: 'example/payment-worker-crash:2.1.0' });
    const frontend = all.filter((p) => p.namespace === 'shop' && p.name.startsWith('frontend-'));
    expect(frontend).toHaveLength(3);
    for (const p of frontend) expect(p).toMatchObject({ status: 'RUNNING', statusText: 'Running' });
    const one = (
      await gqlData(
        url,
        `{ pod(namespace: "shop", name: "${frontend[0].name}") { uid phase ready restarts ip age node { name ready } labels annotations resourceVersion owners { kind name controller } yaml events { reason type } initContainers { name } containers { name image ready restartCount state } createdAt } }`,
      )
    ).pod;
    expect(one).toMatchObject({
      phase: 'Running',
      ready: '1/1',
      restarts: 0,
      node: { name: frontend[0].nodeName, ready: true },
      labels: { app: 'frontend' },
    });
    expect(one.owners[0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    expect(one.yaml).toContain(`name: ${frontend[0].name}`);
    expect(one.events.map((e: { reason: string }) => e.reason)).toContain('Scheduled');
    expect(one.containers[0]).toMatchObject({ name: 'nginx', image: 'nginx:1.27', ready: true, state: 'Running' });
    expect(one.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await gqlData(url, `{ pod(namespace: "shop", name: "nope") { name } }`)).pod).toBeNull();
  });

  it('filters by namespace, workspace, name, label selector, status, node and owner', async () => {
    await eventually(
      async () => {
        const all = await podList({});
        const check = async (vars: Vars, want: (p: PodNode) => boolean) => {
          const got = (await podList(vars)).map(keyOf).sort();
          expect(got, JSON.stringify(vars)).toEqual(all.filter(want).map(keyOf).sort());
          return got.length;
        };
        expect(await check({ namespace: 'shop' }, (p) => p.namespace === 'shop')).toBe(6);
        expect(
          await check({ workspace: 'demo-shop' }, (p) => p.namespace === 'shop' || p.namespace === 'shop-staging'),
        ).toBe(8);
        expect(await check({ workspace: 'no-such-workspace' }, () => false)).toBe(0);
        await check({ filter: { name: 'FRONT' } }, (p) => p.name.includes('front'));
        await check({ filter: { labelSelector: 'app=frontend' } }, (p) => p.labels.app === 'frontend');
        await check(
          { filter: { labelSelector: 'app==frontend' }, namespace: 'shop' },
          (p) => p.labels.app === 'frontend' && p.namespace === 'shop',
        );
        await check({ filter: { labelSelector: 'app in (api, redis)' } }, (p) =>
          ['api', 'redis'].includes(p.labels.app),
        );
        await check(
          { filter: { labelSelector: 'app notin (api,redis),k8s-app' } },
          (p) => !['api', 'redis'].includes(p.labels.app) && 'k8s-app' in p.labels,
        );
        await check({ filter: { labelSelector: '!app' } }, (p) => !('app' in p.labels));
        await check({ filter: { labelSelector: 'app!=frontend' } }, (p) => p.labels.app !== 'frontend');
        await check({ filter: { status: ['RUNNING'] } }, (p) => p.status === 'RUNNING');
        await check(
          { filter: { status: ['COMPLETED', 'CRASH_LOOP_BACK_OFF'] } },
          (p) => p.status === 'COMPLETED' || p.status === 'CRASH_LOOP_BACK_OFF',
        );
        await check({ filter: { node: 'node-2' } }, (p) => p.nodeName === 'node-2');
        await check(
          { filter: { node: 'node-2', status: ['RUNNING'], labelSelector: 'app' }, namespace: 'kube-system' },
          (p) =>
            p.nodeName === 'node-2' && p.status === 'RUNNING' && 'app' in p.labels && p.namespace === 'kube-system',
        );
        expect(
          await check(
            { filter: { owner: { namespace: 'shop', kind: 'DEPLOYMENT', name: 'frontend' } } },
            (p) => p.namespace === 'shop' && p.name.startsWith('frontend-'),
          ),
        ).toBe(3);
        expect(
          await check(
            { filter: { owner: { namespace: 'analytics', kind: 'STATEFUL_SET', name: 'postgres' } } },
            (p) => p.namespace === 'analytics' && p.name.startsWith('postgres-'),
          ),
        ).toBe(2);
        expect(
          await check(
            { filter: { owner: { namespace: 'kube-system', kind: 'DAEMON_SET', name: 'kube-proxy' } } },
            (p) => p.name.startsWith('kube-proxy-'),
          ),
        ).toBe(3);
        expect(
          await check({ filter: { owner: { namespace: 'analytics', kind: 'JOB', name: 'nightly-report' } } }, (p) =>
            p.name.startsWith('nightly-report-'),
          ),
        ).toBe(1);
        expect(
          await check({ filter: { owner: { namespace: 'shop', kind: 'DEPLOYMENT', name: 'nope' } } }, () => false),
        ).toBe(0);
        return true;
      },
      20_000,
      'filtered lists to match',
    );
  });

  it('sorts by name, creation time and status in both directions, and cursor walks equal the full list', async () => {
    // The PodStatus enum in its declared order (the served schema) is the STATUS order of pods (ASC).
    const STATUS_ORDER = indexSchema(
      readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'),
    ).enumValues('PodStatus');
    expect(STATUS_ORDER).toContain('RUNNING');
    const keys: Record<string, (p: PodNode) => string> = {
      NAME: (p) => p.name,
      CREATED_AT: (p) => p.createdAt,
      STATUS: (p) => String(STATUS_ORDER.indexOf(p.status)).padStart(2, '0'),
    };
    for (const field of ['NAME', 'CREATED_AT', 'STATUS']) {
      for (const direction of ['ASC', 'DESC']) {
        // The crash-looping worker changes status between requests: leave its namespace out of the status walk.
        const vars: Vars = {
          orderBy: { field, direction },
          ...(field === 'STATUS' ? { filter: { labelSelector: 'app!=payment-worker' } } : {}),
        };
        await eventually(
          async () => {
            const full = await podList(vars);
            const sorted = [...full].sort(
              (a, b) => cmp(keys[field](a), keys[field](b)) || cmp(a.name, b.name) || cmp(a.namespace, b.namespace),
            );
            if (direction === 'DESC') sorted.reverse();
            expect(full.map(keyOf)).toEqual(sorted.map(keyOf));
            const walked = await walk<PodNode>(PODS, 'pods', vars, 4);
            expect(walked.totalCount).toBe(full.length);
            expect(walked.items.map(keyOf)).toEqual(full.map(keyOf));
            return true;
          },
          15_000,
          `${field} ${direction}`,
        );
      }
    }
    // Filters and paging together; a cursor from one page stays valid while the list changes.
    // (Without the crash-looping worker: it enters and leaves RUNNING between pages, which changes totalCount.)
    const walked = await walk<PodNode>(
      PODS,
      'pods',
      {
        filter: { status: ['RUNNING'], labelSelector: 'app!=payment-worker' },
        orderBy: { field: 'NAME', direction: 'ASC' },
      },
      5,
    );
    expect(walked.items.every((p) => p.status === 'RUNNING')).toBe(true);
    const r = await gql(url, PODS, { after: 'not-a-cursor' });
    expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const neg = await gql(url, PODS, { first: -1 });
    expect(neg.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('an invalid label selector is BAD_USER_INPUT with the parse error', async () => {
    for (const selector of ['app in (a', 'app=fr$ont', '=x', 'a b']) {
      const r = await gql(url, PODS, { filter: { labelSelector: selector } });
      expect(r.errors?.[0].extensions?.code, selector).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0].message).toMatch(/unable to parse requirement/);
    }
  });

  it('the cache follows the cluster: a pod created through client-node appears, a deleted one goes', async () => {
    await sb.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'cache-probe', labels: { probe: 'yes' } },
        spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
      },
    });
    await eventually(
      async () =>
        (await podList({ namespace: 'default', filter: { labelSelector: 'probe=yes', status: ['RUNNING'] } }))
          .length === 1,
      15_000,
      'the probe pod running',
    );
    await sb.core.deleteNamespacedPod({ namespace: 'default', name: 'cache-probe', gracePeriodSeconds: 0 });
    await eventually(
      async () => (await podList({ namespace: 'default', filter: { labelSelector: 'probe=yes' } })).length === 0,
      15_000,
      'the probe pod gone',
    );
  });
});

describe('informer resilience', () => {
  it('survives cut watches, API errors and 410 Expired: re-lists and the cache matches the cluster again', async () => {
    const small = await startTestSandbox({
      seed: { kind: 'empty', nodes: 2 },
      speed: 20,
      historySize: 20,
      controllers: false,
    });
    const sg2 = await startWorkloadsSubgraph({
      port: 0,
      kubeConfig: small.kc,
      log: quiet,
      identitySecret: STACK_IDENTITY_SECRET,
    });
    const gw2 = await gatewayFor(sg2);
    try {
      await sg2.ready();
      const podNames = async () =>
        (
          (await gqlData(gw2.url, `{ pods(namespace: "default") { edges { node { name } } } }`)).pods.edges as {
            node: { name: string };
          }[]
        )
          .map((e) => e.node.name)
          .sort();
      const pod = (name: string) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default' },
        spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
      });
      await small.core.createNamespacedPod({ namespace: 'default', body: pod('before') });
      await eventually(async () => (await podNames()).join() === 'before', 10_000, 'the first pod');
      // A network blip: every watch cut; the informers watch again from where they were.
      small.sandbox.server.closeWatches();
      await small.core.createNamespacedPod({ namespace: 'default', body: pod('after-blip') });
      await eventually(
        async () => (await podNames()).join() === 'after-blip,before',
        10_000,
        'the pod created after the blip',
      );
      // The API fails every request while more changes happen than the watch history holds: the informers' watches
      // fail and back off; when the API answers again, resuming is 410 Expired and they re-list.
      const restartsBefore = sg2.kube.restarts.Pod ?? 0;
      small.sandbox.server.faults.failRatio = 1;
      small.sandbox.server.closeWatches();
      await eventually(
        () => (sg2.kube.restarts.Pod ?? 0) > restartsBefore,
        10_000,
        'the pod informer to fail and back off',
      );
      const store = small.sandbox.store;
      const pods = store.type('', 'pods');
      store.delete(pods, 'default', 'before', { gracePeriodSeconds: 0 } as never);
      for (let i = 0; i < 30; i++) store.create(pods, pod(`during-outage-${String(i).padStart(2, '0')}`) as never);
      small.sandbox.server.faults.failRatio = 0;
      const want = [
        'after-blip',
        ...Array.from({ length: 30 }, (_, i) => `during-outage-${String(i).padStart(2, '0')}`),
      ]
        .sort()
        .join();
      await eventually(async () => (await podNames()).join() === want, 20_000, 'the cache to re-list after 410');
      expect((await gql(gw2.url, `{ pod(namespace: "default", name: "before") { name } }`)).data?.pod).toBeNull();
    } finally {
      await gw2.close();
      await sg2.close();
      await small.close();
    }
  });
});

describe('sorted views under change', () => {
  it('a sorted list patched from the index change logs equals the cluster as client-node lists it', async () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `churn-${String(i).padStart(2, '0')}`);
    const make = (name: string) =>
      sb.core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name, labels: { churn: 'yes' } },
          spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
        },
      });
    const vars = (direction: string) => ({
      filter: { labelSelector: 'churn=yes' },
      orderBy: { field: 'NAME', direction },
    });
    const expectSameAsCluster = () =>
      eventually(
        async () => {
          const cluster = (await sb.core.listNamespacedPod({ namespace: 'default', labelSelector: 'churn=yes' })).items
            .map((p) => p.metadata!.name!)
            .sort();
          const asc = (await podList(vars('ASC'))).map((p) => p.name);
          const desc = (await podList(vars('DESC'))).map((p) => p.name);
          const all = (await podList({ orderBy: { field: 'NAME', direction: 'ASC' } }))
            .filter((p) => p.labels.churn === 'yes')
            .map((p) => p.name);
          return (
            JSON.stringify(asc) === JSON.stringify(cluster) &&
            JSON.stringify(desc) === JSON.stringify([...cluster].reverse()) &&
            JSON.stringify(all) === JSON.stringify(cluster)
          );
        },
        15_000,
        'the sorted views to match the cluster',
      );
    for (const n of names(6)) await make(n);
    await expectSameAsCluster();
    for (const n of ['churn-01', 'churn-04'])
      await sb.core.deleteNamespacedPod({ namespace: 'default', name: n, gracePeriodSeconds: 0 });
    await make('churn-00a');
    await make('churn-99');
    await expectSameAsCluster();
    for (const n of ['churn-00', 'churn-00a', 'churn-02', 'churn-03', 'churn-05', 'churn-99'])
      await sb.core.deleteNamespacedPod({ namespace: 'default', name: n, gracePeriodSeconds: 0 });
    await expectSameAsCluster();
  });
});

const WORKLOADS = `query($namespace: String, $workspace: String, $kind: WorkloadKind, $filter: WorkloadFilter, $orderBy: WorkloadOrder, $first: Int, $after: String) {
  workloads(namespace: $namespace, workspace: $workspace, kind: $kind, filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { __typename namespace name kind status replicas readyReplicas createdAt labels } }
  }
}`;

interface WorkloadNode {
  __typename: string;
  namespace: string;
  name: string;
  kind: string;
  status: string;
  replicas: number | null;
  readyReplicas: number | null;
  createdAt: string;
  labels: Record<string, string>;
}

describe('workloads', () => {
  it('lists every kind with filters, sorting and paging', async () => {
    const all = (await gqlData(url, WORKLOADS, {})).workloads.edges.map(
      (e: { node: WorkloadNode }) => e.node,
    ) as WorkloadNode[];
    const counts = {
      DEPLOYMENT: (await sb.apps.listDeploymentForAllNamespaces()).items.length,
      STATEFUL_SET: (await sb.apps.listStatefulSetForAllNamespaces()).items.length,
      DAEMON_SET: (await sb.apps.listDaemonSetForAllNamespaces()).items.length,
      JOB: (await sb.batch.listJobForAllNamespaces()).items.length,
      CRON_JOB: (await sb.batch.listCronJobForAllNamespaces()).items.length,
    };
    expect(all.length).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
    const wk = (w: WorkloadNode) => `${w.kind}:${w.namespace}/${w.name}`;
    // The filtered list against the full one read right before it; the demo cluster still moves (a deployment can
    // finish updating between the two reads), so a disagreement is read again until the two agree or time runs out.
    const check = async (vars: Vars, want: (w: WorkloadNode) => boolean) => {
      let last: { got: string[]; expected: string[] } = { got: [], expected: [] };
      const agreed = await eventually(
        async () => {
          const now = (await gqlData(url, WORKLOADS, {})).workloads.edges.map(
            (e: { node: WorkloadNode }) => e.node,
          ) as WorkloadNode[];
          const got = (await gqlData(url, WORKLOADS, vars)).workloads.edges
            .map((e: { node: WorkloadNode }) => wk(e.node))
            .sort();
          last = { got, expected: now.filter(want).map(wk).sort() };
          return JSON.stringify(last.got) === JSON.stringify(last.expected) ? last : undefined;
        },
        10_000,
        `the ${JSON.stringify(vars)} list to match the full list`,
      ).catch(() => last);
      expect(agreed.got, JSON.stringify(vars)).toEqual(agreed.expected);
      return agreed.got.length;
    };
    expect(await check({ kind: 'DEPLOYMENT' }, (w) => w.kind === 'DEPLOYMENT')).toBe(counts.DEPLOYMENT);
    expect(await check({ kind: 'STATEFUL_SET' }, (w) => w.__typename === 'StatefulSet')).toBe(counts.STATEFUL_SET);
    expect(await check({ kind: 'DAEMON_SET' }, (w) => w.__typename === 'DaemonSet')).toBe(counts.DAEMON_SET);
    // The demo's hourly CronJob may start a Job between the counts and the check (a run at the top of the hour).
    expect(await check({ kind: 'JOB' }, (w) => w.__typename === 'Job')).toBeGreaterThanOrEqual(counts.JOB);
    expect(await check({ kind: 'CRON_JOB' }, (w) => w.__typename === 'CronJob')).toBe(counts.CRON_JOB);
    expect(await check({ namespace: 'analytics' }, (w) => w.namespace === 'analytics')).toBeGreaterThanOrEqual(4);
    expect(await check({ workspace: 'demo-shop' }, (w) => ['shop', 'shop-staging'].includes(w.namespace))).toBe(5);
    await check({ filter: { name: 'front' } }, (w) => w.name.includes('front'));
    await check({ filter: { labelSelector: 'tier in (web)' } }, (w) => w.labels.tier === 'web');
    await check({ filter: { status: ['STOPPED'] } }, (w) => w.status === 'STOPPED');
    await check(
      { filter: { status: ['UPDATING'] }, kind: 'DEPLOYMENT' },
      (w) => w.status === 'UPDATING' && w.kind === 'DEPLOYMENT',
    );
    // Ties (same name; same creation second) are broken by namespace, then kind: the model's documented order.
    const byName = (a: WorkloadNode, b: WorkloadNode) =>
      cmp(a.name, b.name) || cmp(a.namespace, b.namespace) || cmp(a.kind, b.kind);
    for (const [field, direction] of [
      ['NAME', 'ASC'],
      ['NAME', 'DESC'],
      ['CREATED_AT', 'ASC'],
      ['CREATED_AT', 'DESC'],
    ]) {
      const vars = { orderBy: { field, direction } };
      const full = (await gqlData(url, WORKLOADS, vars)).workloads.edges.map(
        (e: { node: WorkloadNode }) => e.node,
      ) as WorkloadNode[];
      const expected = [...full].sort((a, b) =>
        field === 'NAME' ? byName(a, b) : cmp(a.createdAt, b.createdAt) || byName(a, b),
      );
      if (direction === 'DESC') expected.reverse();
      expect(full.map(wk)).toEqual(expected.map(wk));
      const walked = await walk<WorkloadNode>(WORKLOADS, 'workloads', vars, 5);
      expect(walked.items.map(wk)).toEqual(full.map(wk));
    }
  });

  it('shows status, replicas and pods of each workload; one workload by key', async () => {
    const q = `query($ns: String!, $kind: WorkloadKind!, $name: String!) { workload(namespace: $ns, kind: $kind, name: $name) {
      __typename namespace name kind status replicas readyReplicas availableReplicas updatedReplicas selector uid yaml
      pods(first: 10) { totalCount edges { node { name status owner { name } } } }
      ... on Job { succeeded completions } ... on CronJob { schedule suspend } } }`;
    const frontend = (await gqlData(url, q, { ns: 'shop', kind: 'DEPLOYMENT', name: 'frontend' })).workload;
    expect(frontend).toMatchObject({
      __typename: 'Deployment',
      kind: 'DEPLOYMENT',
      status: 'RUNNING',
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      updatedReplicas: 3,
      selector: 'app=frontend',
    });
    expect(frontend.pods.totalCount).toBe(3);
    for (const e of frontend.pods.edges)
      expect(e.node).toMatchObject({ status: 'RUNNING', owner: { name: 'frontend' } });
    expect(frontend.yaml).toContain('kind: Deployment');
    const worker = (await gqlData(url, q, { ns: 'shop-staging', kind: 'DEPLOYMENT', name: 'payment-worker' })).workload;
    expect(worker).toMatchObject({ status: 'UPDATING', replicas: 1, readyReplicas: 0 });
    const job = (await gqlData(url, q, { ns: 'analytics', kind: 'JOB', name: 'nightly-report' })).workload;
    expect(job).toMatchObject({ __typename: 'Job', status: 'STOPPED', succeeded: 1, completions: 1 });
    expect(job.pods.edges[0].node).toMatchObject({ status: 'COMPLETED', owner: { name: 'nightly-report' } });
    const cron = (await gqlData(url, q, { ns: 'analytics', kind: 'CRON_JOB', name: 'hourly-etl' })).workload;
    expect(cron).toMatchObject({ __typename: 'CronJob', status: 'RUNNING', schedule: '0 * * * *', suspend: false });
    const ds = (await gqlData(url, q, { ns: 'kube-system', kind: 'DAEMON_SET', name: 'log-agent' })).workload;
    expect(ds).toMatchObject({ status: 'RUNNING', replicas: 3, readyReplicas: 3 });
    expect(ds.pods.totalCount).toBe(3);
    const sts = (await gqlData(url, q, { ns: 'analytics', kind: 'STATEFUL_SET', name: 'postgres' })).workload;
    expect(sts).toMatchObject({ __typename: 'StatefulSet', status: 'RUNNING', replicas: 2 });
    expect((await gqlData(url, q, { ns: 'shop', kind: 'STATEFUL_SET', name: 'frontend' })).workload).toBeNull();
  });
});

describe('nodes and projects', () => {
  it('lists nodes with their pods, roles and capacity; filters, sorts and pages', async () => {
    const Q = `query($filter: NodeFilter, $orderBy: NodeOrder, $first: Int, $after: String) { nodes(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name ready unschedulable roles capacity statusText pods(first: 100) { totalCount edges { node { nodeName } } } } } } }`;
    const nodes = (await gqlData(url, Q, {})).nodes;
    expect(nodes.totalCount).toBe(3);
    expect(nodes.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['node-1', 'node-2', 'node-3']);
    expect(nodes.edges[0].node).toMatchObject({
      ready: true,
      unschedulable: false,
      roles: ['control-plane'],
      statusText: 'Ready',
    });
    expect(nodes.edges[1].node.roles).toEqual(['worker']);
    expect(Object.keys(nodes.edges[0].node.capacity)).toEqual(expect.arrayContaining(['cpu', 'memory']));
    let sum = 0;
    for (const e of nodes.edges) {
      sum += e.node.pods.totalCount;
      for (const p of e.node.pods.edges) expect(p.node.nodeName).toBe(e.node.name);
    }
    const scheduled = (await podList({})).filter((p) => p.nodeName).length;
    expect(sum).toBe(scheduled);
    const desc = (await gqlData(url, Q, { orderBy: { field: 'NAME', direction: 'DESC' } })).nodes.edges.map(
      (e: { node: { name: string } }) => e.node.name,
    );
    expect(desc).toEqual(['node-3', 'node-2', 'node-1']);
    expect(
      (await walk<{ name: string }>(Q, 'nodes', { orderBy: { field: 'CREATED_AT', direction: 'ASC' } }, 1)).items.map(
        (n) => n.name,
      ),
    ).toHaveLength(3);
    expect(
      (await gqlData(url, Q, { filter: { labelSelector: 'node-role.kubernetes.io/worker' } })).nodes.totalCount,
    ).toBe(2);
    expect((await gqlData(url, Q, { filter: { name: '-3', ready: true } })).nodes.totalCount).toBe(1);
  });

  it('lists projects with their workspace; filters, sorts and pages', async () => {
    const Q = `query($workspace: String, $filter: ProjectFilter, $orderBy: NamedOrder, $first: Int, $after: String) { projects(workspace: $workspace, filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name workspaceName phase createdAt labels pods(first: 1) { totalCount } workloads { totalCount } } } } }`;
    const all = (await gqlData(url, Q, {})).projects.edges.map((e: { node: { name: string } }) => e.node);
    const namespaces = (await sb.core.listNamespace()).items.map((n) => n.metadata!.name!).sort();
    expect(all.map((p: { name: string }) => p.name)).toEqual(namespaces);
    const shop = all.find((p: { name: string }) => p.name === 'shop');
    expect(shop).toMatchObject({
      workspaceName: 'demo-shop',
      phase: 'Active',
      pods: { totalCount: 6 },
      workloads: { totalCount: 3 },
    });
    expect(all.find((p: { name: string }) => p.name === 'default').workspaceName).toBeNull();
    const ws = (await gqlData(url, Q, { workspace: 'demo-shop' })).projects.edges.map(
      (e: { node: { name: string } }) => e.node.name,
    );
    expect(ws).toEqual(['shop', 'shop-staging']);
    expect((await gqlData(url, Q, { workspace: 'data-platform' })).projects.totalCount).toBe(1);
    expect((await gqlData(url, Q, { filter: { name: 'kube' } })).projects.totalCount).toBe(3);
    expect((await gqlData(url, Q, { filter: { labelSelector: 'kubesphere.io/workspace' } })).projects.totalCount).toBe(
      3,
    );
    const walked = await walk<{ name: string }>(Q, 'projects', { orderBy: { field: 'NAME', direction: 'DESC' } }, 2);
    expect(walked.items.map((p) => p.name)).toEqual([...namespaces].reverse());
    const one = await gqlData(
      url,
      `{ project(name: "analytics") { name workspaceName uid yaml } none: project(name: "nope") { name } }`,
    );
    expect(one.project).toMatchObject({ name: 'analytics', workspaceName: 'data-platform' });
    expect(one.none).toBeNull();
  });
});

describe('entities', () => {
  // The subgraph's federation contract: the gateway never exposes `_entities`, so this one asks the subgraph.
  it('resolves Pod, Node, Project and Workload keys through _entities (subgraph contract)', async () => {
    const pod = (await podList({ namespace: 'shop', filter: { labelSelector: 'app=redis' } }))[0];
    const r = await gqlData(
      subgraphUrl,
      `query($r: [_Any!]!) { _entities(representations: $r) { __typename
      ... on Pod { namespace name status } ... on Node { name ready } ... on Project { name workspaceName }
      ... on Workload { namespace name kind replicas } } }`,
      {
        r: [
          { __typename: 'Pod', namespace: 'shop', name: pod.name },
          { __typename: 'Node', name: 'node-2' },
          { __typename: 'Project', name: 'shop-staging' },
          { __typename: 'Deployment', namespace: 'shop', kind: 'DEPLOYMENT', name: 'api' },
          { __typename: 'Workload', namespace: 'analytics', kind: 'CRON_JOB', name: 'hourly-etl' },
          { __typename: 'StatefulSet', namespace: 'shop', kind: 'STATEFUL_SET', name: 'redis' },
          { __typename: 'Pod', namespace: 'shop', name: 'missing' },
        ],
      },
    );
    expect(r._entities).toEqual([
      { __typename: 'Pod', namespace: 'shop', name: pod.name, status: 'RUNNING' },
      { __typename: 'Node', name: 'node-2', ready: true },
      { __typename: 'Project', name: 'shop-staging', workspaceName: 'demo-shop' },
      { __typename: 'Deployment', namespace: 'shop', name: 'api', kind: 'DEPLOYMENT', replicas: 2 },
      { __typename: 'CronJob', namespace: 'analytics', name: 'hourly-etl', kind: 'CRON_JOB', replicas: null },
      { __typename: 'StatefulSet', namespace: 'shop', name: 'redis', kind: 'STATEFUL_SET', replicas: 1 },
      null,
    ]);
  });
});

describe('mutations', () => {
  const NS = 'wl-test';

  it('createProject adds the workspace label; duplicates conflict; bad names are BAD_USER_INPUT', async () => {
    const d = await gqlData(
      url,
      `mutation { createProject(workspace: "demo-shop", name: "${NS}") { name workspaceName phase pods { totalCount } } }`,
    );
    expect(d.createProject).toMatchObject({
      name: NS,
      workspaceName: 'demo-shop',
      phase: 'Active',
      pods: { totalCount: 0 },
    });
    const ns = await sb.core.readNamespace({ name: NS });
    expect(ns.metadata?.labels?.['kubesphere.io/workspace']).toBe('demo-shop');
    expect(
      (await gql(url, `mutation { createProject(workspace: "demo-shop", name: "${NS}") { name } }`)).errors?.[0]
        .extensions?.code,
    ).toBe('CONFLICT');
    expect(
      (await gql(url, `mutation { createProject(workspace: "demo-shop", name: "Bad_Name") { name } }`)).errors?.[0]
        .extensions?.code,
    ).toBe('BAD_USER_INPUT');
    // Read-your-writes: the project is in the lists right away.
    expect(
      (await gqlData(url, `{ projects(workspace: "demo-shop") { edges { node { name } } } }`)).projects.edges.map(
        (e: { node: { name: string } }) => e.node.name,
      ),
    ).toContain(NS);
  });

  it('applyYaml creates several objects, then updates them; a stale resourceVersion is CONFLICT; server validation is BAD_USER_INPUT', async () => {
    const deployment = (replicas: number, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { app: web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: ${image}
`;
    const cm = (value: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: ${value}
`;
    const created = await gqlData(
      url,
      `mutation($y: String!) { applyYaml(namespace: "${NS}", yaml: $y) { apiVersion kind namespace name } }`,
      { y: `${cm('hello')}---\n${deployment(1, 'nginx:1.27')}` },
    );
    expect(created.applyYaml).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'web-config' },
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' },
    ]);
    expect((await sb.core.readNamespacedConfigMap({ namespace: NS, name: 'web-config' })).data).toEqual({
      greeting: 'hello',
    });
    // Read-your-writes: the Deployment is in the cache when applyYaml returns.
    expect(
      (await gqlData(url, `{ workload(namespace: "${NS}", kind: DEPLOYMENT, name: "web") { name replicas } }`))
        .workload,
    ).toEqual({ name: 'web', replicas: 1 });
    const before = await sb.core.readNamespacedConfigMap({ namespace: NS, name: 'web-config' });
    await gqlData(url, `mutation($y: String!) { applyYaml(namespace: "${NS}", yaml: $y) { name } }`, {
      y: `${cm('bonjour')}---\n${deployment(2, 'nginx:1.28')}\n---\n`,
    });
    expect((await sb.core.readNamespacedConfigMap({ namespace: NS, name: 'web-config' })).data).toEqual({
      greeting: 'bonjour',
    });
    const dep = await sb.apps.readNamespacedDeployment({ namespace: NS, name: 'web' });
    expect(dep.spec?.replicas).toBe(2);
    expect(dep.spec?.template.spec?.containers[0].image).toBe('nginx:1.28');
    expect(dep.metadata?.managedFields?.some((f) => f.manager === 'kubegraph' && f.operation === 'Apply')).toBe(true);
    await eventually(
      async () =>
        (await gqlData(url, `{ workload(namespace: "${NS}", kind: DEPLOYMENT, name: "web") { readyReplicas } }`))
          .workload.readyReplicas === 2,
      15_000,
      'web ready',
    );

    // Stale write: the ConfigMap at the resourceVersion before the update.
    const stale = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  resourceVersion: "${before.metadata!.resourceVersion}"\ndata:\n  greeting: stale\n`;
    const conflict = await gql(url, `mutation($y: String!) { applyYaml(namespace: "${NS}", yaml: $y) { name } }`, {
      y: stale,
    });
    expect(conflict.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect((await sb.core.readNamespacedConfigMap({ namespace: NS, name: 'web-config' })).data).toEqual({
      greeting: 'bonjour',
    });

    const bad = await gql(url, `mutation($y: String!) { applyYaml(namespace: "${NS}", yaml: $y) { name } }`, {
      y: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: no-containers\nspec:\n  containers: []\n',
    });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    // The API server's own words (its Invalid Status: object, field path, cause), not a message of ours.
    expect(bad.errors?.[0].message).toBe(
      'document 1 (Pod no-containers): Pod "no-containers" is invalid: spec.containers: Required value',
    );
    expect((await gql(url, `mutation { applyYaml(yaml: "kind: [") { name } }`)).errors?.[0].extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      (await gql(url, `mutation { applyYaml(yaml: "apiVersion: v1\\nkind: Nope\\nmetadata: {name: x}") { name } }`))
        .errors?.[0].extensions?.code,
    ).toBe('BAD_USER_INPUT');
  });

  it('scaleWorkload changes replicas; negative replicas are BAD_USER_INPUT; a missing workload NOT_FOUND', async () => {
    const d = await gqlData(
      url,
      `mutation { scaleWorkload(namespace: "${NS}", kind: DEPLOYMENT, name: "web", replicas: 3) { name replicas status } }`,
    );
    expect(d.scaleWorkload).toMatchObject({ name: 'web', replicas: 3 });
    expect((await sb.apps.readNamespacedDeployment({ namespace: NS, name: 'web' })).spec?.replicas).toBe(3);
    await eventually(
      async () => {
        const w = (
          await gqlData(
            url,
            `{ workload(namespace: "${NS}", kind: DEPLOYMENT, name: "web") { status pods { totalCount } } }`,
          )
        ).workload;
        return w.status === 'RUNNING' && w.pods.totalCount === 3;
      },
      15_000,
      'three web pods',
    );
    const neg = await gql(
      url,
      `mutation { scaleWorkload(namespace: "${NS}", kind: DEPLOYMENT, name: "web", replicas: -1) { name } }`,
    );
    expect(neg.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const missing = await gql(
      url,
      `mutation { scaleWorkload(namespace: "${NS}", kind: DEPLOYMENT, name: "nope", replicas: 1) { name } }`,
    );
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const ds = await gql(
      url,
      `mutation { scaleWorkload(namespace: "kube-system", kind: DAEMON_SET, name: "log-agent", replicas: 1) { name } }`,
    );
    expect(ds.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('restartWorkload sets the restartedAt annotation and the pods roll', async () => {
    const podsQ = `{ pods(namespace: "${NS}", filter: { labelSelector: "app=web" }) { edges { node { name status } } } }`;
    const names = (d: { pods: { edges: { node: { name: string; status: string } }[] } }) =>
      d.pods.edges.map((e) => e.node.name);
    const before = names(await gqlData(url, podsQ));
    expect(before).toHaveLength(3);
    const d = await gqlData(
      url,
      `mutation { restartWorkload(namespace: "${NS}", kind: DEPLOYMENT, name: "web") { name status yaml } }`,
    );
    expect(d.restartWorkload.yaml).toContain('kubectl.kubernetes.io/restartedAt');
    const dep = await sb.apps.readNamespacedDeployment({ namespace: NS, name: 'web' });
    expect(dep.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toMatch(/^\d{4}-/);
    await eventually(
      async () => {
        const now = await gqlData(url, podsQ);
        const running = now.pods.edges
          .filter((e: { node: { status: string } }) => e.node.status === 'RUNNING')
          .map((e: { node: { name: string } }) => e.node.name);
        return now.pods.edges.length === 3 && running.length === 3 && running.every((n: string) => !before.includes(n));
      },
      20_000,
      'the pods to roll',
    );
  });

  it('deletePod deletes; the pod is gone or Terminating when it returns', async () => {
    const pod = (await podList({ namespace: NS, filter: { labelSelector: 'app=web' } }))[0];
    const d = await gqlData(url, `mutation { deletePod(namespace: "${NS}", name: "${pod.name}") }`);
    expect(d.deletePod).toBe(true);
    const after = (await gqlData(url, `{ pod(namespace: "${NS}", name: "${pod.name}") { status } }`)).pod;
    expect(after === null || after.status === 'TERMINATING').toBe(true);
    await eventually(
      async () => {
        try {
          await sb.core.readNamespacedPod({ namespace: NS, name: pod.name });
          return false;
        } catch (e) {
          return (e as { code?: number }).code === 404;
        }
      },
      15_000,
      'the pod gone',
    );
    const missing = await gql(url, `mutation { deletePod(namespace: "${NS}", name: "${pod.name}") }`);
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('deleteProject deletes the namespace', async () => {
    const d = await gqlData(url, `mutation { deleteProject(name: "${NS}") }`);
    expect(d.deleteProject).toBe(true);
    const p = (await gqlData(url, `{ project(name: "${NS}") { phase } }`)).project;
    expect(p === null || p.phase === 'Terminating').toBe(true);
    await eventually(
      async () => {
        try {
          await sb.core.readNamespace({ name: NS });
          return false;
        } catch (e) {
          return (e as { code?: number }).code === 404;
        }
      },
      20_000,
      'the namespace gone',
    );
    await eventually(
      async () => (await gqlData(url, `{ project(name: "${NS}") { name } }`)).project === null,
      10_000,
      'the project gone from the cache',
    );
  });
});

describe('abusive queries', () => {
  // The gateway's limits (gateway/limits.ts DEFAULT_LIMITS: depth 15, 30 aliases, cost 50,000) on the real schema:
  // refused with HTTP 400 and the limit's code before anything reaches the subgraph.
  const refused = async (query: string, variables: Vars = {}) => {
    const r = await gql(url, query, variables);
    expect(r.data ?? undefined, query).toBeUndefined();
    return { status: r.status, codes: (r.errors ?? []).map((e) => e.extensions?.code) };
  };

  it('a query nested deeper than the limit is QUERY_TOO_DEEP', async () => {
    // pod → node → pods → edges → node → node → ... : 4 levels per round, small pages so only the depth is too much.
    let inner = 'name';
    for (let i = 0; i < 5; i++) inner = `node { pods(first: 1) { edges { node { ${inner} } } } }`;
    const r = await refused(`{ pod(namespace: "shop", name: "x") { ${inner} } }`);
    expect(r.status).toBe(400);
    expect(r.codes).toContain('QUERY_TOO_DEEP');
    // Just under the limit it runs.
    const ok = await gql(
      url,
      `{ nodes(first: 1) { edges { node { pods(first: 1) { edges { node { node { name } } } } } } } }`,
    );
    expect(ok.errors).toBeUndefined();
  });

  it('more aliases than the limit is TOO_MANY_ALIASES', async () => {
    const many = Array.from({ length: 31 }, (_, i) => `a${i}: nodes(first: 1) { totalCount }`).join(' ');
    const r = await refused(`{ ${many} }`);
    expect(r.status).toBe(400);
    expect(r.codes).toContain('TOO_MANY_ALIASES');
    const some = Array.from({ length: 30 }, (_, i) => `a${i}: nodes(first: 1) { totalCount }`).join(' ');
    expect((await gql(url, `{ ${some} }`)).errors).toBeUndefined();
  });

  it('a query too costly is QUERY_TOO_COSTLY, in the query text and through variables', async () => {
    const literal = await refused(
      `{ nodes(first: 500) { edges { node { pods(first: 500) { edges { node { name containers { name } } } } } } } }`,
    );
    expect(literal).toEqual({ status: 400, codes: ['QUERY_TOO_COSTLY'] });
    // Page sizes as variables: estimated again once their values are known. (At validation an unknown variable counts
    // as the default page size, 50, so the shape must fit the budget at 50 × 50 to get that far.)
    const q = `query($n: Int, $m: Int) { nodes(first: $n) { edges { node { pods(first: $m) { edges { node { name } } } } } } }`;
    const viaVars = await gql(url, q, { n: 500, m: 500 });
    expect(viaVars.errors?.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COSTLY']);
    expect(viaVars.data ?? undefined).toBeUndefined();
    expect((await gql(url, q, { n: 3, m: 5 })).errors).toBeUndefined();
  });
});
