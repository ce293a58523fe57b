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
const qualified = (conn: { edges: { node: { namespace: string; name: string } }[] }) => conn.edges.map((e) => `${e.node.namespace}/${e.node.name}`);

beforeAll(async () => {
  stack = await startTestStack({ sandbox: { seed: { kind: 'demo' }, speed: 20 } });
  // The postgres StatefulSet's claims exist once its controller ran.
  await eventually(async () => (await data(`{ persistentVolumeClaims(namespace: "analytics") { totalCount } }`)).persistentVolumeClaims.totalCount >= 2, 20_000, 'the postgres PVCs');
});

afterAll(async () => {
  await stack?.close();
});

describe('lists and lookups of the other kinds', () => {
  it('services: namespace, name, labelSelector filters, ordering, paging, lookup', async () => {
    const all = await data(`{ services(namespace: "shop") { totalCount edges { node { namespace name type ports selector uid resourceVersion createdAt labels annotations owners { kind } yaml } } } }`);
    expect(names(all.services)).toEqual(['api', 'frontend', 'redis']);
    const fe = all.services.edges[1].node;
    expect(fe.selector).toEqual({ app: 'frontend' });
    expect(fe.ports[0].port).toBe(80);
    expect(fe.uid).toBeTruthy();
    expect(fe.yaml).toContain('kind: Service');
    const byName = await data(`{ services(filter: { name: "front" }) { edges { node { namespace name } } } }`);
    expect(qualified(byName.services).sort()).toEqual(['shop-staging/frontend', 'shop/frontend']);
    const bySelector = await data(`{ services(filter: { labelSelector: "app in (redis, postgres)" }) { edges { node { namespace name } } } }`);
    expect(qualified(bySelector.services)).toEqual(['analytics/postgres', 'shop/redis']);
    const notIn = await data(`{ services(namespace: "shop", filter: { labelSelector: "app!=api" }) { edges { node { name } } } }`);
    expect(names(notIn.services)).toEqual(['frontend', 'redis']);
    const desc = await data(`{ services(namespace: "shop", orderBy: { field: NAME, direction: DESC }, first: 2) { pageInfo { hasNextPage endCursor } edges { node { name } } } }`);
    expect(names(desc.services)).toEqual(['redis', 'frontend']);
    const rest = await data(`query($after: String) { services(namespace: "shop", orderBy: { field: NAME, direction: DESC }, first: 2, after: $after) { pageInfo { hasNextPage } edges { node { name } } } }`, { after: desc.services.pageInfo.endCursor });
    expect(names(rest.services)).toEqual(['api']);
    expect(rest.services.pageInfo.hasNextPage).toBe(false);
    const byCreated = await data(`{ services(namespace: "shop", orderBy: { field: CREATED_AT, direction: ASC }) { edges { node { name createdAt } } } }`);
    const created = byCreated.services.edges.map((e: Data) => e.node.createdAt);
    expect([...created].sort()).toEqual(created);
    expect((await data(`{ service(namespace: "shop", name: "api") { name clusterIP } }`)).service.name).toBe('api');
    expect((await data(`{ service(namespace: "shop", name: "nope") { name } }`)).service).toBeNull();
    expect(await errorCode(`{ services(filter: { labelSelector: "app in (" }) { totalCount } }`)).toBe('BAD_USER_INPUT');
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
    expect(d.horizontalPodAutoscalers.edges[0].node).toMatchObject({ name: 'api', minReplicas: 2, maxReplicas: 6, scaleTargetRef: { kind: 'Deployment', name: 'api' } });
    expect(d.networkPolicies.edges[0].node).toMatchObject({ name: 'redis-from-api', podSelector: { matchLabels: { app: 'redis' } }, policyTypes: ['Ingress'] });
    expect(names(d.serviceAccounts)).toEqual(['default']);
  });

  it('storage: storage classes, claims of the postgres StatefulSet, volumes', async () => {
    const d = await data(`{
      storageClasses { edges { node { name provisioner isDefault reclaimPolicy } } }
      persistentVolumeClaims(namespace: "analytics", filter: { name: "postgres" }) { edges { node { namespace name phase accessModes requestedStorage storageClassName } } }
      persistentVolumes { totalCount edges { node { name claim } } }
    }`);
    expect(d.storageClasses.edges.map((e: Data) => e.node)).toContainEqual({ name: 'standard', provisioner: 'rancher.io/local-path', isDefault: true, reclaimPolicy: 'Delete' });
    expect(names(d.persistentVolumeClaims)).toEqual(['data-postgres-0', 'data-postgres-1']);
    expect(d.persistentVolumeClaims.edges[0].node).toMatchObject({ accessModes: ['ReadWriteOnce'], requestedStorage: '10Gi' });
    expect((await data(`{ storageClass(name: "standard") { name } }`)).storageClass.name).toBe('standard');
    const pvcs = await data(`{ persistentVolumeClaim(namespace: "analytics", name: "data-postgres-0") { name } }`);
    expect(pvcs.persistentVolumeClaim.name).toBe('data-postgres-0');
  });

  it('replicaSets, with Deployment.replicaSets and revision', async () => {
    const d = await data(`{ replicaSets(namespace: "shop", filter: { labelSelector: "app=api" }) { edges { node { name revision replicas images owners { kind name } } } }
      workload(namespace: "shop", kind: DEPLOYMENT, name: "api") { ... on Deployment { revision paused replicaSets { name revision } } } }`);
    expect(d.replicaSets.edges).toHaveLength(1);
    const rs = d.replicaSets.edges[0].node;
    expect(rs.name).toMatch(/^api-[a-z0-9]+$/);
    expect(rs.revision).toBe(1);
    expect(rs.owners).toEqual([{ kind: 'Deployment', name: 'api' }]);
    expect(d.workload).toMatchObject({ revision: 1, paused: false, replicaSets: [{ name: rs.name, revision: 1 }] });
  });

  it('events, filtered by the object they are about', async () => {
    const d = await data(`{ events(namespace: "shop-staging", involvedKind: "Pod") { totalCount edges { node { reason involvedObject { kind name } } } } }`);
    expect(d.events.totalCount).toBeGreaterThan(0);
    for (const e of d.events.edges) expect(e.node.involvedObject.kind).toBe('Pod');
  });
});

describe('Secrets never show a value', () => {
  it('lists keys and type only, and the YAML holds no value', async () => {
    const d = await data(`{ secrets(namespace: "shop") { edges { node { name type keys yaml annotations } } } secret(namespace: "shop", name: "shop-db") { keys yaml } }`);
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
    expect(await errorCode(`{ secret(namespace: "shop", name: "shop-db") { data } }`)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a Secret written with stringData and kubectl apply shows no value either', async () => {
    await stack.cluster.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: shop\nstringData:\n  token: very-secret-token\n' });
    const d = await eventually(async () => (await data(`{ secret(namespace: "shop", name: "applied") { keys yaml annotations } }`)).secret ?? undefined, 10_000, 'the applied secret');
    expect(d.keys).toEqual(['token']);
    expect(d.yaml).not.toContain('very-secret-token');
    expect(d.yaml).not.toContain(Buffer.from('very-secret-token').toString('base64'));
    expect(JSON.stringify(d.annotations)).not.toContain('very-secret-token');
  });
});

describe('Services and Pods', () => {
  it('Service.pods are the pods its selector matches; Pod.services the services selecting it', async () => {
    const d = await data(`{ service(namespace: "shop", name: "frontend") { pods { totalCount edges { node { name labels services { name } } } } } }`);
    expect(d.service.pods.totalCount).toBe(3);
    for (const e of d.service.pods.edges) {
      expect(e.node.labels.app).toBe('frontend');
      expect(e.node.services).toEqual([{ name: 'frontend' }]);
    }
    const paged = await data(`{ service(namespace: "shop", name: "frontend") { pods(first: 2) { pageInfo { hasNextPage } edges { node { name } } } } }`);
    expect(paged.service.pods.edges).toHaveLength(2);
    expect(paged.service.pods.pageInfo.hasNextPage).toBe(true);
    // The kubernetes Service has no selector: no pods.
    expect((await data(`{ service(namespace: "default", name: "kubernetes") { pods { totalCount } } }`)).service.pods.totalCount).toBe(0);
  });
});
