// "Served from informer caches (one list+watch per kind) … a request never lists from the API server": a broad set of
// queries through the gateway, with the sandbox counting every API request it gets (SandboxServer.requestCounts).
// The stack is the workloads subgraph's own (test/harness/live-stack.ts: the sandbox, workloads, a second subgraph
// extending Pod that never calls the API server, and the gateway), so every request the sandbox counts is one of the
// workloads subgraph's: the full test stack's other subgraphs (monitoring, accounts, apps, logging) watch namespaces
// too, and their requests are theirs to count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestCounts } from '../services/sandbox/server.js';
import { gql } from './harness/graphql.js';
import { eventually } from './harness/sandbox.js';
import { startLiveStack, type LiveStack } from './harness/live-stack.js';

let stack: LiveStack;

beforeAll(async () => {
  stack = await startLiveStack();
});

afterAll(async () => {
  await stack?.close();
});

const server = () => stack.cluster.sandbox.server;

/** The kinds the workloads subgraph keeps an informer cache of, as the sandbox names their resources. */
const CACHED = [
  'namespaces',
  'nodes',
  'pods',
  'deployments.apps',
  'replicasets.apps',
  'statefulsets.apps',
  'daemonsets.apps',
  'jobs.batch',
  'cronjobs.batch',
  'events',
  'services',
  'ingresses.networking.k8s.io',
  'configmaps',
  'secrets',
  'serviceaccounts',
  'persistentvolumeclaims',
  'persistentvolumes',
  'storageclasses.storage.k8s.io',
  'horizontalpodautoscalers.autoscaling',
  'networkpolicies.networking.k8s.io',
  'customresourcedefinitions.apiextensions.k8s.io',
];

/** Informers per resource: the workloads subgraph keeps one per cached kind, namespaces included. */
const INFORMERS = 1;

const of = (counts: RequestCounts, verb: string) =>
  Object.fromEntries(
    Object.entries(counts)
      .filter(([k]) => k.startsWith(`${verb} `))
      .map(([k, n]) => [k.slice(verb.length + 1), n]),
  );

/** A query as the platform admin that must answer without errors; its data. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- results are read deep, asserted by the test
async function q(query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const r = await stack.gql(query, variables);
  expect(r.errors, `${query}\n${JSON.stringify(r.errors)}`).toBeUndefined();
  return r.data;
}

const names = (conn: { edges: { node: { name: string } }[] }) => conn.edges.map((e) => e.node.name);

describe('workloads reads never list from the API server', () => {
  let before: RequestCounts;

  it('starts with one list and watch per cached kind', async () => {
    // Ready means every cache has listed; the watch that follows each LIST may still be on its way.
    const listed = await eventually(
      () => {
        const lists = Object.keys(of(server().requestCounts(), 'list'));
        return CACHED.every((r) => lists.includes(r)) && lists.every((r) => server().activeWatches(r) >= INFORMERS)
          ? lists
          : undefined;
      },
      30_000,
      'a watch behind every LIST',
    );
    expect(listed.sort()).toEqual([...CACHED].sort());
    before = server().requestCounts();
  });

  it('answers a broad set of queries from the caches', async () => {
    const pod = `namespace name uid status statusText phase ready restarts age ip nodeName labels annotations resourceVersion createdAt
      containers { name image ready state stateReason restartCount started } initContainers { name }
      owners { kind name controller } yaml`;

    // The demo cluster's pods are made by its controllers: wait for them through the gateway (reads like any other).
    await eventually(
      async () => {
        const d = await q('{ pods(namespace: "shop", filter: { status: [RUNNING] }) { totalCount } }');
        return d.pods.totalCount >= 5;
      },
      30_000,
      'running pods in shop',
    );

    // projects, project
    const projects = await q(`{
      projects(first: 20, orderBy: { field: NAME, direction: ASC }) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { name workspaceName phase status labels annotations uid createdAt yaml owners { name }
          pods(first: 5, orderBy: { field: STATUS, direction: DESC }) { totalCount edges { node { name node { name } } } }
          workloads(first: 5, orderBy: { field: STATUS, direction: ASC }) { totalCount edges { node { kind name status } } } } }
      }
      byWorkspace: projects(workspace: "demo-shop", filter: { name: "shop", status: [ACTIVE], labelSelector: "kubesphere.io/workspace" }) { totalCount edges { node { name } } }
      page: projects(first: 2, after: null) { pageInfo { hasNextPage endCursor } }
      project(name: "analytics") { name workspaceName status yaml workloads(kind: STATEFUL_SET) { edges { node { name } } } }
    }`);
    expect(names(projects.projects)).toEqual(expect.arrayContaining(['shop', 'shop-staging', 'analytics']));
    expect(names(projects.byWorkspace).sort()).toEqual(['shop', 'shop-staging']);
    expect(projects.project.workspaceName).toBe('data-platform');
    await q('query($after: String) { projects(first: 2, after: $after) { edges { node { name } } } }', {
      after: projects.page.pageInfo.endCursor,
    });

    // nodes → pods
    const nodes = await q(`{
      nodes(first: 10, filter: { ready: true }, orderBy: { field: STATUS, direction: ASC }) {
        totalCount edges { node { name ready unschedulable roles statusText internalIP kubeletVersion capacity allocatable age labels yaml
          pods(first: 20, filter: { status: [RUNNING] }, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { namespace name owner { kind name } } } } } }
      }
      byName: nodes(filter: { name: "node", labelSelector: "kubernetes.io/hostname" }, orderBy: { field: NAME, direction: DESC }) { totalCount }
    }`);
    expect(nodes.nodes.totalCount).toBe(3);
    const nodeName = nodes.nodes.edges[0].node.name;

    // pods with their relations: node, owner, events, services
    const pods = await q(`{
      pods(first: 30, orderBy: { field: CREATED_AT, direction: DESC }) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { ${pod}
          node { name ready statusText } owner { namespace kind name status replicas readyReplicas }
          events { type reason message count involvedObject { kind name } } services { namespace name type } } }
      }
    }`);
    await q('query($after: String) { pods(first: 30, after: $after) { edges { node { name } } } }', {
      after: pods.pods.pageInfo.endCursor,
    });
    const related = await q(
      `query($node: String) {
      shop: pods(namespace: "shop", filter: { labelSelector: "app in (frontend, api)", name: "-", status: [RUNNING, PENDING] }, orderBy: { field: STATUS, direction: ASC }) {
        totalCount edges { node { name services { name pods(first: 5) { totalCount } } owner { name pods(first: 5) { totalCount } } } }
      }
      onNode: pods(workspace: "demo-shop", filter: { node: $node }) { totalCount }
      ofDeployment: pods(filter: { owner: { namespace: "shop", kind: DEPLOYMENT, name: "frontend" } }) { totalCount edges { node { name } } }
      crashing: pods(namespace: "shop-staging", filter: { status: [CRASH_LOOP_BACK_OFF, ERROR, RUNNING, CONTAINER_CREATING] }) { totalCount }
    }`,
      { node: nodeName },
    );
    expect(related.ofDeployment.totalCount).toBe(3);
    const onePod = related.ofDeployment.edges[0].node.name;
    const single = await q(
      `query($name: String!) {
      pod(namespace: "shop", name: $name) { ${pod} node { name pods(first: 5) { totalCount } } owner { kind name yaml } events { reason } services { name selector pods(first: 5) { edges { node { name } } } } }
      missing: pod(namespace: "shop", name: "no-such-pod") { name }
    }`,
      { name: onePod },
    );
    expect(single.pod.owner).toMatchObject({ kind: 'DEPLOYMENT', name: 'frontend' });
    expect(single.pod.services.map((s: { name: string }) => s.name)).toContain('frontend');
    expect(single.missing).toBeNull();

    // workloads → pods, replica sets, owned jobs
    const workloads = await q(`{
      workloads(first: 50, orderBy: { field: STATUS, direction: ASC }) {
        totalCount edges { node { namespace name kind status replicas readyReplicas availableReplicas updatedReplicas selector labels owners { name } yaml
          pods(first: 5, orderBy: { field: CREATED_AT, direction: ASC }) { totalCount edges { node { name node { name } events { reason } } } }
          ... on Deployment { revision paused replicaSets { name revision replicas images } }
          ... on Job { succeeded failed active completions }
          ... on CronJob { schedule suspend lastScheduleTime } } }
      }
      statefulSets: workloads(namespace: "analytics", kind: STATEFUL_SET) { edges { node { name pods { totalCount } } } }
      filtered: workloads(workspace: "demo-shop", filter: { name: "front", labelSelector: "tier", status: [RUNNING, UPDATING, STOPPED] }, orderBy: { field: NAME, direction: DESC }) { totalCount }
      ofCronJob: workloads(filter: { owner: { namespace: "analytics", kind: CRON_JOB, name: "hourly-etl" } }) { totalCount }
      deployment: workload(namespace: "shop", kind: DEPLOYMENT, name: "frontend") { name status yaml pods { totalCount } ... on Deployment { replicaSets { name } } }
      daemonSet: workload(namespace: "kube-system", kind: DAEMON_SET, name: "kube-proxy") { name pods { totalCount } }
      job: workload(namespace: "analytics", kind: JOB, name: "nightly-report") { name status }
      cronJob: workload(namespace: "analytics", kind: CRON_JOB, name: "hourly-etl") { name ... on CronJob { schedule } }
    }`);
    expect(workloads.deployment.pods.totalCount).toBe(3);
    expect(new Set(workloads.workloads.edges.map((e: { node: { kind: string } }) => e.node.kind))).toEqual(
      new Set(['DEPLOYMENT', 'STATEFUL_SET', 'DAEMON_SET', 'JOB', 'CRON_JOB']),
    );

    // replica sets
    const rs = await q(`{
      replicaSets(namespace: "shop", filter: { owner: { namespace: "shop", kind: DEPLOYMENT, name: "frontend" } }, orderBy: { field: CREATED_AT, direction: DESC }) { totalCount edges { node { name revision images spec status yaml } } }
      all: replicaSets(workspace: "demo-shop", first: 10, filter: { labelSelector: "tier=web", name: "front" }) { totalCount }
    }`);
    await q(
      'query($n: String!) { replicaSet(namespace: "shop", name: $n) { name revision owners { kind name } yaml } }',
      { n: names(rs.replicaSets)[0] },
    );

    // services → pods
    const services = await q(`{
      services(first: 30, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { namespace name type clusterIP ports selector spec yaml
        pods(first: 10, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { name status owner { name } } } } } } }
      shop: services(namespace: "shop", filter: { name: "front" }) { edges { node { name } } }
      service(namespace: "shop", name: "frontend") { name pods { totalCount edges { node { name node { name } } } } }
    }`);
    expect(services.service.pods.totalCount).toBe(3);

    // the other kinds: each list with a filter and sort, and one lookup
    const rest = await q(`{
      ingresses(workspace: "demo-shop", filter: { name: "front" }, orderBy: { field: CREATED_AT, direction: DESC }) { totalCount edges { node { name hosts ingressClassName spec yaml } } }
      ingress(namespace: "shop", name: "frontend") { name hosts yaml }
      configMaps(namespace: "shop", first: 10, filter: { name: "config" }, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { name keys data yaml } } }
      configMap(namespace: "analytics", name: "etl-config") { keys data yaml }
      secrets(workspace: "demo-shop", filter: { name: "db" }, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { name type keys yaml } } }
      secret(namespace: "shop", name: "shop-db") { name type keys yaml }
      serviceAccounts(first: 20, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { namespace name secrets imagePullSecrets yaml } } }
      persistentVolumeClaims(first: 20, filter: { phase: [PENDING, BOUND, LOST] }, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { namespace name phase storageClassName volumeName accessModes requestedStorage capacity yaml } } }
      persistentVolumes(first: 20, filter: { phase: [AVAILABLE, BOUND, RELEASED] }, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { name phase claim capacity yaml } } }
      storageClasses(orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { name provisioner isDefault parameters yaml } } }
      storageClass(name: "standard") { name isDefault yaml }
      horizontalPodAutoscalers(namespace: "shop", filter: { name: "api" }) { totalCount edges { node { name scaleTargetRef { kind name } minReplicas maxReplicas yaml } } }
      horizontalPodAutoscaler(namespace: "shop", name: "api") { name maxReplicas yaml }
      networkPolicies(workspace: "demo-shop", orderBy: { field: CREATED_AT, direction: ASC }) { totalCount edges { node { name podSelector policyTypes yaml } } }
      networkPolicy(namespace: "shop", name: "redis-from-api") { name policyTypes yaml }
      customResourceDefinitions(first: 20, filter: { labelSelector: "!kubegraph.io/none" }, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { name group kindName plural scope versions version spec yaml } } }
      events(namespace: "shop", involvedKind: "Pod", type: "Normal", first: 20, orderBy: { field: CREATED_AT, direction: DESC }) { totalCount edges { node { type reason message count involvedObject { kind name } source firstTimestamp lastTimestamp yaml } } }
      allEvents: events(workspace: "demo-shop", filter: { name: "frontend" }, first: 50) { totalCount }
    }`);
    expect(rest.ingress.hosts).toEqual(['shop.example.com']);
    expect(rest.storageClass.isDefault).toBe(true);
    expect(rest.events.totalCount).toBeGreaterThan(0);
    if (rest.serviceAccounts.edges.length) {
      const sa = rest.serviceAccounts.edges[0].node;
      await q('query($ns: String!, $n: String!) { serviceAccount(namespace: $ns, name: $n) { name yaml } }', {
        ns: sa.namespace,
        n: sa.name,
      });
    }
    if (rest.persistentVolumeClaims.edges.length) {
      const pvc = rest.persistentVolumeClaims.edges[0].node;
      await q(
        'query($ns: String!, $n: String!) { persistentVolumeClaim(namespace: $ns, name: $n) { name phase yaml } }',
        { ns: pvc.namespace, n: pvc.name },
      );
    }
    if (rest.persistentVolumes.edges.length) {
      await q('query($n: String!) { persistentVolume(name: $n) { name phase yaml } }', {
        n: rest.persistentVolumes.edges[0].node.name,
      });
    }
    // A CRD's `objects` come from an informer started by their first read (one LIST and WATCH then, none after:
    // test/workloads-resources.test.ts counts them); the demo cluster has no CRD.
    await q('query($n: String!) { customResourceDefinition(name: $n) { name plural yaml } }', {
      n: rest.customResourceDefinitions.edges[0]?.node.name ?? 'widgets.example.com',
    });

    // Across subgraphs: the gateway's entity fetches into workloads (the second subgraph's Pod.insight), and the
    // workloads subgraph's _entities as another subgraph's references reach it (accounts' workspaces → projects).
    await q('{ pods(namespace: "shop", first: 5) { edges { node { name insight { nameLength } } } } }');
    const entities = await gql<{ _entities: { name: string; pods: { totalCount: number } }[] }>(
      stack.workloads.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Project { name pods(first: 5) { totalCount } workloads(first: 5) { totalCount } } } }`,
      {
        r: [
          { __typename: 'Project', name: 'shop' },
          { __typename: 'Project', name: 'analytics' },
        ],
      },
    );
    expect(entities.errors).toBeUndefined();
    expect(entities.data!._entities.map((p) => p.name)).toEqual(['shop', 'analytics']);

    // Secret.values reads the Secret from the API server when asked (one GET), by design: the caches hold no values.
    const secret = await q('{ secret(namespace: "shop", name: "shop-db") { values } }');
    expect(secret.secret.values).toMatchObject({ username: 'shop' });

    const during = server().requestCounts(before);
    expect(of(during, 'list'), 'LIST requests during the queries').toEqual({});
    expect(of(during, 'watch'), 'WATCH requests during the queries').toEqual({});
    // Nothing else went to the API server either: only Secret.values' GET.
    expect(during).toEqual({ 'get secrets': 1 });
  });

  it('still has one watch per kind and informer, every one of them open since it started', () => {
    const watches = of(server().requestCounts(), 'watch');
    expect(Object.keys(watches).sort()).toEqual([...CACHED].sort());
    for (const [resource, n] of Object.entries(watches)) {
      // No watch was re-opened (server-side watches last 30 minutes; no 410 or drop happened): opened == open now.
      expect({ resource, opened: n, open: server().activeWatches(resource) }).toEqual({
        resource,
        opened: INFORMERS,
        open: INFORMERS,
      });
    }
  });
});
