// End to end through the gateway, against the demo sandbox: the filters and sorts beyond name and labels — Event's
// common object fields; workloads and nodes sorted by STATUS in both directions, walked page by page to the end with
// stable cursors; projects by status (a namespace held Terminating by a finalizer); claims and volumes by phase;
// ReplicaSets by their Deployment and Jobs by their CronJob (owner); bad filter values as BAD_USER_INPUT. Every
// expectation is read from the cluster with @kubernetes/client-node (or kubectl), never from the workloads model.
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

let stack: TestStack;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL results and client-node objects are read deep; the tests assert their shape
type Data = any;
type Vars = Record<string, unknown>;

const NS = 'wf-sort';
const PVC_NS = 'wf-pvc';
const TERM_NS = 'wf-term';
const HOLD = 'kubegraph.test/hold';

async function data(query: string, vars: Vars = {}): Promise<Data> {
  const r = await stack.gql<Data>(query, vars);
  if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sorted = (xs: string[]) => [...xs].sort();

/**
 * Walks a connection `first` at a time to its end. Checks on every page: totalCount stays, a page before the last is
 * full, endCursor is the last edge's cursor, no node comes twice, and the walk has totalCount nodes.
 */
async function walk(
  query: string,
  field: string,
  vars: Vars,
  first: number,
): Promise<{ nodes: Data[]; cursors: string[] }> {
  const nodes: Data[] = [];
  const cursors: string[] = [];
  let after: string | null = null;
  let total = -1;
  for (let page = 0; page < 200; page++) {
    const conn: Data = (await data(query, { ...vars, first, after }))[field];
    if (total === -1) total = conn.totalCount;
    expect(conn.totalCount, `${field} page ${page}: totalCount`).toBe(total);
    nodes.push(...conn.edges.map((e: Data) => e.node));
    cursors.push(...conn.edges.map((e: Data) => e.cursor));
    expect(conn.pageInfo.endCursor).toBe(conn.edges.length ? conn.edges[conn.edges.length - 1].cursor : null);
    if (!conn.pageInfo.hasNextPage) break;
    expect(conn.edges.length, `${field} page ${page} is full`).toBe(first);
    after = conn.pageInfo.endCursor;
  }
  expect(nodes.length).toBe(total);
  expect(new Set(cursors).size).toBe(cursors.length);
  return { nodes, cursors };
}

/** A check that must hold of a cluster that may still move: retried until it holds, then asserted with its last values. */
async function agree<T>(
  what: string,
  read: () => Promise<{ got: T; want: T }>,
  timeoutMs = 15_000,
): Promise<{ got: T; want: T }> {
  let last: { got: T; want: T } | undefined;
  await eventually(
    async () => {
      last = await read();
      return sameJson(last.got, last.want);
    },
    timeoutMs,
    what,
  ).catch(() => undefined);
  expect(last!.got, what).toEqual(last!.want);
  return last!;
}

// ---------------------------------------------------------------- ground truth from the cluster (client-node)

const KIND_ENUM: Record<string, string> = {
  Deployment: 'DEPLOYMENT',
  StatefulSet: 'STATEFUL_SET',
  DaemonSet: 'DAEMON_SET',
  Job: 'JOB',
  CronJob: 'CRON_JOB',
};

/** WorkloadStatus as the schema documents it, from the object as the API server has it. */
function expectedWorkloadStatus(kind: string, o: Data): string {
  const s = o.status ?? {};
  const stale = (o.metadata.generation ?? 0) > (s.observedGeneration ?? 0);
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet': {
      const desired = o.spec?.replicas ?? 1;
      if (desired === 0 && !(s.replicas > 0)) return 'STOPPED';
      return stale ||
        (s.updatedReplicas ?? 0) < desired ||
        (s.readyReplicas ?? 0) < desired ||
        (s.replicas ?? 0) > desired
        ? 'UPDATING'
        : 'RUNNING';
    }
    case 'DaemonSet': {
      const desired = s.desiredNumberScheduled ?? 0;
      if (desired === 0) return 'STOPPED';
      return stale || (s.updatedNumberScheduled ?? 0) < desired || (s.numberReady ?? 0) < desired
        ? 'UPDATING'
        : 'RUNNING';
    }
    case 'Job': {
      const finished = (s.conditions ?? []).some(
        (c: Data) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      return finished || o.spec?.suspend ? 'STOPPED' : 'RUNNING';
    }
    default:
      return o.spec?.suspend ? 'STOPPED' : 'RUNNING';
  }
}

interface WorkloadTruth {
  key: string;
  namespace: string;
  name: string;
  kind: string;
  status: string;
  uid: string;
  owners: string[];
}

/** Every workload of the cluster (or one namespace) with its expected status. */
async function workloadTruth(namespace?: string): Promise<WorkloadTruth[]> {
  const c = stack.cluster;
  const lists: [string, Data[]][] = namespace
    ? [
        ['Deployment', (await c.apps.listNamespacedDeployment({ namespace })).items],
        ['StatefulSet', (await c.apps.listNamespacedStatefulSet({ namespace })).items],
        ['DaemonSet', (await c.apps.listNamespacedDaemonSet({ namespace })).items],
        ['Job', (await c.batch.listNamespacedJob({ namespace })).items],
        ['CronJob', (await c.batch.listNamespacedCronJob({ namespace })).items],
      ]
    : [
        ['Deployment', (await c.apps.listDeploymentForAllNamespaces()).items],
        ['StatefulSet', (await c.apps.listStatefulSetForAllNamespaces()).items],
        ['DaemonSet', (await c.apps.listDaemonSetForAllNamespaces()).items],
        ['Job', (await c.batch.listJobForAllNamespaces()).items],
        ['CronJob', (await c.batch.listCronJobForAllNamespaces()).items],
      ];
  return lists.flatMap(([kind, items]) =>
    items.map((o) => ({
      key: `${KIND_ENUM[kind]}:${o.metadata.namespace}/${o.metadata.name}`,
      namespace: o.metadata.namespace,
      name: o.metadata.name,
      kind: KIND_ENUM[kind],
      status: expectedWorkloadStatus(kind, o),
      uid: o.metadata.uid,
      owners: (o.metadata.ownerReferences ?? []).map((r: Data) => r.uid),
    })),
  );
}

const WORKLOAD_RANK: Record<string, number> = { RUNNING: 0, UPDATING: 1, STOPPED: 2 };
/** The documented STATUS order: RUNNING < UPDATING < STOPPED, then name, then namespace, then kind. */
const byWorkloadStatus = (a: WorkloadTruth, b: WorkloadTruth) =>
  WORKLOAD_RANK[a.status] - WORKLOAD_RANK[b.status] ||
  cmp(a.name, b.name) ||
  cmp(a.namespace, b.namespace) ||
  cmp(a.kind, b.kind);

/** `kubectl get nodes`: name → the STATUS column. */
async function kubectlNodeStatus(): Promise<Map<string, string>> {
  const out = await stack.cluster.kubectl(['get', 'nodes', '--no-headers']);
  return new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map(([name, status]) => [name, status]),
  );
}

/** The documented node STATUS order: Ready, NotReady, Unknown; each schedulable before SchedulingDisabled; then name. */
const nodeRank = (status: string) => {
  const [ready, ...rest] = status.split(',');
  return ({ Ready: 0, NotReady: 1, Unknown: 2 }[ready] ?? 3) * 2 + (rest.includes('SchedulingDisabled') ? 1 : 0);
};

// ---------------------------------------------------------------- fixtures

const container = (image: string) => [{ name: 'main', image }];
const deployment = (name: string, replicas: number, image: string): k8s.V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS, labels: { suite: 'wf' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: container(image) } },
  },
});
const cronJob = (name: string, suspend: boolean): k8s.V1CronJob => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, namespace: NS },
  spec: {
    schedule: '0 0 1 1 *',
    suspend,
    jobTemplate: {
      spec: { template: { spec: { restartPolicy: 'Never', containers: container('example/report-job:1.0') } } },
    },
  },
});

beforeAll(async () => {
  stack = await startTestStack({ sandbox: { seed: { kind: 'demo' }, speed: 20 } });
  const { core, apps, batch } = stack.cluster;
  for (const name of [NS, PVC_NS, TERM_NS]) await core.createNamespace({ body: { metadata: { name } } });
  // Several statuses in one namespace: RUNNING (run-a, same, cron-d), UPDATING (crash-c never gets ready), STOPPED
  // (stopped-b scaled to zero, cron-e suspended, job-f finished). `same` is a Deployment and a CronJob: a tie on name.
  await apps.createNamespacedDeployment({ namespace: NS, body: deployment('run-a', 1, 'nginx:1.27') });
  await apps.createNamespacedDeployment({ namespace: NS, body: deployment('stopped-b', 0, 'nginx:1.27') });
  await apps.createNamespacedDeployment({ namespace: NS, body: deployment('crash-c', 1, 'example/worker-crash:1.0') });
  await apps.createNamespacedDeployment({ namespace: NS, body: deployment('same', 1, 'nginx:1.27') });
  await batch.createNamespacedCronJob({ namespace: NS, body: cronJob('cron-d', false) });
  await batch.createNamespacedCronJob({ namespace: NS, body: cronJob('cron-e', true) });
  await batch.createNamespacedCronJob({ namespace: NS, body: cronJob('same', false) });
  await batch.createNamespacedJob({
    namespace: NS,
    body: {
      metadata: { name: 'job-f' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: container('example/report-job:1.0') } } },
    },
  });
  await eventually(
    async () => {
      const st = new Map((await workloadTruth(NS)).map((w) => [w.key, w.status]));
      return (
        st.get(`DEPLOYMENT:${NS}/run-a`) === 'RUNNING' &&
        st.get(`DEPLOYMENT:${NS}/same`) === 'RUNNING' &&
        st.get(`DEPLOYMENT:${NS}/stopped-b`) === 'STOPPED' &&
        st.get(`DEPLOYMENT:${NS}/crash-c`) === 'UPDATING' &&
        st.get(`JOB:${NS}/job-f`) === 'STOPPED'
      );
    },
    30_000,
    'the fixture workloads to settle',
  );
  // The demo's postgres claims are bound once its StatefulSet ran.
  await eventually(
    async () =>
      (await core.listNamespacedPersistentVolumeClaim({ namespace: 'analytics' })).items.filter(
        (c) => c.status?.phase === 'Bound',
      ).length >= 2,
    20_000,
    'the postgres PVCs',
  );
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

// ---------------------------------------------------------------- Event

describe('Event has the common object fields', () => {
  it('uid, resourceVersion, createdAt, labels, annotations, owners and yaml, as the API server has them', async () => {
    const { core } = stack.cluster;
    const cm = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'event-subject' } } });
    const created = await core.createNamespacedEvent({
      namespace: NS,
      body: {
        metadata: {
          name: 'event-subject.wf1',
          labels: { suite: 'wf', tier: 'test' },
          annotations: { 'kubegraph.test/note': 'hello' },
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'event-subject', uid: cm.metadata!.uid!, controller: true },
          ],
        },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'event-subject',
          namespace: NS,
          uid: cm.metadata!.uid!,
        },
        reason: 'Tested',
        message: 'an event with metadata',
        type: 'Normal',
        count: 1,
        source: { component: 'kubegraph-test' },
      },
    });
    const q = `query($ns: String) { events(namespace: $ns, filter: { name: "event-subject" }) { totalCount edges { node {
      namespace name reason uid resourceVersion createdAt labels annotations owners { apiVersion kind name uid controller } yaml } } } }`;
    const ev = await eventually(
      async () => {
        const d = await data(q, { ns: NS });
        return d.events.totalCount === 1 && d.events.edges[0].node;
      },
      10_000,
      'the event in the cache',
    );
    const live = await core.readNamespacedEvent({ namespace: NS, name: 'event-subject.wf1' });
    expect(live.metadata!.uid).toBe(created.metadata!.uid);
    expect(ev).toMatchObject({
      namespace: NS,
      name: 'event-subject.wf1',
      reason: 'Tested',
      uid: live.metadata!.uid,
      resourceVersion: live.metadata!.resourceVersion,
      labels: live.metadata!.labels,
      annotations: live.metadata!.annotations,
      owners: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'event-subject', uid: cm.metadata!.uid, controller: true }],
    });
    expect(iso(new Date(ev.createdAt))).toBe(iso(live.metadata!.creationTimestamp));
    const y = parseYaml(ev.yaml);
    expect(y).toMatchObject({
      kind: 'Event',
      metadata: { name: 'event-subject.wf1', namespace: NS, uid: live.metadata!.uid },
      reason: 'Tested',
    });
    expect(y.metadata.managedFields).toBeUndefined();

    // The same fields on events reached through a pod, for every event of the pod, against the API server's copies.
    const pods = await core.listNamespacedPod({ namespace: 'shop-staging', labelSelector: 'app=payment-worker' });
    const pod = pods.items[0];
    await agree('Pod.events common fields', async () => {
      const d = await data(
        `query($ns: String!, $n: String!) { pod(namespace: $ns, name: $n) { events { name uid resourceVersion createdAt labels annotations owners { uid } } } }`,
        {
          ns: 'shop-staging',
          n: pod.metadata!.name,
        },
      );
      const truth = (await core.listNamespacedEvent({ namespace: 'shop-staging' })).items.filter(
        (e) => e.involvedObject.uid === pod.metadata!.uid,
      );
      const view = (e: Data) => ({
        name: e.name,
        uid: e.uid,
        resourceVersion: e.resourceVersion,
        createdAt: e.createdAt,
        labels: e.labels,
        annotations: e.annotations,
        owners: e.owners,
      });
      return {
        got: d.pod.events
          .map(view)
          .map((e: Data) => ({ ...e, createdAt: iso(new Date(e.createdAt)) }))
          .sort((a: Data, b: Data) => cmp(a.name, b.name)),
        want: truth
          .map((e) => ({
            name: e.metadata!.name,
            uid: e.metadata!.uid,
            resourceVersion: e.metadata!.resourceVersion,
            createdAt: iso(e.metadata!.creationTimestamp),
            labels: e.metadata!.labels ?? {},
            annotations: e.metadata!.annotations ?? {},
            owners: (e.metadata!.ownerReferences ?? []).map((r) => ({ uid: r.uid })),
          }))
          .sort((a, b) => cmp(a.name!, b.name!)),
      };
    });
  });
});

// ---------------------------------------------------------------- sorting by STATUS

const WORKLOADS = `query($namespace: String, $kind: WorkloadKind, $filter: WorkloadFilter, $orderBy: WorkloadOrder, $first: Int, $after: String) {
  workloads(namespace: $namespace, kind: $kind, filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { namespace name kind status } } } }`;
const wkey = (w: Data) => `${w.kind}:${w.namespace}/${w.name}`;

describe('workloads sorted by STATUS', () => {
  it('orders RUNNING < UPDATING < STOPPED (ties by name, namespace, kind), both directions, walked to the end', async () => {
    for (const direction of ['ASC', 'DESC']) {
      await agree(`${NS} by STATUS ${direction}`, async () => {
        const truth = (await workloadTruth(NS)).sort(byWorkloadStatus);
        if (direction === 'DESC') truth.reverse();
        const walked = await walk(
          WORKLOADS,
          'workloads',
          { namespace: NS, orderBy: { field: 'STATUS', direction } },
          2,
        );
        return {
          got: walked.nodes.map((w) => `${wkey(w)}=${w.status}`),
          want: truth.map((w) => `${w.key}=${w.status}`),
        };
      });
    }
    // The fixture holds every status and the name tie between a Deployment and a CronJob.
    const asc = (
      await data(WORKLOADS, { namespace: NS, orderBy: { field: 'STATUS', direction: 'ASC' } })
    ).workloads.edges.map((e: Data) => e.node);
    expect(new Set(asc.map((w: Data) => w.status))).toEqual(new Set(['RUNNING', 'UPDATING', 'STOPPED']));
    expect(asc.filter((w: Data) => w.name === 'same').map(wkey)).toEqual([
      `CRON_JOB:${NS}/same`,
      `DEPLOYMENT:${NS}/same`,
    ]);
    // Project.workloads sorts alike.
    const nested = await data(
      `query($n: String!) { project(name: $n) { workloads(orderBy: { field: STATUS, direction: ASC }) { edges { node { namespace name kind } } } } }`,
      { n: NS },
    );
    expect(nested.project.workloads.edges.map((e: Data) => wkey(e.node))).toEqual(asc.map(wkey));
  });

  it('the whole cluster by STATUS, and one kind, paged to the end', async () => {
    for (const [kind, direction, first] of [
      [undefined, 'ASC', 4],
      [undefined, 'DESC', 3],
      ['DEPLOYMENT', 'ASC', 2],
    ] as const) {
      await agree(
        `cluster workloads ${kind ?? 'all'} by STATUS ${direction}`,
        async () => {
          const truth = (await workloadTruth()).filter((w) => !kind || w.kind === kind).sort(byWorkloadStatus);
          if (direction === 'DESC') truth.reverse();
          const walked = await walk(WORKLOADS, 'workloads', { kind, orderBy: { field: 'STATUS', direction } }, first);
          return {
            got: walked.nodes.map((w) => `${wkey(w)}=${w.status}`),
            want: truth.map((w) => `${w.key}=${w.status}`),
          };
        },
        30_000,
      );
    }
  });

  it('a cursor stays valid when objects change status: the walk goes on after the cursor’s place in the new order', async () => {
    const { apps } = stack.cluster;
    const vars = { namespace: NS, orderBy: { field: 'STATUS', direction: 'ASC' } };
    const page1 = (await data(WORKLOADS, { ...vars, first: 3 })).workloads;
    const last = page1.edges[2].node;
    expect(last.status).toBe('RUNNING');
    // stopped-b (after the cursor, STOPPED) starts: it moves to UPDATING, then RUNNING — before or after the cursor.
    await apps.patchNamespacedDeploymentScale(
      { namespace: NS, name: 'stopped-b', body: { spec: { replicas: 1 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    try {
      await agree(
        'the rest after a cursor, in the new order',
        async () => {
          const truth = (await workloadTruth(NS)).sort(byWorkloadStatus);
          const cursorAt = {
            key: wkey(last),
            namespace: last.namespace,
            name: last.name,
            kind: last.kind,
            status: last.status,
            uid: '',
            owners: [],
          };
          const got: string[] = [];
          let after: string | null = page1.pageInfo.endCursor;
          for (;;) {
            const conn: Data = (await data(WORKLOADS, { ...vars, first: 2, after })).workloads;
            got.push(...conn.edges.map((e: Data) => wkey(e.node)));
            if (!conn.pageInfo.hasNextPage) break;
            after = conn.pageInfo.endCursor;
          }
          return { got, want: truth.filter((w) => byWorkloadStatus(w, cursorAt) > 0).map((w) => w.key) };
        },
        20_000,
      );
    } finally {
      await apps.patchNamespacedDeploymentScale(
        { namespace: NS, name: 'stopped-b', body: { spec: { replicas: 0 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await eventually(
        async () => (await workloadTruth(NS)).find((w) => w.name === 'stopped-b')?.status === 'STOPPED',
        20_000,
        'stopped-b stopped again',
      );
    }
  });
});

describe('nodes sorted by STATUS', () => {
  it('follows kubectl’s STATUS text: Ready < Ready,SchedulingDisabled < NotReady < NotReady,SchedulingDisabled; ties by name', async () => {
    const { core } = stack.cluster;
    const notReady = (name: string, unschedulable: boolean): k8s.V1Node => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      spec: { unschedulable, taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] },
      status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'test node' }] },
    });
    await core.createNode({ body: notReady('wf-node-a', false) });
    await core.createNode({ body: notReady('wf-node-b', true) });
    await core.createNode({ body: notReady('wf-node-c', false) });
    await core.patchNode(
      { name: 'node-2', body: { spec: { unschedulable: true } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    try {
      const Q = `query($orderBy: NodeOrder, $first: Int, $after: String) { nodes(orderBy: $orderBy, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name statusText ready unschedulable } } } }`;
      for (const direction of ['ASC', 'DESC']) {
        const { got } = await agree(`nodes by STATUS ${direction}`, async () => {
          const truth = [...(await kubectlNodeStatus())].sort(
            ([an, as], [bn, bs]) => nodeRank(as) - nodeRank(bs) || cmp(an, bn),
          );
          if (direction === 'DESC') truth.reverse();
          const walked = await walk(Q, 'nodes', { orderBy: { field: 'STATUS', direction } }, 2);
          return {
            got: walked.nodes.map((n) => `${n.name}=${n.statusText}`),
            want: truth.map(([n, s]) => `${n}=${s}`),
          };
        });
        const statuses = [...new Set(got.map((s) => s.split('=')[1]))];
        const want = ['Ready', 'Ready,SchedulingDisabled', 'NotReady', 'NotReady,SchedulingDisabled'];
        expect(statuses).toEqual(direction === 'ASC' ? want : [...want].reverse());
      }
    } finally {
      await core.patchNode(
        { name: 'node-2', body: { spec: { unschedulable: false } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      for (const name of ['wf-node-a', 'wf-node-b', 'wf-node-c']) await core.deleteNode({ name });
    }
  });
});

// ---------------------------------------------------------------- status and phase filters

describe('projects by status', () => {
  it('a namespace held by a finalizer is TERMINATING until the finalizer goes', async () => {
    const { core } = stack.cluster;
    await core.createNamespacedConfigMap({
      namespace: TERM_NS,
      body: { metadata: { name: 'held', finalizers: [HOLD] } },
    });
    await core.deleteNamespace({ name: TERM_NS });
    await eventually(
      async () => (await core.readNamespace({ name: TERM_NS })).status?.phase === 'Terminating',
      10_000,
      'the namespace to terminate',
    );
    const Q = `query($filter: ProjectFilter) { projects(filter: $filter) { totalCount edges { node { name phase status } } } }`;
    const truth = async () => {
      const all = (await core.listNamespace()).items;
      const terminating = (n: k8s.V1Namespace) =>
        n.status?.phase === 'Terminating' || Boolean(n.metadata?.deletionTimestamp);
      return {
        TERMINATING: sorted(all.filter(terminating).map((n) => n.metadata!.name!)),
        ACTIVE: sorted(all.filter((n) => !terminating(n)).map((n) => n.metadata!.name!)),
      };
    };
    const names = (d: Data) => d.projects.edges.map((e: Data) => e.node.name);
    await agree('TERMINATING projects', async () => ({
      got: names(await data(Q, { filter: { status: ['TERMINATING'] } })),
      want: (await truth()).TERMINATING,
    }));
    expect((await truth()).TERMINATING).toEqual([TERM_NS]);
    await agree('ACTIVE projects', async () => ({
      got: names(await data(Q, { filter: { status: ['ACTIVE'] } })),
      want: (await truth()).ACTIVE,
    }));
    await agree('both', async () => {
      const t = await truth();
      return {
        got: names(await data(Q, { filter: { status: ['ACTIVE', 'TERMINATING'] } })),
        want: sorted([...t.ACTIVE, ...t.TERMINATING]),
      };
    });
    expect((await data(Q, { filter: { status: [] } })).projects.totalCount).toBe(0);
    expect(
      (await data(Q, { filter: { status: ['TERMINATING'], name: 'wf-' } })).projects.edges.map((e: Data) => e.node),
    ).toEqual([{ name: TERM_NS, phase: 'Terminating', status: 'TERMINATING' }]);
    expect((await data(`{ project(name: "${NS}") { phase status } }`)).project).toEqual({
      phase: 'Active',
      status: 'ACTIVE',
    });

    // The finalizer goes, the namespace goes, and so does it from the list.
    await core.patchNamespacedConfigMap(
      { namespace: TERM_NS, name: 'held', body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await eventually(
      async () => !(await core.listNamespace()).items.some((n) => n.metadata!.name === TERM_NS),
      20_000,
      'the namespace to go',
    );
    await agree('no TERMINATING project left', async () => ({
      got: names(await data(Q, { filter: { status: ['TERMINATING'] } })),
      want: (await truth()).TERMINATING,
    }));
  });
});

describe('claims and volumes by phase', () => {
  it('PersistentVolumeClaims: PENDING, BOUND, LOST against the API server', async () => {
    const { core } = stack.cluster;
    const claim = (name: string, storageClassName?: string): k8s.V1PersistentVolumeClaim => ({
      metadata: { name, namespace: PVC_NS },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        ...(storageClassName ? { storageClassName } : {}),
      },
    });
    await core.createNamespacedPersistentVolumeClaim({ namespace: PVC_NS, body: claim('pending', 'wf-no-such-class') });
    await core.createNamespacedPersistentVolumeClaim({ namespace: PVC_NS, body: claim('lost', 'wf-no-such-class') });
    await core.createNamespacedPersistentVolumeClaim({ namespace: PVC_NS, body: claim('bound') });
    // A claim whose volume is gone is Lost (the persistent volume controller's word; set here through the status).
    const lost = await core.readNamespacedPersistentVolumeClaim({ namespace: PVC_NS, name: 'lost' });
    await core.replaceNamespacedPersistentVolumeClaimStatus({
      namespace: PVC_NS,
      name: 'lost',
      body: { ...lost, status: { phase: 'Lost' } },
    });
    await eventually(
      async () =>
        (await core.readNamespacedPersistentVolumeClaim({ namespace: PVC_NS, name: 'bound' })).status?.phase ===
        'Bound',
      10_000,
      'the claim to bind',
    );

    const Q = `query($ns: String, $filter: PersistentVolumeClaimFilter) { persistentVolumeClaims(namespace: $ns, filter: $filter) { totalCount edges { node { namespace name phase } } } }`;
    const got = async (vars: Vars) =>
      (await data(Q, vars)).persistentVolumeClaims.edges
        .map((e: Data) => `${e.node.namespace}/${e.node.name}=${e.node.phase}`)
        .sort();
    const truth = async (phases: string[], ns?: string) =>
      (await core.listPersistentVolumeClaimForAllNamespaces()).items
        .filter(
          (c) => (!ns || c.metadata!.namespace === ns) && phases.includes((c.status?.phase ?? 'Pending').toUpperCase()),
        )
        .map((c) => `${c.metadata!.namespace}/${c.metadata!.name}=${c.status?.phase ?? 'Pending'}`)
        .sort();
    for (const phase of [['PENDING'], ['BOUND'], ['LOST'], ['PENDING', 'LOST']]) {
      await agree(`PVCs ${phase}`, async () => ({ got: await got({ filter: { phase } }), want: await truth(phase) }));
      await agree(`PVCs ${phase} in ${PVC_NS}`, async () => ({
        got: await got({ ns: PVC_NS, filter: { phase } }),
        want: await truth(phase, PVC_NS),
      }));
    }
    expect(await got({ ns: PVC_NS, filter: { phase: ['LOST'] } })).toEqual([`${PVC_NS}/lost=Lost`]);
    expect(await got({ ns: PVC_NS, filter: { phase: ['PENDING'] } })).toEqual([`${PVC_NS}/pending=Pending`]);
    expect(await got({ filter: { phase: ['BOUND'], name: 'postgres' } })).toEqual([
      'analytics/data-postgres-0=Bound',
      'analytics/data-postgres-1=Bound',
    ]);
    expect(await got({ filter: { phase: [] } })).toEqual([]);
  });

  it('PersistentVolumes: AVAILABLE, BOUND and the rest against the API server', async () => {
    const { core } = stack.cluster;
    await core.createPersistentVolume({
      body: {
        metadata: { name: 'wf-pv-static' },
        spec: {
          capacity: { storage: '5Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'wf-static',
          persistentVolumeReclaimPolicy: 'Retain',
          hostPath: { path: '/tmp/wf' },
        },
      },
    });
    await eventually(
      async () => (await core.readPersistentVolume({ name: 'wf-pv-static' })).status?.phase === 'Available',
      10_000,
      'the volume to be available',
    );
    const Q = `query($filter: PersistentVolumeFilter) { persistentVolumes(filter: $filter) { totalCount edges { node { name phase } } } }`;
    const got = async (phase: string[]) =>
      (await data(Q, { filter: { phase } })).persistentVolumes.edges
        .map((e: Data) => `${e.node.name}=${e.node.phase}`)
        .sort();
    const truth = async (phases: string[]) =>
      (await core.listPersistentVolume()).items
        .filter((v) => phases.includes((v.status?.phase ?? 'Pending').toUpperCase()))
        .map((v) => `${v.metadata!.name}=${v.status?.phase ?? 'Pending'}`)
        .sort();
    for (const phase of [['AVAILABLE'], ['BOUND'], ['RELEASED'], ['FAILED'], ['PENDING'], ['AVAILABLE', 'BOUND']]) {
      await agree(`PVs ${phase}`, async () => ({ got: await got(phase), want: await truth(phase) }));
    }
    expect(await got(['AVAILABLE'])).toEqual(['wf-pv-static=Available']);
    expect((await got(['BOUND'])).length).toBeGreaterThanOrEqual(1);
  });
});

describe('workload status filter', () => {
  it('each status (and several) gives the workloads with that status, across kinds and namespaces', async () => {
    const Q = `query($filter: WorkloadFilter, $kind: WorkloadKind) { workloads(filter: $filter, kind: $kind) { edges { node { namespace name kind status } } } }`;
    for (const [status, kind] of [
      [['RUNNING']],
      [['UPDATING']],
      [['STOPPED']],
      [['RUNNING', 'STOPPED']],
      [['STOPPED'], 'DEPLOYMENT'],
      [['RUNNING'], 'CRON_JOB'],
    ] as [string[], string?][]) {
      await agree(`workloads ${status} ${kind ?? ''}`, async () => ({
        got: (await data(Q, { filter: { status }, kind })).workloads.edges
          .map((e: Data) => `${wkey(e.node)}=${e.node.status}`)
          .sort(),
        want: (await workloadTruth())
          .filter((w) => status.includes(w.status) && (!kind || w.kind === kind))
          .map((w) => `${w.key}=${w.status}`)
          .sort(),
      }));
    }
  });
});

// ---------------------------------------------------------------- owner filters

describe('owner filters', () => {
  it('replicaSets(filter: { owner }) gives the ReplicaSets of a Deployment (by uid)', async () => {
    const { apps } = stack.cluster;
    // A second revision: run-a gets a new ReplicaSet, the old one stays (scaled to zero).
    await apps.patchNamespacedDeployment(
      {
        namespace: NS,
        name: 'run-a',
        body: { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.28' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    await eventually(
      async () =>
        (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=run-a' })).items.length === 2,
      15_000,
      'a second ReplicaSet',
    );
    const Q = `query($ns: String, $filter: ReplicaSetFilter) { replicaSets(namespace: $ns, filter: $filter) { totalCount edges { node { namespace name owners { kind name uid } } } } }`;
    const truth = async (namespace: string, name: string) => {
      const d = await apps.readNamespacedDeployment({ namespace, name });
      return (await apps.listReplicaSetForAllNamespaces()).items
        .filter((rs) => (rs.metadata!.ownerReferences ?? []).some((r) => r.uid === d.metadata!.uid))
        .map((rs) => `${rs.metadata!.namespace}/${rs.metadata!.name}`)
        .sort();
    };
    const got = async (vars: Vars) =>
      (await data(Q, vars)).replicaSets.edges.map((e: Data) => `${e.node.namespace}/${e.node.name}`).sort();
    for (const [namespace, name] of [
      [NS, 'run-a'],
      ['shop', 'api'],
      ['shop-staging', 'payment-worker'],
    ]) {
      const owner = { namespace, kind: 'DEPLOYMENT', name };
      const { got: found } = await agree(`ReplicaSets of ${namespace}/${name}`, async () => ({
        got: await got({ filter: { owner } }),
        want: await truth(namespace, name),
      }));
      expect(found.length).toBeGreaterThanOrEqual(1);
      expect(await got({ ns: namespace, filter: { owner } })).toEqual(found);
    }
    expect((await got({ filter: { owner: { namespace: NS, kind: 'DEPLOYMENT', name: 'run-a' } } })).length).toBe(2);
    // With the other filters: intersected.
    expect(
      await got({
        filter: { owner: { namespace: 'shop', kind: 'DEPLOYMENT', name: 'api' }, labelSelector: 'app=frontend' },
      }),
    ).toEqual([]);
    // Wrong kinds, another namespace, an owner that does not exist: empty, no error.
    for (const vars of [
      { filter: { owner: { namespace: 'analytics', kind: 'STATEFUL_SET', name: 'postgres' } } },
      { filter: { owner: { namespace: 'analytics', kind: 'CRON_JOB', name: 'hourly-etl' } } },
      { ns: 'shop-staging', filter: { owner: { namespace: 'shop', kind: 'DEPLOYMENT', name: 'api' } } },
      { filter: { owner: { namespace: 'shop', kind: 'DEPLOYMENT', name: 'no-such-deployment' } } },
      { filter: { owner: { namespace: 'no-such-namespace', kind: 'DEPLOYMENT', name: 'api' } } },
    ]) {
      const r = await stack.gql<Data>(Q, vars);
      expect(r.errors, JSON.stringify(vars)).toBeUndefined();
      expect(r.data.replicaSets.totalCount, JSON.stringify(vars)).toBe(0);
    }
  });

  it('workloads(filter: { owner }) gives the Jobs of a CronJob, triggered through the gateway', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await data(
        `mutation($ns: String!, $n: String!) { triggerCronJob(namespace: $ns, name: $n) { name owners { kind name } } }`,
        { ns: NS, n: 'cron-d' },
      );
      expect(r.triggerCronJob.owners).toEqual([{ kind: 'CronJob', name: 'cron-d' }]);
    }
    const owner = { namespace: NS, kind: 'CRON_JOB', name: 'cron-d' };
    const Q = `query($ns: String, $kind: WorkloadKind, $filter: WorkloadFilter, $orderBy: WorkloadOrder) { workloads(namespace: $ns, kind: $kind, filter: $filter, orderBy: $orderBy) { totalCount edges { node { namespace name kind status } } } }`;
    const got = async (vars: Vars) => (await data(Q, vars)).workloads.edges.map((e: Data) => wkey(e.node)).sort();
    const truth = async (namespace: string, name: string) => {
      const cj = await stack.cluster.batch.readNamespacedCronJob({ namespace, name });
      return (await workloadTruth())
        .filter((w) => w.owners.includes(cj.metadata!.uid!))
        .map((w) => w.key)
        .sort();
    };
    const { got: jobs } = await agree('the Jobs of cron-d', async () => ({
      got: await got({ filter: { owner } }),
      want: await truth(NS, 'cron-d'),
    }));
    expect(jobs).toHaveLength(2);
    for (const j of jobs) expect(j).toMatch(new RegExp(`^JOB:${NS}/cron-d-manual-[a-z0-9]{5}$`));
    expect(await got({ kind: 'JOB', filter: { owner } })).toEqual(jobs);
    expect(await got({ ns: NS, filter: { owner, name: 'manual' } })).toEqual(jobs);
    // With a status filter and the STATUS order: the same Jobs.
    await agree('the Jobs of cron-d by status', async () => ({
      got: await got({
        filter: { owner, status: ['RUNNING', 'STOPPED'] },
        orderBy: { field: 'STATUS', direction: 'DESC' },
      }),
      want: jobs,
    }));
    // The demo's CronJob, whatever Jobs it has made.
    await agree('the Jobs of hourly-etl', async () => ({
      got: await got({ filter: { owner: { namespace: 'analytics', kind: 'CRON_JOB', name: 'hourly-etl' } } }),
      want: await truth('analytics', 'hourly-etl'),
    }));
    // Nothing else owns workloads; kinds that cannot match, other namespaces, missing owners: empty, no error.
    for (const vars of [
      { kind: 'DEPLOYMENT', filter: { owner } },
      { ns: 'shop', filter: { owner } },
      { filter: { owner: { namespace: NS, kind: 'DEPLOYMENT', name: 'run-a' } } },
      { filter: { owner: { namespace: NS, kind: 'JOB', name: 'job-f' } } },
      { filter: { owner: { namespace: NS, kind: 'CRON_JOB', name: 'no-such-cronjob' } } },
    ]) {
      const r = await stack.gql<Data>(Q, vars);
      expect(r.errors, JSON.stringify(vars)).toBeUndefined();
      expect(r.data.workloads.totalCount, JSON.stringify(vars)).toBe(0);
    }
  });
});

// ---------------------------------------------------------------- validation

describe('bad filter values', () => {
  it('are BAD_USER_INPUT', async () => {
    const cases: [string, string, Vars][] = [
      [
        'workload status',
        `query($f: WorkloadFilter) { workloads(filter: $f) { totalCount } }`,
        { f: { status: ['BROKEN'] } },
      ],
      [
        'workload order field',
        `query($o: WorkloadOrder) { workloads(orderBy: $o) { totalCount } }`,
        { o: { field: 'HEALTH', direction: 'ASC' } },
      ],
      [
        'workload order direction',
        `query($o: WorkloadOrder) { workloads(orderBy: $o) { totalCount } }`,
        { o: { field: 'STATUS', direction: 'UP' } },
      ],
      [
        'nested workload order',
        `query($o: WorkloadOrder) { project(name: "shop") { workloads(orderBy: $o) { totalCount } } }`,
        { o: { field: 'READY', direction: 'ASC' } },
      ],
      [
        'node order field',
        `query($o: NodeOrder) { nodes(orderBy: $o) { totalCount } }`,
        { o: { field: 'READY', direction: 'ASC' } },
      ],
      [
        'project status',
        `query($f: ProjectFilter) { projects(filter: $f) { totalCount } }`,
        { f: { status: ['DELETED'] } },
      ],
      [
        'a PV phase for a claim',
        `query($f: PersistentVolumeClaimFilter) { persistentVolumeClaims(filter: $f) { totalCount } }`,
        { f: { phase: ['AVAILABLE'] } },
      ],
      [
        'a claim phase for a volume',
        `query($f: PersistentVolumeFilter) { persistentVolumes(filter: $f) { totalCount } }`,
        { f: { phase: ['LOST'] } },
      ],
      [
        'owner kind',
        `query($f: ReplicaSetFilter) { replicaSets(filter: $f) { totalCount } }`,
        { f: { owner: { namespace: 'shop', kind: 'POD', name: 'api' } } },
      ],
      [
        'owner without name',
        `query($f: ReplicaSetFilter) { replicaSets(filter: $f) { totalCount } }`,
        { f: { owner: { namespace: 'shop', kind: 'DEPLOYMENT' } } },
      ],
      [
        'owner namespace',
        `query($f: ReplicaSetFilter) { replicaSets(filter: $f) { totalCount } }`,
        { f: { owner: { namespace: 'Shop!', kind: 'DEPLOYMENT', name: 'api' } } },
      ],
      [
        'owner name',
        `query($f: WorkloadFilter) { workloads(filter: $f) { totalCount } }`,
        { f: { owner: { namespace: 'shop', kind: 'CRON_JOB', name: 'Not A Name' } } },
      ],
      [
        'owner name too long',
        `query($f: WorkloadFilter) { workloads(filter: $f) { totalCount } }`,
        { f: { owner: { namespace: 'shop', kind: 'CRON_JOB', name: 'x'.repeat(254) } } },
      ],
      [
        'owner namespace empty',
        `query($f: ReplicaSetFilter) { replicaSets(filter: $f) { totalCount } }`,
        { f: { owner: { namespace: '', kind: 'DEPLOYMENT', name: 'api' } } },
      ],
      [
        'pod owner name',
        `query($f: PodFilter) { pods(filter: $f) { totalCount } }`,
        { f: { owner: { namespace: 'shop', kind: 'DEPLOYMENT', name: '../api' } } },
      ],
    ];
    for (const [what, query, vars] of cases) {
      const r = await stack.gql(query, vars);
      expect(r.errors?.length, what).toBeTruthy();
      expect(r.errors![0].extensions?.code, `${what}: ${JSON.stringify(r.errors)}`).toBe('BAD_USER_INPUT');
    }
  });
});
