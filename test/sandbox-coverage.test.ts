// Conformance gaps of the sandbox, driven only through real clients over HTTPS (@kubernetes/client-node and the
// kubectl binary): every kind discovery lists goes through create/get/list/delete; field selectors on lists and
// watches; the request-delay fault knob; the status subresource; controller Events; Job parallelism; and pods/log
// options and errors (compared with what a real API server answers).
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { collectWatch, statusOf, type WatchEvent } from './harness/k8s.js';

let t: TestSandbox;
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
const NS = {
  kinds: 'cov-kinds',
  fields: 'cov-fields',
  watch: 'cov-watch',
  status: 'cov-status',
  ctl: 'cov-ctl',
  logs: 'cov-logs',
};

beforeAll(async () => {
  t = await startTestSandbox({ speed: 20 });
  for (const name of Object.values(NS)) await t.core.createNamespace({ body: { metadata: { name } } });
});
afterAll(async () => t?.close());

const names = (items: { metadata?: { name?: string } }[]) => items.map((o) => o.metadata!.name!).sort();
const isReady = (p: k8s.V1Pod) => Boolean(p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
const container = (name: string, image: string): k8s.V1Container => ({ name, image });

// ------------------------------------------------------------------ 1. every kind discovery lists

interface Served {
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

/** The top-level resources of /api/v1 and of every version of every group under /apis, as a client discovers them. */
async function discover(): Promise<Served[]> {
  const out: Served[] = [];
  const add = (group: string, version: string, list: k8s.V1APIResourceList) => {
    for (const r of list.resources) {
      if (r.name.includes('/')) continue; // subresources
      out.push({
        group,
        version,
        apiVersion: group ? `${group}/${version}` : version,
        kind: r.kind,
        plural: r.name,
        namespaced: r.namespaced,
        verbs: r.verbs,
      });
    }
  };
  add('', 'v1', await t.core.getAPIResources());
  const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
  for (const g of (await t.kc.makeApiClient(k8s.ApisApi).getAPIVersions()).groups) {
    for (const v of g.versions)
      add(g.name, v.version, await custom.getAPIResources({ group: g.name, version: v.version }));
  }
  return out;
}

const CR_GROUP = 'cov.example.com';
const crd = (plural: string, kind: string): k8s.V1CustomResourceDefinition => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${CR_GROUP}` },
  spec: {
    group: CR_GROUP,
    scope: 'Namespaced',
    names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
          },
        },
      },
    ],
  },
});

/** The kinds the sandbox must serve: [apiVersion, kind, namespaced]. */
const REQUIRED: [string, string, boolean][] = [
  ['v1', 'Namespace', false],
  ['v1', 'Node', false],
  ['v1', 'Pod', true],
  ['v1', 'Service', true],
  ['v1', 'Endpoints', true],
  ['v1', 'ConfigMap', true],
  ['v1', 'Secret', true],
  ['v1', 'ServiceAccount', true],
  ['v1', 'Event', true],
  ['v1', 'PersistentVolume', false],
  ['v1', 'PersistentVolumeClaim', true],
  ['v1', 'ResourceQuota', true],
  ['v1', 'LimitRange', true],
  ['apps/v1', 'Deployment', true],
  ['apps/v1', 'ReplicaSet', true],
  ['apps/v1', 'StatefulSet', true],
  ['apps/v1', 'DaemonSet', true],
  ['apps/v1', 'ControllerRevision', true],
  ['batch/v1', 'Job', true],
  ['batch/v1', 'CronJob', true],
  ['networking.k8s.io/v1', 'Ingress', true],
  ['networking.k8s.io/v1', 'NetworkPolicy', true],
  ['storage.k8s.io/v1', 'StorageClass', false],
  ['autoscaling/v2', 'HorizontalPodAutoscaler', true],
  ['rbac.authorization.k8s.io/v1', 'Role', true],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', false],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', false],
  [`${CR_GROUP}/v1`, 'Widget', true],
];

const selector = { matchLabels: { app: 'cov' } };
const podTemplate = { metadata: { labels: { app: 'cov' } }, spec: { containers: [container('main', 'nginx:1.27')] } };
const jobTemplate = { spec: { restartPolicy: 'Never', containers: [container('main', 'example/pi-job:1')] } };

/** A minimal valid object of each kind (the spec fields a real API server requires). */
function minimal(kind: string, name: string, namespace: string): Record<string, unknown> {
  const crName = 'gizmos.' + CR_GROUP;
  switch (kind) {
    case 'Pod':
      return { spec: { containers: [container('main', 'nginx:1.27')] } };
    case 'Service':
      return { spec: { selector: { app: 'cov' }, ports: [{ port: 80 }] } };
    case 'ConfigMap':
      return { data: { k: 'v' } };
    case 'Secret':
      return { stringData: { password: 'hunter2' } };
    case 'Event':
      return {
        involvedObject: { kind: 'Pod', name: 'somepod', namespace },
        reason: 'Testing',
        message: 'coverage',
        type: 'Normal',
      };
    case 'PersistentVolume':
      return {
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/tmp/${name}` } },
      };
    case 'PersistentVolumeClaim':
      return { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
    case 'ResourceQuota':
      return { spec: { hard: { pods: '10' } } };
    case 'LimitRange':
      return { spec: { limits: [{ type: 'Container', default: { cpu: '100m' } }] } };
    case 'Deployment':
      return { spec: { replicas: 0, selector, template: podTemplate } };
    case 'ReplicaSet':
      return { spec: { replicas: 0, selector, template: podTemplate } };
    case 'StatefulSet':
      return { spec: { replicas: 0, serviceName: 'cov', selector, template: podTemplate } };
    case 'DaemonSet':
      return { spec: { selector, template: podTemplate } };
    case 'ControllerRevision':
      return { revision: 1, data: {} };
    case 'Job':
      return { spec: { suspend: true, template: jobTemplate } };
    case 'CronJob':
      return { spec: { schedule: '*/5 * * * *', suspend: true, jobTemplate: { spec: { template: jobTemplate } } } };
    case 'Ingress':
      return { spec: { defaultBackend: { service: { name: 'cov', port: { number: 80 } } } } };
    case 'NetworkPolicy':
      return { spec: { podSelector: {} } };
    case 'StorageClass':
      return { provisioner: 'example.com/cov' };
    case 'HorizontalPodAutoscaler':
      return {
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cov' },
          minReplicas: 1,
          maxReplicas: 3,
        },
      };
    case 'Role':
    case 'ClusterRole':
      return { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
    case 'RoleBinding':
      return {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cov' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace }],
      };
    case 'ClusterRoleBinding':
      return {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cov' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace }],
      };
    case 'CustomResourceDefinition':
      return { metadata: { name: crName }, spec: crd('gizmos', 'Gizmo').spec };
    case 'Widget':
      return { spec: { size: 3 } };
    default:
      return {}; // Namespace, Node, Endpoints, ServiceAccount, and any kind added later
  }
}

describe('every kind discovery lists', () => {
  beforeAll(async () => {
    await t.objects.create(crd('widgets', 'Widget'));
    await eventually(
      async () =>
        (await t.kc.makeApiClient(k8s.CustomObjectsApi).getAPIResources({ group: CR_GROUP, version: 'v1' })).resources
          .length > 0,
      10_000,
      'the CRD served',
    );
  });

  it('lists every kind the sandbox must serve, with its scope and verbs', async () => {
    const served = await discover();
    const have = served.map((s) => [s.apiVersion, s.kind, s.namespaced]);
    for (const want of REQUIRED) expect(have, `${want[0]} ${want[1]}`).toContainEqual(want);
    // The review kinds (kubectl auth whoami / can-i) are create-only, as on a real server; every other kind is CRUD.
    const reviews = served.filter((s) => s.kind.endsWith('Review'));
    expect(reviews.map((s) => s.kind).sort()).toEqual([
      'LocalSubjectAccessReview',
      'SelfSubjectAccessReview',
      'SelfSubjectReview',
      'SelfSubjectRulesReview',
      'SubjectAccessReview',
    ]);
    for (const s of reviews) expect(s.verbs, `${s.apiVersion} ${s.kind}`).toEqual(['create']);
    for (const s of served.filter((x) => !reviews.includes(x)))
      expect(s.verbs, `${s.apiVersion} ${s.kind}`).toEqual(expect.arrayContaining(['create', 'get', 'list', 'delete']));
  });

  it('creates, gets, lists and deletes an object of each; a get after the delete is a 404 NotFound Status', async () => {
    const served = (await discover()).filter((s) => s.verbs.includes('get')); // not the create-only reviews
    const done: string[] = [];
    for (const s of served) {
      const name = `cov-${s.kind.toLowerCase()}`;
      const namespace = s.namespaced ? NS.kinds : undefined;
      const extra = minimal(s.kind, name, NS.kinds);
      const body = {
        ...extra,
        apiVersion: s.apiVersion,
        kind: s.kind,
        metadata: { name, ...(namespace ? { namespace } : {}), ...(extra.metadata as object) },
      };
      const objName = body.metadata.name;
      const ref = {
        apiVersion: s.apiVersion,
        kind: s.kind,
        metadata: { name: objName, ...(namespace ? { namespace } : {}) },
      };
      const what = `${s.apiVersion} ${s.kind} ${objName}`;

      const created: k8s.KubernetesObject = await t.objects.create<k8s.KubernetesObject>(body).catch((e) => {
        throw new Error(`create ${what}: ${e instanceof k8s.ApiException ? JSON.stringify(e.body) : e}`, { cause: e });
      });
      expect(created.metadata?.uid, what).toBeTruthy();
      const got = await t.objects.read(ref);
      expect(got.metadata?.uid, what).toBe(created.metadata!.uid);
      expect(got.kind, what).toBe(s.kind);
      const listed = await t.objects.list(s.apiVersion, s.kind, namespace);
      expect(
        listed.items.map((o) => o.metadata?.uid),
        what,
      ).toContain(created.metadata!.uid);

      await t.objects.delete(ref);
      // Some deletions finish later (graceful pods, finalizers on namespaces, volumes and CRDs): wait for the 404.
      const gone = await eventually(
        async () => {
          try {
            await t.objects.read(ref);
            return undefined;
          } catch (e) {
            return statusOf(Promise.reject(e));
          }
        },
        15_000,
        `${what} gone`,
      );
      const resource = s.group ? `${s.plural}.${s.group}` : s.plural;
      expect(gone, what).toMatchObject({
        code: 404,
        reason: 'NotFound',
        message: `${resource} "${objName}" not found`,
        details: { name: objName, kind: s.plural, ...(s.group ? { group: s.group } : {}) },
      });
      expect(
        (await t.objects.list(s.apiVersion, s.kind, namespace)).items.map((o) => o.metadata?.uid),
        what,
      ).not.toContain(created.metadata!.uid);
      done.push(`${s.apiVersion}/${s.kind}`);
    }
    for (const [apiVersion, kind] of REQUIRED) expect(done).toContain(`${apiVersion}/${kind}`);
  });
});

// ------------------------------------------------------------------ 2. field selectors

/**
 * Reads the full list, the filtered list, then the full list again, until both full lists are the same state (same
 * names and resourceVersions): the filtered list was read from that state, so it must be exactly its filter.
 */
async function filteredAgainstFull<T extends { metadata?: k8s.V1ObjectMeta }>(
  all: () => Promise<T[]>,
  filtered: () => Promise<T[]>,
) {
  const state = (items: T[]) =>
    items
      .map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`)
      .sort()
      .join(',');
  return eventually(
    async () => {
      const before = await all();
      const got = await filtered();
      const after = await all();
      return state(before) === state(after) && { full: after, got };
    },
    15_000,
    'a quiet moment to compare lists',
  );
}

describe('field selectors', () => {
  const ns = NS.fields;
  const pods = () => t.core.listNamespacedPod({ namespace: ns }).then((l) => l.items);
  const events = () => t.core.listNamespacedEvent({ namespace: ns }).then((l) => l.items);

  beforeAll(async () => {
    const pod = (name: string, spec: k8s.V1PodSpec) =>
      t.core.createNamespacedPod({ namespace: ns, body: { metadata: { name }, spec } });
    await t.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'fweb' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'fweb' } },
          template: { metadata: { labels: { app: 'fweb' } }, spec: { containers: [container('main', 'nginx:1.27')] } },
        },
      },
    });
    await pod('run-a', { containers: [container('main', 'nginx:1.27')] });
    await pod('run-b', { containers: [container('main', 'nginx:1.27')] });
    await pod('done-a', { restartPolicy: 'Never', containers: [container('main', 'example/batch-job:1')] });
    await pod('fail-a', { restartPolicy: 'Never', containers: [container('main', 'example/fail-job:1')] });
    await pod('pending-a', {
      nodeSelector: { 'cov.example.com/nowhere': 'true' },
      containers: [container('main', 'nginx:1.27')],
    });
    await eventually(
      async () => {
        const byName = new Map((await pods()).map((p) => [p.metadata!.name!, p]));
        const phase = (n: string) => byName.get(n)?.status?.phase;
        const unschedulable = byName
          .get('pending-a')
          ?.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False');
        const web = [...byName.values()].filter((p) => p.metadata!.name!.startsWith('fweb-'));
        return (
          phase('run-a') === 'Running' &&
          phase('run-b') === 'Running' &&
          phase('done-a') === 'Succeeded' &&
          phase('fail-a') === 'Failed' &&
          unschedulable &&
          web.length === 1 &&
          isReady(web[0])
        );
      },
      30_000,
      'pods in every phase',
    );
  });

  it('status.phase (=, ==, !=) returns exactly the pods in that phase', async () => {
    const cases: [string, (p: k8s.V1Pod) => boolean][] = [
      ['status.phase=Running', (p) => p.status?.phase === 'Running'],
      ['status.phase==Succeeded', (p) => p.status?.phase === 'Succeeded'],
      ['status.phase=Failed', (p) => p.status?.phase === 'Failed'],
      ['status.phase=Pending', (p) => p.status?.phase === 'Pending'],
      ['status.phase!=Running', (p) => p.status?.phase !== 'Running'],
      ['status.phase!=Running,status.phase!=Pending', (p) => !['Running', 'Pending'].includes(p.status!.phase!)],
    ];
    for (const [fieldSelector, keep] of cases) {
      const { full, got } = await filteredAgainstFull(pods, () =>
        t.core.listNamespacedPod({ namespace: ns, fieldSelector }).then((l) => l.items),
      );
      const want = names(full.filter(keep));
      expect(want.length, fieldSelector).toBeGreaterThan(0);
      expect(want.length, fieldSelector).toBeLessThan(full.length);
      expect(names(got), fieldSelector).toEqual(want);
    }
  });

  it('spec.nodeName returns exactly the pods bound to that node, and spec.nodeName= the unscheduled ones', async () => {
    const nodes = (await t.core.listNode()).items.map((n) => n.metadata!.name!);
    let nonEmpty = 0;
    for (const node of [...nodes, '']) {
      const fieldSelector = `spec.nodeName=${node}`;
      const { full, got } = await filteredAgainstFull(pods, () =>
        t.core.listNamespacedPod({ namespace: ns, fieldSelector }).then((l) => l.items),
      );
      const want = names(full.filter((p) => (p.spec?.nodeName ?? '') === node));
      expect(want.length, fieldSelector).toBeLessThan(full.length);
      expect(names(got), fieldSelector).toEqual(want);
      if (want.length) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThanOrEqual(3); // at least two nodes and the unscheduled pod
    const { full, got } = await filteredAgainstFull(pods, () =>
      t.core
        .listNamespacedPod({ namespace: ns, fieldSelector: 'spec.nodeName=', labelSelector: '' })
        .then((l) => l.items),
    );
    expect(names(got)).toEqual(names(full.filter((p) => !p.spec?.nodeName)));
    expect(names(got)).toEqual(['pending-a']);
  });

  it('involvedObject.kind and involvedObject.name select events exactly', async () => {
    const byKind = await filteredAgainstFull(events, () =>
      t.core
        .listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.kind=Deployment' })
        .then((l) => l.items),
    );
    expect(byKind.got.length).toBeGreaterThan(0);
    for (const e of byKind.got) expect(e.involvedObject.kind).toBe('Deployment');
    expect(byKind.full.some((e) => e.involvedObject.kind === 'Pod')).toBe(true);
    expect(names(byKind.got)).toEqual(names(byKind.full.filter((e) => e.involvedObject.kind === 'Deployment')));
    expect(byKind.got.map((e) => e.reason)).toContain('ScalingReplicaSet');

    const byName = await filteredAgainstFull(events, () =>
      t.core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=run-a' }).then((l) => l.items),
    );
    expect(byName.got.length).toBeGreaterThan(0);
    for (const e of byName.got) expect(e.involvedObject).toMatchObject({ kind: 'Pod', name: 'run-a' });
    expect(names(byName.got)).toEqual(names(byName.full.filter((e) => e.involvedObject.name === 'run-a')));
    expect(byName.got.map((e) => e.reason)).toEqual(expect.arrayContaining(['Scheduled', 'Started']));

    const both = await filteredAgainstFull(events, () =>
      t.core
        .listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.kind=Pod,reason=Failed' })
        .then((l) => l.items),
    );
    expect(names(both.got)).toEqual(
      names(both.full.filter((e) => e.involvedObject.kind === 'Pod' && e.reason === 'Failed')),
    );
  });

  it('a watch with metadata.name=x delivers only x’s events while others in the namespace change', async () => {
    const wns = NS.watch;
    const cm = (name: string, v: string) => ({ metadata: { name }, data: { v } });
    const bump = (name: string, v: string) =>
      t.core.patchNamespacedConfigMap({ name, namespace: wns, body: { data: { v } } }, merge);
    await t.core.createNamespacedConfigMap({ namespace: wns, body: cm('w-y', '0') });
    const w = await collectWatch(t.kc, `/api/v1/namespaces/${wns}/configmaps`, { fieldSelector: 'metadata.name=w-x' });
    try {
      await t.core.createNamespacedConfigMap({ namespace: wns, body: cm('w-z', '0') });
      await t.core.createNamespacedConfigMap({ namespace: wns, body: cm('w-x', '0') });
      await bump('w-y', '1');
      await bump('w-x', '1');
      await bump('w-z', '1');
      await t.core.deleteNamespacedConfigMap({ name: 'w-y', namespace: wns });
      await t.core.deleteNamespacedConfigMap({ name: 'w-x', namespace: wns });
      await bump('w-z', '2');
      // Events arrive in order: once x's deletion is in, everything written before it has been delivered or dropped.
      await eventually(() => w.events.some((e) => e.type === 'DELETED'), 10_000, 'x deleted');
      expect(
        w.events.map(
          (e: WatchEvent) => `${e.type} ${e.object.metadata?.name} ${(e.object as k8s.V1ConfigMap).data?.v}`,
        ),
      ).toEqual(['ADDED w-x 0', 'MODIFIED w-x 1', 'DELETED w-x 1']);
    } finally {
      w.stop();
    }
  });
});

// ------------------------------------------------------------------ 3. fault knob: delayed requests

describe('fault knob delayRatio / delayMs', () => {
  it('delays every request by delayMs with ratio 1, and none with ratio 0', async () => {
    const faults = t.sandbox.server.faults;
    const D = 400;
    try {
      faults.delayRatio = 1;
      faults.delayMs = D;
      let start = performance.now();
      expect((await t.core.readNamespace({ name: NS.kinds })).metadata!.name).toBe(NS.kinds);
      expect(performance.now() - start).toBeGreaterThanOrEqual(D * 0.9);
      start = performance.now();
      expect((await t.kubectl(['get', 'namespace', NS.kinds, '-o', 'name'])).trim()).toBe(`namespace/${NS.kinds}`);
      expect(performance.now() - start).toBeGreaterThanOrEqual(D * 0.9);
      faults.delayRatio = 0;
      expect((await t.core.readNamespace({ name: NS.kinds })).metadata!.name).toBe(NS.kinds);
    } finally {
      faults.delayRatio = 0;
      faults.delayMs = 0;
    }
  });
});

// ------------------------------------------------------------------ 4. status subresource

describe('status subresource over HTTP', () => {
  const ns = NS.status;
  const audited = { type: 'Audited', status: 'True', reason: 'Coverage', message: 'set through /status' };

  beforeAll(async () => {
    await t.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'st' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'st' } },
          template: { metadata: { labels: { app: 'st' } }, spec: { containers: [container('main', 'nginx:1.27')] } },
        },
      },
    });
    await eventually(
      async () =>
        (await t.apps.readNamespacedDeployment({ name: 'st', namespace: ns })).status?.conditions?.some(
          (c) => c.type === 'Available' && c.status === 'True',
        ),
      20_000,
      'deployment available',
    );
  });

  it('a /status patch changes status and ignores spec (client-node)', async () => {
    const before = await t.apps.readNamespacedDeployment({ name: 'st', namespace: ns });
    const patched = await t.apps.patchNamespacedDeploymentStatus(
      {
        name: 'st',
        namespace: ns,
        body: [
          { op: 'add', path: '/status/conditions/-', value: audited },
          { op: 'replace', path: '/spec/replicas', value: 5 },
        ],
      },
      jsonPatch,
    );
    expect(patched.status!.conditions).toContainEqual(expect.objectContaining(audited));
    expect(patched.spec!.replicas).toBe(1);
    expect(patched.metadata!.generation).toBe(before.metadata!.generation);
    const read = await t.apps.readNamespacedDeployment({ name: 'st', namespace: ns });
    expect(read.spec!.replicas).toBe(1);
    expect(read.status!.conditions).toContainEqual(expect.objectContaining(audited));
  });

  it('writes to the main resource ignore .status (merge patch and replace)', async () => {
    const patched = await t.apps.patchNamespacedDeployment(
      {
        name: 'st',
        namespace: ns,
        body: {
          spec: { replicas: 2 },
          status: { observedGeneration: 999, conditions: [{ type: 'Bogus', status: 'True' }] },
        },
      },
      merge,
    );
    expect(patched.spec!.replicas).toBe(2);
    expect(patched.status!.observedGeneration).not.toBe(999);
    expect(patched.status!.conditions!.map((c) => c.type)).not.toContain('Bogus');
    expect(patched.status!.conditions).toContainEqual(expect.objectContaining(audited));

    // A read-modify-write races the controller's status writes: retry on 409 Conflict, as clients do.
    const replaced = await eventually(
      async () => {
        const current = await t.apps.readNamespacedDeployment({ name: 'st', namespace: ns });
        current.spec!.replicas = 3;
        current.status = { ...current.status, replicas: 42, conditions: [{ type: 'Bogus2', status: 'True' }] };
        try {
          return await t.apps.replaceNamespacedDeployment({ name: 'st', namespace: ns, body: current });
        } catch (e) {
          if ((await statusOf(Promise.reject(e))).code === 409) return undefined;
          throw e;
        }
      },
      10_000,
      'an update without conflict',
    );
    expect(replaced.spec!.replicas).toBe(3);
    expect(replaced.status!.replicas).not.toBe(42);
    expect(replaced.status!.conditions!.map((c) => c.type)).not.toContain('Bogus2');
    // The controller still owns the status and brings it to the new spec; the condition set through /status stays.
    const settled = await eventually(
      async () => {
        const d = await t.apps.readNamespacedDeployment({ name: 'st', namespace: ns });
        return d.status?.readyReplicas === 3 && d.status.replicas === 3 && d;
      },
      20_000,
      'three ready replicas',
    );
    expect(settled.status!.conditions!.map((c) => c.type)).toEqual(expect.arrayContaining(['Available', 'Audited']));
    expect(settled.status!.conditions!.map((c) => c.type)).not.toContain('Bogus2');
  });

  it('kubectl patch --subresource=status changes status only; a plain kubectl patch ignores status', async () => {
    await t.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'lb' }, spec: { selector: { app: 'st' }, ports: [{ port: 80 }] } },
    });
    const before = await t.core.readNamespacedService({ name: 'lb', namespace: ns });
    const statusPatch = JSON.stringify({
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } },
      spec: { sessionAffinity: 'ClientIP' },
    });
    const out = JSON.parse(
      await t.kubectl([
        'patch',
        'service',
        'lb',
        '-n',
        ns,
        '--subresource=status',
        '--type=merge',
        '-p',
        statusPatch,
        '-o',
        'json',
      ]),
    );
    expect(out.status.loadBalancer.ingress).toEqual([{ ip: '203.0.113.7' }]);
    expect(out.spec.sessionAffinity).toBe(before.spec!.sessionAffinity);
    expect(out.spec.sessionAffinity).not.toBe('ClientIP');

    const mainPatch = JSON.stringify({
      metadata: { labels: { patched: 'yes' } },
      status: { loadBalancer: { ingress: [{ ip: '198.51.100.9' }] } },
    });
    const out2 = JSON.parse(
      await t.kubectl(['patch', 'service', 'lb', '-n', ns, '--type=merge', '-p', mainPatch, '-o', 'json']),
    );
    expect(out2.metadata.labels).toMatchObject({ patched: 'yes' });
    expect(out2.status.loadBalancer.ingress).toEqual([{ ip: '203.0.113.7' }]);
    const read = await t.core.readNamespacedService({ name: 'lb', namespace: ns });
    expect(read.status!.loadBalancer!.ingress).toEqual([{ ip: '203.0.113.7' }]);
    expect(read.spec!.sessionAffinity).toBe(before.spec!.sessionAffinity);
  });
});

// ------------------------------------------------------------------ 5. controllers' events and Job parallelism

describe('controller behaviour through HTTP clients', () => {
  const ns = NS.ctl;
  const eventsWhere = (fieldSelector: string) =>
    t.core.listNamespacedEvent({ namespace: ns, fieldSelector }).then((l) => l.items);

  it('the kubelet records Killing when a running pod is deleted', async () => {
    await t.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'victim' }, spec: { containers: [container('main', 'nginx:1.27')] } },
    });
    await eventually(
      async () => isReady(await t.core.readNamespacedPod({ name: 'victim', namespace: ns })),
      15_000,
      'victim ready',
    );
    expect(await eventsWhere('involvedObject.name=victim,reason=Killing')).toEqual([]);
    await t.core.deleteNamespacedPod({ name: 'victim', namespace: ns });
    const [killing] = await eventually(
      async () => {
        const evs = await eventsWhere('involvedObject.name=victim,reason=Killing');
        return evs.length > 0 && evs;
      },
      15_000,
      'Killing event',
    );
    expect(killing).toMatchObject({
      type: 'Normal',
      reason: 'Killing',
      message: 'Stopping container main',
      involvedObject: { kind: 'Pod', name: 'victim', namespace: ns, fieldPath: 'spec.containers{main}' },
      source: { component: 'kubelet' },
    });
    await eventually(
      async () =>
        (await t.core.listNamespacedPod({ namespace: ns, fieldSelector: 'metadata.name=victim' })).items.length === 0,
      15_000,
      'victim gone',
    );
  });

  it('the ReplicaSet controller records SuccessfulCreate for each pod it creates', async () => {
    await t.apps.createNamespacedReplicaSet({
      namespace: ns,
      body: {
        metadata: { name: 'rs1' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'rs1' } },
          template: { metadata: { labels: { app: 'rs1' } }, spec: { containers: [container('main', 'nginx:1.27')] } },
        },
      },
    });
    const pods = await eventually(
      async () => {
        const items = (await t.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=rs1' })).items;
        return items.length === 2 && items;
      },
      15_000,
      'two pods',
    );
    const evs = await eventually(
      async () => {
        const items = await eventsWhere(
          'involvedObject.kind=ReplicaSet,involvedObject.name=rs1,reason=SuccessfulCreate',
        );
        return items.length === 2 && items;
      },
      15_000,
      'two SuccessfulCreate events',
    );
    expect(evs.map((e) => e.message).sort()).toEqual(names(pods).map((n) => `Created pod: ${n}`));
    for (const e of evs)
      expect(e).toMatchObject({
        type: 'Normal',
        source: { component: 'replicaset-controller' },
        involvedObject: { apiVersion: 'apps/v1' },
      });
  });

  it('a Job with parallelism 2 and completions 4 never runs more than 2 pods at once, records SuccessfulCreate, and completes', async () => {
    const seen = new Map<string, k8s.V1Pod>();
    let maxActive = 0;
    const active = () =>
      [...seen.values()].filter(
        (p) => !['Succeeded', 'Failed'].includes(p.status?.phase ?? '') && !p.metadata!.deletionTimestamp,
      ).length;
    const controller = await new k8s.Watch(t.kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { labelSelector: 'batch.kubernetes.io/job-name=par' },
      (type, pod: k8s.V1Pod) => {
        if (type === 'DELETED') seen.delete(pod.metadata!.name!);
        else if (type === 'ADDED' || type === 'MODIFIED') seen.set(pod.metadata!.name!, pod);
        maxActive = Math.max(maxActive, active());
      },
      () => {},
    );
    const allPods = new Set<string>();
    try {
      await t.batch.createNamespacedJob({
        namespace: ns,
        body: {
          metadata: { name: 'par' },
          spec: {
            completions: 4,
            parallelism: 2,
            template: { spec: { restartPolicy: 'Never', containers: [container('main', 'example/batch-job:1')] } },
          },
        },
      });
      const job = await eventually(
        async () => {
          for (const name of seen.keys()) allPods.add(name);
          const j = await t.batch.readNamespacedJob({ name: 'par', namespace: ns });
          return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && j;
        },
        40_000,
        'job complete',
      );
      expect(job.status!.succeeded).toBe(4);
      await eventually(
        () => [...seen.values()].filter((p) => p.status?.phase === 'Succeeded').length === 4,
        10_000,
        'the watch sees 4 succeeded pods',
      );
    } finally {
      controller.abort();
    }
    for (const name of seen.keys()) allPods.add(name);
    expect(allPods.size).toBe(4);
    expect(maxActive).toBeLessThanOrEqual(2);
    expect(maxActive).toBe(2);
    const evs = await eventsWhere('involvedObject.kind=Job,involvedObject.name=par,reason=SuccessfulCreate');
    expect(evs.map((e) => e.message).sort()).toEqual([...allPods].sort().map((n) => `Created pod: ${n}`));
    for (const e of evs) expect(e.source?.component).toBe('job-controller');
  });
});

// ------------------------------------------------------------------ 5. pods/log options and errors

describe('pods/log over HTTP and kubectl', () => {
  const ns = NS.logs;
  const log = (name: string, opts: Omit<k8s.CoreV1ApiReadNamespacedPodLogRequest, 'name' | 'namespace'> = {}) =>
    t.core.readNamespacedPodLog({ name, namespace: ns, ...opts });
  const linesOf = (text: string) => text.split('\n').filter(Boolean);
  const stampOf = (line: string) => Date.parse(line.slice(0, line.indexOf(' ')));
  /** Logs only grow: of two reads of the same running container, the earlier is a prefix of the later. */
  const samePrefix = (a: string, b: string) => (a.length <= b.length ? b.startsWith(a) : a.startsWith(b));

  beforeAll(async () => {
    await t.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'duo' },
        spec: { containers: [container('web', 'nginx:1.27'), container('api', 'example/orders-api:1')] },
      },
    });
    await t.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'crashy' }, spec: { containers: [container('main', 'example/app-crash:1.0')] } },
    });
    await eventually(
      async () => isReady(await t.core.readNamespacedPod({ name: 'duo', namespace: ns })),
      15_000,
      'duo ready',
    );
  });

  it('container= picks the container; each has its own log; kubectl logs -c shows the same', async () => {
    const web = await log('duo', { container: 'web' });
    const api = await log('duo', { container: 'api' });
    expect(linesOf(web).length).toBeGreaterThan(0);
    expect(linesOf(api).length).toBeGreaterThan(0);
    expect(linesOf(web)[0]).toMatch(/docker-entrypoint/);
    for (const l of linesOf(api)) expect(() => JSON.parse(l)).not.toThrow();
    expect(linesOf(web).filter((l) => linesOf(api).includes(l))).toEqual([]);

    const kWeb = await t.kubectl(['logs', 'duo', '-n', ns, '-c', 'web']);
    const kApi = await t.kubectl(['logs', 'duo', '-n', ns, '-c', 'api']);
    expect(samePrefix(kWeb, web)).toBe(true);
    expect(samePrefix(kApi, api)).toBe(true);
    expect(samePrefix(kWeb, api)).toBe(false);
  });

  it('answers log errors with the Statuses of a real API server', async () => {
    // Real answers (kube-apiserver ValidateContainer and the kubelet's validateContainerLogStatus), all 400 BadRequest.
    expect(await statusOf(log('duo'))).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      status: 'Failure',
      kind: 'Status',
      message: 'a container name must be specified for pod duo, choose one of: [web api]',
    });
    expect(await statusOf(log('duo', { container: 'nope' }))).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      kind: 'Status',
      message: 'container nope is not valid for pod duo',
    });
    expect(await statusOf(log('duo', { container: 'web', previous: true }))).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      kind: 'Status',
      message: 'previous terminated container "web" in pod "duo" not found',
    });
    // kubectl checks the container name against the pod it read first, with the same words.
    await expect(t.kubectl(['logs', 'duo', '-n', ns, '-c', 'nope'])).rejects.toThrow(
      'container nope is not valid for pod duo',
    );
    await expect(t.kubectl(['logs', 'duo', '-n', ns, '-c', 'web', '--previous'])).rejects.toThrow(
      'Error from server (BadRequest): previous terminated container "web" in pod "duo" not found',
    );
  });

  it('sinceSeconds / --since return only the lines of the last seconds', async () => {
    // Let the container talk for a few seconds, so that a 1 s window leaves most of its log out.
    await eventually(
      async () => {
        const first = linesOf(await log('duo', { container: 'web', timestamps: true }))[0];
        return first !== undefined && stampOf(first) < Date.now() - 3_000;
      },
      15_000,
      'three seconds of log',
    );
    const asked = Date.now();
    const recent = linesOf(await log('duo', { container: 'web', sinceSeconds: 1, timestamps: true }));
    const whole = linesOf(await log('duo', { container: 'web', timestamps: true }));
    expect(recent.length).toBeGreaterThan(0);
    expect(whole.filter((l) => stampOf(l) < asked - 1_000).length).toBeGreaterThan(0);
    for (const l of recent) expect(stampOf(l)).toBeGreaterThanOrEqual(asked - 1_000);
    expect(recent.length).toBeLessThan(whole.length);

    const kAsked = Date.now();
    const kRecent = linesOf(await t.kubectl(['logs', 'duo', '-n', ns, '-c', 'web', '--since=1s', '--timestamps']));
    expect(kRecent.length).toBeGreaterThan(0);
    for (const l of kRecent) expect(stampOf(l)).toBeGreaterThanOrEqual(kAsked - 1_000);
    expect(kRecent.length).toBeLessThan(linesOf(await log('duo', { container: 'web' })).length);
  });

  it('previous=true / --previous serve the crashed instance of a restarted container', async () => {
    const restarts = async () =>
      (await t.core.readNamespacedPod({ name: 'crashy', namespace: ns })).status?.containerStatuses?.[0]
        ?.restartCount ?? 0;
    await eventually(
      async () => {
        const cs = (await t.core.readNamespacedPod({ name: 'crashy', namespace: ns })).status?.containerStatuses?.[0];
        return (cs?.restartCount ?? 0) >= 1 && cs?.lastState?.terminated !== undefined;
      },
      20_000,
      'a restart',
    );
    // Read both between two equal restart counts, so both saw the same previous instance.
    const { api, kubectl } = await eventually(
      async () => {
        const before = await restarts();
        const api = await log('crashy', { previous: true });
        const kubectl = await t.kubectl(['logs', 'crashy', '-n', ns, '--previous']);
        return before === (await restarts()) && { api, kubectl };
      },
      20_000,
      'a stable previous instance',
    );
    expect(linesOf(api).length).toBeGreaterThanOrEqual(2);
    expect(api).toMatch(/panic:|Error: connect|FATAL:/);
    expect(kubectl).toBe(api);
  });
});
