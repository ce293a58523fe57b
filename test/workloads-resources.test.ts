// End to end through the gateway, against the demo sandbox: the kinds beyond pods and workloads (ReplicaSet, Service,
// Ingress, ConfigMap, Secret, ServiceAccount, PVC, PV, StorageClass, HPA, NetworkPolicy, CRD, Event) with their
// filters, the Service/Pod relations, Secrets never showing a value (fields and YAML), and the actions (rollback,
// pause/resume, delete, labels/annotations, CronJob suspend/resume/trigger, cordon/uncordon) with their effect checked
// through client-node and their stale or invalid cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

let stack: TestStack;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL results are read deep; the tests assert their shape
type Data = any;

async function data(query: string, vars: Record<string, unknown> = {}): Promise<Data> {
  const r = await stack.gql<Data>(query, vars);
  if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** The error code of a request expected to fail. */
async function errorCode(query: string, vars: Record<string, unknown> = {}): Promise<string | undefined> {
  const r = await stack.gql(query, vars);
  expect(r.errors?.length, JSON.stringify(r.data)).toBeTruthy();
  return r.errors![0].extensions?.code;
}

const names = (conn: { edges: { node: { name: string } }[] }) => conn.edges.map((e) => e.node.name);
const qualified = (conn: { edges: { node: { namespace: string; name: string } }[] }) =>
  conn.edges.map((e) => `${e.node.namespace}/${e.node.name}`);

beforeAll(async () => {
  stack = await startTestStack({ sandbox: { seed: { kind: 'demo' }, speed: 20 } });
  // The postgres StatefulSet's claims exist once its controller ran.
  await eventually(
    async () =>
      (await data(`{ persistentVolumeClaims(namespace: "analytics") { totalCount } }`)).persistentVolumeClaims
        .totalCount >= 2,
    20_000,
    'the postgres PVCs',
  );
});

afterAll(async () => {
  await stack?.close();
});

describe('lists and lookups of the other kinds', () => {
  it('services: namespace, name, labelSelector filters, ordering, paging, lookup', async () => {
    const all = await data(
      `{ services(namespace: "shop") { totalCount edges { node { namespace name type ports selector uid resourceVersion createdAt labels annotations owners { kind } yaml } } } }`,
    );
    expect(names(all.services)).toEqual(['api', 'frontend', 'redis']);
    const fe = all.services.edges[1].node;
    expect(fe.selector).toEqual({ app: 'frontend' });
    expect(fe.ports[0].port).toBe(80);
    expect(fe.uid).toBeTruthy();
    expect(fe.yaml).toContain('kind: Service');
    const byName = await data(`{ services(filter: { name: "front" }) { edges { node { namespace name } } } }`);
    expect(qualified(byName.services).sort()).toEqual(['shop-staging/frontend', 'shop/frontend']);
    const bySelector = await data(
      `{ services(filter: { labelSelector: "app in (redis, postgres)" }) { edges { node { namespace name } } } }`,
    );
    expect(qualified(bySelector.services)).toEqual(['analytics/postgres', 'shop/redis']);
    const notIn = await data(
      `{ services(namespace: "shop", filter: { labelSelector: "app!=api" }) { edges { node { name } } } }`,
    );
    expect(names(notIn.services)).toEqual(['frontend', 'redis']);
    const desc = await data(
      `{ services(namespace: "shop", orderBy: { field: NAME, direction: DESC }, first: 2) { pageInfo { hasNextPage endCursor } edges { node { name } } } }`,
    );
    expect(names(desc.services)).toEqual(['redis', 'frontend']);
    const rest = await data(
      `query($after: String) { services(namespace: "shop", orderBy: { field: NAME, direction: DESC }, first: 2, after: $after) { pageInfo { hasNextPage } edges { node { name } } } }`,
      { after: desc.services.pageInfo.endCursor },
    );
    expect(names(rest.services)).toEqual(['api']);
    expect(rest.services.pageInfo.hasNextPage).toBe(false);
    const byCreated = await data(
      `{ services(namespace: "shop", orderBy: { field: CREATED_AT, direction: ASC }) { edges { node { name createdAt } } } }`,
    );
    const created = byCreated.services.edges.map((e: Data) => e.node.createdAt);
    expect([...created].sort()).toEqual(created);
    expect((await data(`{ service(namespace: "shop", name: "api") { name clusterIP } }`)).service.name).toBe('api');
    expect((await data(`{ service(namespace: "shop", name: "nope") { name } }`)).service).toBeNull();
    expect(await errorCode(`{ services(filter: { labelSelector: "app in (" }) { totalCount } }`)).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('workspace filter on a namespaced kind', async () => {
    const d = await data(`{ services(workspace: "data-platform") { edges { node { namespace name } } } }`);
    expect(qualified(d.services)).toEqual(['analytics/postgres', 'analytics/reporting-ui']);
  });

  it('ingresses, configMaps, HPAs, network policies, service accounts', async () => {
    const d = await data(`{
      ingresses(namespace: "shop") { totalCount edges { node { name hosts spec } } }
      configMaps(filter: { name: "config" }) { edges { node { namespace name keys data } } }
      horizontalPodAutoscalers(namespace: "shop") { edges { node { name minReplicas maxReplicas scaleTargetRef { kind name } } } }
      networkPolicies(namespace: "shop") { edges { node { name podSelector policyTypes } } }
      serviceAccounts(namespace: "shop", filter: { name: "default" }) { edges { node { name namespace } } }
    }`);
    expect(d.ingresses.edges[0].node).toMatchObject({ name: 'frontend', hosts: ['shop.example.com'] });
    expect(qualified(d.configMaps)).toEqual(['analytics/etl-config', 'shop/shop-config']);
    expect(d.configMaps.edges[1].node.keys).toEqual(['currency', 'feature.flags']);
    expect(d.configMaps.edges[1].node.data.currency).toBe('EUR');
    expect(d.horizontalPodAutoscalers.edges[0].node).toMatchObject({
      name: 'api',
      minReplicas: 2,
      maxReplicas: 6,
      scaleTargetRef: { kind: 'Deployment', name: 'api' },
    });
    expect(d.networkPolicies.edges[0].node).toMatchObject({
      name: 'redis-from-api',
      podSelector: { matchLabels: { app: 'redis' } },
      policyTypes: ['Ingress'],
    });
    expect(names(d.serviceAccounts)).toEqual(['default']);
  });

  it('storage: storage classes, claims of the postgres StatefulSet, volumes', async () => {
    const d = await data(`{
      storageClasses { edges { node { name provisioner isDefault reclaimPolicy } } }
      persistentVolumeClaims(namespace: "analytics", filter: { name: "postgres" }) { edges { node { namespace name phase accessModes requestedStorage storageClassName } } }
      persistentVolumes { totalCount edges { node { name claim } } }
    }`);
    expect(d.storageClasses.edges.map((e: Data) => e.node)).toContainEqual({
      name: 'standard',
      provisioner: 'rancher.io/local-path',
      isDefault: true,
      reclaimPolicy: 'Delete',
    });
    expect(names(d.persistentVolumeClaims)).toEqual(['data-postgres-0', 'data-postgres-1']);
    expect(d.persistentVolumeClaims.edges[0].node).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      requestedStorage: '10Gi',
    });
    expect((await data(`{ storageClass(name: "standard") { name } }`)).storageClass.name).toBe('standard');
    const pvcs = await data(`{ persistentVolumeClaim(namespace: "analytics", name: "data-postgres-0") { name } }`);
    expect(pvcs.persistentVolumeClaim.name).toBe('data-postgres-0');
  });

  it('replicaSets, with Deployment.replicaSets and revision', async () => {
    const d =
      await data(`{ replicaSets(namespace: "shop", filter: { labelSelector: "app=api" }) { edges { node { name revision replicas images owners { kind name } } } }
      workload(namespace: "shop", kind: DEPLOYMENT, name: "api") { ... on Deployment { revision paused replicaSets { name revision } } } }`);
    expect(d.replicaSets.edges).toHaveLength(1);
    const rs = d.replicaSets.edges[0].node;
    expect(rs.name).toMatch(/^api-[a-z0-9]+$/);
    expect(rs.revision).toBe(1);
    expect(rs.owners).toEqual([{ kind: 'Deployment', name: 'api' }]);
    expect(d.workload).toMatchObject({ revision: 1, paused: false, replicaSets: [{ name: rs.name, revision: 1 }] });
  });

  it('events, filtered by the object they are about', async () => {
    const d = await data(
      `{ events(namespace: "shop-staging", involvedKind: "Pod") { totalCount edges { node { reason involvedObject { kind name } } } } }`,
    );
    expect(d.events.totalCount).toBeGreaterThan(0);
    for (const e of d.events.edges) expect(e.node.involvedObject.kind).toBe('Pod');
  });
});

describe('Secrets never show a value', () => {
  it('lists keys and type only, and the YAML holds no value', async () => {
    const d = await data(
      `{ secrets(namespace: "shop") { edges { node { name type keys yaml annotations } } } secret(namespace: "shop", name: "shop-db") { keys yaml } }`,
    );
    const s = d.secrets.edges.find((e: Data) => e.node.name === 'shop-db').node;
    expect(s).toMatchObject({ type: 'Opaque', keys: ['password', 'username'] });
    for (const yaml of [s.yaml, d.secret.yaml]) {
      expect(yaml).toContain('kind: Secret');
      expect(yaml).toContain('password');
      expect(yaml).not.toContain(Buffer.from('s3cr3t-demo').toString('base64'));
      expect(yaml).not.toContain('s3cr3t-demo');
      expect(yaml).not.toContain(Buffer.from('shop').toString('base64'));
    }
    // The schema has no value field at all.
    expect(await errorCode(`{ secret(namespace: "shop", name: "shop-db") { data } }`)).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );
  });

  it('a Secret written with stringData and kubectl apply shows no value either', async () => {
    await stack.cluster.kubectl(['apply', '-f', '-'], {
      input:
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: shop\nstringData:\n  token: very-secret-token\n',
    });
    const d = await eventually(
      async () =>
        (await data(`{ secret(namespace: "shop", name: "applied") { keys yaml annotations } }`)).secret ?? undefined,
      10_000,
      'the applied secret',
    );
    expect(d.keys).toEqual(['token']);
    expect(d.yaml).not.toContain('very-secret-token');
    expect(d.yaml).not.toContain(Buffer.from('very-secret-token').toString('base64'));
    expect(JSON.stringify(d.annotations)).not.toContain('very-secret-token');
  });
});

describe('Services and Pods', () => {
  it('Service.pods are the pods its selector matches; Pod.services the services selecting it', async () => {
    const d = await data(
      `{ service(namespace: "shop", name: "frontend") { pods { totalCount edges { node { name labels services { name } } } } } }`,
    );
    expect(d.service.pods.totalCount).toBe(3);
    for (const e of d.service.pods.edges) {
      expect(e.node.labels.app).toBe('frontend');
      expect(e.node.services).toEqual([{ name: 'frontend' }]);
    }
    const paged = await data(
      `{ service(namespace: "shop", name: "frontend") { pods(first: 2) { pageInfo { hasNextPage } edges { node { name } } } } }`,
    );
    expect(paged.service.pods.edges).toHaveLength(2);
    expect(paged.service.pods.pageInfo.hasNextPage).toBe(true);
    // The kubernetes Service has no selector: no pods.
    expect(
      (await data(`{ service(namespace: "default", name: "kubernetes") { pods { totalCount } } }`)).service.pods
        .totalCount,
    ).toBe(0);
  });
});

describe('rollouts', () => {
  const DEPLOYMENT = `name namespace revision paused replicaSets { name revision images }`;
  it('rollbackDeployment restores the template of a revision (as kubectl rollout undo); unknown revision, missing deployment', async () => {
    await stack.cluster.kubectl(['-n', 'default', 'set', 'image', 'deployment/hello', 'hello=nginxdemos/hello:0.5']);
    const two = await eventually(
      async () => {
        const d = await data(
          `{ workload(namespace: "default", kind: DEPLOYMENT, name: "hello") { ... on Deployment { ${DEPLOYMENT} } } }`,
        );
        return d.workload.replicaSets.some((rs: Data) => rs.revision === 2) ? d.workload : undefined;
      },
      15_000,
      'revision 2',
    );
    const first = two.replicaSets.find((rs: Data) => rs.revision === 1);
    expect(first.images).toEqual(['nginxdemos/hello:0.4']);

    const r = await data(
      `mutation { rollbackDeployment(namespace: "default", name: "hello", revision: 1) { name resourceVersion } }`,
    );
    expect(r.rollbackDeployment.name).toBe('hello');
    const live = await stack.cluster.apps.readNamespacedDeployment({ namespace: 'default', name: 'hello' });
    expect(live.spec?.template.spec?.containers[0].image).toBe('nginxdemos/hello:0.4');
    expect(live.spec?.template.metadata?.labels?.['pod-template-hash']).toBeUndefined();
    // The controller reuses the old ReplicaSet under the next revision.
    await eventually(
      async () => {
        const d = await data(
          `{ workload(namespace: "default", kind: DEPLOYMENT, name: "hello") { ... on Deployment { revision replicaSets { name revision } } } }`,
        );
        return (
          d.workload.revision === 3 && d.workload.replicaSets.find((rs: Data) => rs.name === first.name)?.revision === 3
        );
      },
      15_000,
      'the old ReplicaSet to become revision 3',
    );

    expect(
      await errorCode(`mutation { rollbackDeployment(namespace: "default", name: "hello", revision: 99) { name } }`),
    ).toBe('BAD_USER_INPUT');
    expect(
      await errorCode(`mutation { rollbackDeployment(namespace: "default", name: "nope", revision: 1) { name } }`),
    ).toBe('NOT_FOUND');
  });

  it('pauseRollout / resumeRollout; a paused deployment does not roll back; missing deployment', async () => {
    const p = await data(`mutation { pauseRollout(namespace: "shop", name: "frontend") { name paused } }`);
    expect(p.pauseRollout).toEqual({ name: 'frontend', paused: true });
    expect(
      (await stack.cluster.apps.readNamespacedDeployment({ namespace: 'shop', name: 'frontend' })).spec?.paused,
    ).toBe(true);
    expect(await errorCode(`mutation { rollbackDeployment(namespace: "shop", name: "frontend") { name } }`)).toBe(
      'BAD_USER_INPUT',
    );
    const r = await data(`mutation { resumeRollout(namespace: "shop", name: "frontend") { name paused } }`);
    expect(r.resumeRollout).toEqual({ name: 'frontend', paused: false });
    expect(
      (await stack.cluster.apps.readNamespacedDeployment({ namespace: 'shop', name: 'frontend' })).spec?.paused,
    ).toBeFalsy();
    expect(await errorCode(`mutation { pauseRollout(namespace: "shop", name: "nope") { name } }`)).toBe('NOT_FOUND');
  });
});

describe('generic actions', () => {
  it('deleteResource deletes any object; then NOT_FOUND; unknown kind BAD_USER_INPUT', async () => {
    const del = `mutation($kind: String!, $apiVersion: String!, $ns: String, $name: String!) { deleteResource(apiVersion: $apiVersion, kind: $kind, namespace: $ns, name: $name) }`;
    const vars = { apiVersion: 'v1', kind: 'ConfigMap', ns: 'analytics', name: 'etl-config' };
    expect((await data(del, vars)).deleteResource).toBe(true);
    await expect(
      stack.cluster.core.readNamespacedConfigMap({ namespace: 'analytics', name: 'etl-config' }),
    ).rejects.toMatchObject({ code: 404 });
    expect((await data(`{ configMap(namespace: "analytics", name: "etl-config") { name } }`)).configMap).toBeNull();
    expect(await errorCode(del, vars)).toBe('NOT_FOUND');
    expect(await errorCode(del, { ...vars, kind: 'NoSuchKind' })).toBe('BAD_USER_INPUT');
    expect(await errorCode(del, { ...vars, ns: null })).toBe('BAD_USER_INPUT');
  });

  it('setLabels / setAnnotations merge (null deletes), validate keys, and never return Secret values', async () => {
    const setLabels = `mutation($kind: String!, $ns: String, $name: String!, $labels: JSON!) { setLabels(apiVersion: "v1", kind: $kind, namespace: $ns, name: $name, labels: $labels) }`;
    const ref = { kind: 'ConfigMap', ns: 'shop', name: 'shop-config' };
    const a = await data(setLabels, { ...ref, labels: { team: 'payments', tier: 'config' } });
    expect(a.setLabels.metadata.labels).toEqual({ team: 'payments', tier: 'config' });
    const b = await data(setLabels, { ...ref, labels: { team: null, env: 'prod' } });
    expect(b.setLabels.metadata.labels).toEqual({ tier: 'config', env: 'prod' });
    expect(
      (await stack.cluster.core.readNamespacedConfigMap({ namespace: 'shop', name: 'shop-config' })).metadata?.labels,
    ).toEqual({ tier: 'config', env: 'prod' });
    expect(
      (
        await data(
          `{ configMaps(namespace: "shop", filter: { labelSelector: "env=prod" }) { edges { node { name } } } }`,
        )
      ).configMaps.edges,
    ).toHaveLength(1);
    expect(await errorCode(setLabels, { ...ref, labels: { 'bad key!': 'x' } })).toBe('BAD_USER_INPUT');
    expect(await errorCode(setLabels, { ...ref, labels: { ok: 'not a valid value!' } })).toBe('BAD_USER_INPUT');
    expect(await errorCode(setLabels, { ...ref, labels: ['x'] })).toBe('BAD_USER_INPUT');
    expect(await errorCode(setLabels, { ...ref, name: 'nope', labels: { a: 'b' } })).toBe('NOT_FOUND');

    const setAnn = `mutation($annotations: JSON!) { setAnnotations(apiVersion: "v1", kind: "Secret", namespace: "shop", name: "shop-db", annotations: $annotations) }`;
    const s = await data(setAnn, { annotations: { 'example.com/owner': 'team shop: see https://example.com' } });
    expect(s.setAnnotations.metadata.annotations['example.com/owner']).toBe('team shop: see https://example.com');
    expect(JSON.stringify(s.setAnnotations)).not.toContain(Buffer.from('s3cr3t-demo').toString('base64'));
    expect(
      (await stack.cluster.core.readNamespacedSecret({ namespace: 'shop', name: 'shop-db' })).metadata?.annotations?.[
        'example.com/owner'
      ],
    ).toBe('team shop: see https://example.com');
    const cleared = await data(setAnn, { annotations: { 'example.com/owner': null } });
    expect(cleared.setAnnotations.metadata.annotations?.['example.com/owner']).toBeUndefined();
    expect(await errorCode(setAnn, { annotations: { '/bad': 'x' } })).toBe('BAD_USER_INPUT');
  });
});

describe('CronJobs', () => {
  it('suspendCronJob / resumeCronJob; missing CronJob', async () => {
    expect(
      (await data(`mutation { suspendCronJob(namespace: "analytics", name: "hourly-etl") { name suspend status } }`))
        .suspendCronJob,
    ).toEqual({ name: 'hourly-etl', suspend: true, status: 'STOPPED' });
    expect(
      (await stack.cluster.batch.readNamespacedCronJob({ namespace: 'analytics', name: 'hourly-etl' })).spec?.suspend,
    ).toBe(true);
    expect(
      (await data(`mutation { resumeCronJob(namespace: "analytics", name: "hourly-etl") { name suspend status } }`))
        .resumeCronJob,
    ).toEqual({ name: 'hourly-etl', suspend: false, status: 'RUNNING' });
    expect(
      (await stack.cluster.batch.readNamespacedCronJob({ namespace: 'analytics', name: 'hourly-etl' })).spec?.suspend,
    ).toBe(false);
    expect(await errorCode(`mutation { suspendCronJob(namespace: "analytics", name: "nope") { name } }`)).toBe(
      'NOT_FOUND',
    );
  });

  it('triggerCronJob creates a Job from the jobTemplate as kubectl create job --from does', async () => {
    const t = await data(
      `mutation { triggerCronJob(namespace: "analytics", name: "hourly-etl") { name namespace owners { kind name controller } } }`,
    );
    expect(t.triggerCronJob.name).toMatch(/^hourly-etl-manual-[a-z0-9]{5}$/);
    expect(t.triggerCronJob.owners).toEqual([{ kind: 'CronJob', name: 'hourly-etl', controller: true }]);
    const job = await stack.cluster.batch.readNamespacedJob({ namespace: 'analytics', name: t.triggerCronJob.name });
    expect(job.metadata?.annotations?.['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job.spec?.template.spec?.containers[0].image).toBe('example/etl-batch-job:2.0');
    const cj = await stack.cluster.batch.readNamespacedCronJob({ namespace: 'analytics', name: 'hourly-etl' });
    expect(job.metadata?.ownerReferences?.[0].uid).toBe(cj.metadata?.uid);
    // Its pods run: the Job is a real one.
    await eventually(
      async () =>
        (
          await data(
            `{ pods(namespace: "analytics", filter: { owner: { namespace: "analytics", kind: JOB, name: "${t.triggerCronJob.name}" } }) { totalCount } }`,
          )
        ).pods.totalCount > 0,
      15_000,
      'the triggered job to have a pod',
    );
    expect(await errorCode(`mutation { triggerCronJob(namespace: "analytics", name: "nope") { name } }`)).toBe(
      'NOT_FOUND',
    );
  });
});

describe('nodes', () => {
  it('cordonNode / uncordonNode; missing node', async () => {
    const node = (await data(`{ nodes(first: 1) { edges { node { name } } } }`)).nodes.edges[0].node.name;
    const c = await data(`mutation($n: String!) { cordonNode(name: $n) { name unschedulable statusText } }`, {
      n: node,
    });
    expect(c.cordonNode).toMatchObject({ name: node, unschedulable: true });
    expect(c.cordonNode.statusText).toContain('SchedulingDisabled');
    expect((await stack.cluster.core.readNode({ name: node })).spec?.unschedulable).toBe(true);
    const u = await data(`mutation($n: String!) { uncordonNode(name: $n) { name unschedulable statusText } }`, {
      n: node,
    });
    expect(u.uncordonNode).toMatchObject({ name: node, unschedulable: false });
    expect((await stack.cluster.core.readNode({ name: node })).spec?.unschedulable).toBeFalsy();
    expect(await errorCode(`mutation { cordonNode(name: "nope") { name } }`)).toBe('NOT_FOUND');
  });
});

describe('CustomResourceDefinitions', () => {
  it('lists CRDs from the cache and pages their objects from an informer started on the first read', async () => {
    await stack.cluster.objects.create({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    } as never);
    const crd = await eventually(
      async () =>
        (
          await data(
            `{ customResourceDefinitions(filter: { name: "widgets" }) { edges { node { name group kindName plural scope versions version } } } }`,
          )
        ).customResourceDefinitions.edges[0]?.node,
      10_000,
      'the CRD in the cache',
    );
    expect(crd).toEqual({
      name: 'widgets.example.com',
      group: 'example.com',
      kindName: 'Widget',
      plural: 'widgets',
      scope: 'Namespaced',
      versions: ['v1'],
      version: 'v1',
    });
    for (const n of ['a', 'b', 'c']) {
      await eventually(
        async () => {
          await stack.cluster.objects.create({
            apiVersion: 'example.com/v1',
            kind: 'Widget',
            metadata: { name: `w-${n}`, namespace: 'shop' },
            spec: { size: n },
          } as never);
          return true;
        },
        10_000,
        'the Widget kind to be served',
      );
    }
    const OBJECTS = `query($after: String) { customResourceDefinition(name: "widgets.example.com") { objects(namespace: "shop", first: 2, after: $after) { items hasNextPage endCursor totalCount } } }`;
    const server = stack.cluster.sandbox.server;
    const before = server.requestCounts();
    const p1 = (await data(OBJECTS)).customResourceDefinition.objects;
    expect(p1.items.map((o: Data) => o.metadata.name)).toEqual(['w-a', 'w-b']);
    expect(p1).toMatchObject({ hasNextPage: true, totalCount: 3 });
    expect(p1.items[0]).toMatchObject({ apiVersion: 'example.com/v1', kind: 'Widget', spec: { size: 'a' } });
    const p2 = (await data(OBJECTS, { after: p1.endCursor })).customResourceDefinition.objects;
    expect(p2.items.map((o: Data) => o.metadata.name)).toEqual(['w-c']);
    expect(p2.hasNextPage).toBe(false);
    expect(
      (
        await data(
          `{ customResourceDefinition(name: "widgets.example.com") { objects(namespace: "analytics") { items totalCount } } }`,
        )
      ).customResourceDefinition.objects,
    ).toEqual({ items: [], totalCount: 0 });
    // The first read started one informer (a LIST and a watch); the other reads came from its cache.
    const reads = server.requestCounts(before);
    expect(reads['list widgets.example.com']).toBe(1);
    expect(reads['watch widgets.example.com']).toBe(1);
    const metrics = await (await fetch(stack.workloads.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(metrics).toMatch(/^kubegraph_workloads_custom_resource_informers(\{[^}]*\})? 1$/m);
    // Changes arrive through the watch, with no new LIST.
    const afterReads = server.requestCounts();
    await stack.cluster.objects.create({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w-0', namespace: 'shop' },
      spec: { size: '0' },
    } as never);
    await stack.cluster.objects.delete({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w-b', namespace: 'shop' },
    } as never);
    const ALL = `{ customResourceDefinition(name: "widgets.example.com") { objects(namespace: "shop") { items totalCount } } }`;
    await eventually(
      async () => {
        const all = (await data(ALL)).customResourceDefinition.objects;
        return (
          JSON.stringify(all.items.map((o: Data) => o.metadata.name)) === JSON.stringify(['w-0', 'w-a', 'w-c']) &&
          all.totalCount === 3
        );
      },
      10_000,
      'the created and deleted Widgets to show',
    );
    expect(server.requestCounts(afterReads)['list widgets.example.com']).toBeUndefined();
    expect(
      await errorCode(
        `{ customResourceDefinition(name: "widgets.example.com") { objects(namespace: "shop", after: "not-a-cursor") { items } } }`,
      ),
    ).toBe('BAD_USER_INPUT');
  });

  it('custom resource informers stop when idle and make room for others', async () => {
    const { CustomObjectCaches } = await import('../services/workloads/clients/custom-objects.js');
    const caches = new CustomObjectCaches(
      stack.workloads.kube,
      { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      { idleMs: 1500, max: 1 },
    );
    try {
      const widgets = { group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget' };
      const widgetWatches = () => stack.cluster.sandbox.server.activeWatches('widgets.example.com');
      const open = widgetWatches();
      expect((await caches.cache(widgets)).size).toBeGreaterThan(0);
      expect(caches.size).toBe(1);
      await eventually(() => widgetWatches() === open + 1, 5_000, 'its watch to open');
      // Unread for longer than idleMs: stopped, and its watch closed.
      await eventually(() => caches.size === 0 && widgetWatches() === open, 10_000, 'the idle informer to stop');
      // A resource the API server does not serve fails as unavailable (404), and leaves nothing running.
      const err = await caches
        .cache({ group: 'example.com', version: 'v1', plural: 'gadgets', kind: 'Gadget' })
        .catch((e: unknown) => e);
      expect(String((err as Error).message ?? err)).toMatch(/could not find the requested resource/);
      await eventually(() => caches.size === 0, 5_000, 'the failed informer to be dropped');
      // max 1: a second resource makes the first one stop.
      await caches.cache(widgets);
      await caches.cache({ group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' });
      expect(caches.size).toBe(1);
      await eventually(() => widgetWatches() === open, 5_000, 'the least recently read informer to stop');
    } finally {
      await caches.stop();
    }
  });
});
