// The simulated cluster's behaviour at the store level: defaults and validation, the scheduler, the kubelet's pod
// lifecycle, endpoints, garbage collection, namespace deletion and volume binding, with a 20× faster clock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installKindHooks } from '../services/sandbox/defaults.js';
import { Store } from '../services/sandbox/store.js';
import { defaultStorageClass } from '../services/sandbox/seed.js';
import type {
  Condition,
  EndpointAddress,
  KData,
  KEndpoints,
  KEvent,
  KObject,
  KService,
  ObjectMeta,
  PodSpec,
} from '../services/sandbox/types.js';
import { createControllerContext, type Controller } from '../services/sandbox/controllers/base.js';
import { Scheduler } from '../services/sandbox/controllers/scheduler.js';
import { Kubelet } from '../services/sandbox/controllers/kubelet.js';
import { NodeLifecycleController } from '../services/sandbox/controllers/node-lifecycle.js';
import { EndpointsController } from '../services/sandbox/controllers/endpoints.js';
import { GarbageCollector } from '../services/sandbox/controllers/garbage-collector.js';
import { NamespaceController } from '../services/sandbox/controllers/namespace.js';
import { PvcBinder } from '../services/sandbox/controllers/pvc-binder.js';
import { apiError } from './harness/api-error.js';

const WAIT = { timeout: 10_000, interval: 20 };

let store: Store;
let controllers: Controller[];
let cancelTimers: () => void;

const T = (plural: string, group = '') => store.type(group, plural);
const pods = () => T('pods');
const getPod = (name: string, ns = 'default') => store.get(pods(), ns, name);
const must = <X>(x: X | undefined): X => {
  if (x === undefined) throw new Error('missing');
  return x;
};

function pod(name: string, spec: PodSpec | Record<string, unknown>, extra: { metadata?: ObjectMeta } = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', ...(extra.metadata ?? {}) }, spec };
}

function eventsFor(name: string, ns = 'default'): KEvent[] {
  return store
    .list(T('events'), ns)
    .filter((e: KEvent) => e.involvedObject?.name === name)
    .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
}

beforeEach(() => {
  store = new Store();
  installKindHooks(store);
  const made = createControllerContext(store, (_step, ms) => ms * 0.05);
  const ctx = made.ctx;
  cancelTimers = made.cancelTimers;
  controllers = [
    new NodeLifecycleController(ctx),
    new Scheduler(ctx),
    new Kubelet(ctx),
    new EndpointsController(ctx),
    new GarbageCollector(ctx),
    new NamespaceController(ctx),
    new PvcBinder(ctx),
  ];
  for (const c of controllers) c.start();
  store.create(T('namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  for (const n of ['node-1', 'node-2'])
    store.create(T('nodes'), { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
});

afterEach(() => {
  for (const c of controllers) c.stop();
  cancelTimers();
});

describe('defaults and validation', () => {
  it('defaults a pod like the apiserver', () => {
    const p = store.create(
      pods(),
      pod('web', {
        containers: [
          { name: 'web', image: 'nginx' },
          { name: 'side', image: 'busybox:1.36' },
        ],
      }),
    );
    expect(p.spec).toMatchObject({
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      securityContext: {},
      enableServiceLinks: true,
      priority: 0,
    });
    expect(p.spec.containers[0]).toMatchObject({
      imagePullPolicy: 'Always',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      resources: {},
    });
    expect(p.spec.containers[1].imagePullPolicy).toBe('IfNotPresent');
    expect(p.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('checks object names by the rule of their kind, one cause per problem, several in brackets', () => {
    const long = `1${'a'.repeat(63)}`;
    const e = apiError(() =>
      store.create(T('services'), {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: long, namespace: 'default' },
        spec: { ports: [{ port: 80 }] },
      }),
    );
    expect(e.code).toBe(422);
    const tooLong = `Invalid value: "${long}": must be no more than 63 characters`;
    const notLabel = `Invalid value: "${long}": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`;
    expect(e.details?.causes).toEqual([
      { reason: 'FieldValueInvalid', field: 'metadata.name', message: tooLong },
      { reason: 'FieldValueInvalid', field: 'metadata.name', message: notLabel },
    ]);
    expect(e.message).toBe(`Service "${long}" is invalid: [metadata.name: ${tooLong}, metadata.name: ${notLabel}]`);
    expect(store.list(T('services'), 'default').map((s) => s.metadata.name)).not.toContain(long);

    // RBAC objects are named by path segments: colons and capitals are fine, '%' and '/' are not.
    const rbac = 'rbac.authorization.k8s.io';
    const role = (name: string) => ({
      apiVersion: `${rbac}/v1`,
      kind: 'Role',
      metadata: { name, namespace: 'default' },
      rules: [],
    });
    expect(store.create(T('roles', rbac), role('system:Leader-Election')).metadata.name).toBe('system:Leader-Election');
    const bad = apiError(() => store.create(T('roles', rbac), role('a%2Fb')));
    expect(bad.details?.causes).toEqual([
      { reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "a%2Fb": may not contain '%'` },
    ]);
    expect(bad.message).toBe(
      `Role.${rbac} "a%2Fb" is invalid: metadata.name: Invalid value: "a%2Fb": may not contain '%'`,
    );
  });

  it('rejects bad pods and forbidden pod updates with the real causes', () => {
    const e = apiError(() => store.create(pods(), pod('empty', {})));
    expect(e.code).toBe(422);
    expect(e.details?.causes).toEqual([
      { reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' },
    ]);
    expect(e.message).toBe('Pod "empty" is invalid: spec.containers: Required value');
    const e2 = apiError(() =>
      store.create(pods(), pod('noimage', { containers: [{ name: 'a' }, { image: 'nginx' }] })),
    );
    expect(e2.details?.causes?.map((c) => c.field)).toEqual(['spec.containers[0].image', 'spec.containers[1].name']);

    const p = store.create(
      pods(),
      pod('fixed', { nodeName: 'node-9', containers: [{ name: 'a', image: 'nginx:1.25' }] }),
    );
    const e3 = apiError(() =>
      store.update(pods(), {
        ...p,
        spec: { ...p.spec, containers: [{ ...p.spec.containers[0], ports: [{ containerPort: 80 }] }] },
      }),
    );
    expect(e3.details?.causes?.[0]).toMatchObject({ reason: 'FieldValueForbidden', field: 'spec' });
    expect(e3.message).toContain('pod updates may not change fields other than `spec.containers[*].image`');
    // Images may change.
    const img = store.update(pods(), {
      ...p,
      spec: { ...p.spec, containers: [{ ...p.spec.containers[0], image: 'nginx:1.26' }] },
    });
    expect(img.spec.containers[0].image).toBe('nginx:1.26');
  });

  it('validates deployments: replicas, selector, template labels, immutable selector', () => {
    const deployments = T('deployments', 'apps');
    const base = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'a' } },
        template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    };
    const neg = apiError(() => store.create(deployments, { ...base, spec: { ...base.spec, replicas: -1 } }));
    expect(neg.details?.causes).toContainEqual({
      reason: 'FieldValueInvalid',
      field: 'spec.replicas',
      message: 'Invalid value: -1: must be greater than or equal to 0',
    });
    const mismatch = apiError(() =>
      store.create(deployments, { ...base, spec: { ...base.spec, selector: { matchLabels: { app: 'b' } } } }),
    );
    expect(mismatch.message).toBe(
      'Deployment.apps "d" is invalid: spec.template.metadata.labels: Invalid value: {"app":"a"}: `selector` does not match template `labels`',
    );
    const nosel = apiError(() => store.create(deployments, { ...base, spec: { ...base.spec, selector: undefined } }));
    expect(nosel.details?.causes?.[0]).toEqual({
      reason: 'FieldValueRequired',
      field: 'spec.selector',
      message: 'Required value',
    });
    const d = store.create(deployments, base);
    expect(d.spec).toMatchObject({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    });
    expect(d.spec.template.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
    const imm = apiError(() =>
      store.update(deployments, {
        ...d,
        spec: {
          ...d.spec,
          selector: { matchLabels: { app: 'a', x: 'y' } },
          template: { ...d.spec.template, metadata: { labels: { app: 'a', x: 'y' } } },
        },
      }),
    );
    expect(imm.details?.causes?.[0].message).toMatch(/field is immutable$/);
  });

  it('generates the job selector and labels, and requires a restart policy', () => {
    const jobs = T('jobs', 'batch');
    const bad = apiError(() =>
      store.create(jobs, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'j', namespace: 'default' },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'perl' }] } } },
      }),
    );
    expect(bad.details?.causes?.[0]).toEqual({
      reason: 'FieldValueRequired',
      field: 'spec.template.spec.restartPolicy',
      message: 'Required value: valid values: "OnFailure", "Never"',
    });
    const j = store.create(jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j', namespace: 'default' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'perl' }] } } },
    });
    const uid = j.metadata.uid;
    expect(j.spec).toMatchObject({
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
    });
    expect(j.spec.template.metadata.labels).toEqual({
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'j',
      'controller-uid': uid,
      'job-name': 'j',
    });
    const imm = apiError(() =>
      store.update(jobs, {
        ...j,
        spec: {
          ...j.spec,
          template: {
            ...j.spec.template,
            spec: { ...j.spec.template.spec, containers: [{ name: 'c', image: 'perl:2' }] },
          },
        },
      }),
    );
    expect(imm.details?.causes?.[0]).toMatchObject({ field: 'spec.template' });
  });

  it('allocates unique cluster IPs and node ports, keeps them on update, rejects changes', () => {
    const services = T('services');
    const mk = (name: string, spec: KService['spec']) =>
      store.create(services, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });
    const ips = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const s = mk(`s${i}`, { selector: { app: 'x' }, ports: [{ port: 80 }] });
      expect(s.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
      expect(s.spec).toMatchObject({
        type: 'ClusterIP',
        clusterIPs: [s.spec.clusterIP],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        sessionAffinity: 'None',
      });
      expect(s.spec.ports[0]).toEqual({ port: 80, protocol: 'TCP', targetPort: 80 });
      ips.add(s.spec.clusterIP);
    }
    expect(ips.size).toBe(20);
    const np = mk('np', { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80, targetPort: 'http' }] });
    expect(np.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(np.spec.ports[0].nodePort).toBeLessThanOrEqual(32767);
    // An update leaving the IP and port out keeps them.
    const kept = store.update(services, {
      ...np,
      spec: { type: 'NodePort', selector: { app: 'y' }, ports: [{ port: 80, targetPort: 'http' }] },
    });
    expect(kept.spec.clusterIP).toBe(np.spec.clusterIP);
    expect(kept.spec.ports[0].nodePort).toBe(np.spec.ports[0].nodePort);
    const change = apiError(() =>
      store.update(services, { ...kept, spec: { ...kept.spec, clusterIP: '10.96.0.77', clusterIPs: ['10.96.0.77'] } }),
    );
    expect(change.message).toContain('spec.clusterIPs[0]: Invalid value: ["10.96.0.77"]: may not change once set');
    const dup = apiError(() => mk('dup', { clusterIP: np.spec.clusterIP, ports: [{ port: 80 }] }));
    expect(dup.message).toContain('provided IP is already allocated');
    const range = apiError(() => mk('range', { ports: [{ port: 70000 }] }));
    expect(range.details?.causes?.[0]).toEqual({
      reason: 'FieldValueInvalid',
      field: 'spec.ports[0].port',
      message: 'Invalid value: 70000: must be between 1 and 65535, inclusive',
    });
    // Deleting a service frees its IP (the allocator follows the store).
    store.delete(services, 'default', 'np');
    expect(mk('np2', { clusterIP: np.spec.clusterIP, ports: [{ port: 80 }] }).spec.clusterIP).toBe(np.spec.clusterIP);
  });

  it('merges secret stringData, checks config keys, defaults namespaces', () => {
    const s = store.create(T('secrets'), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'default' },
      data: { a: 'eA==' },
      stringData: { b: 'hello' },
    });
    expect(s.type).toBe('Opaque');
    expect(s.data).toEqual({ a: 'eA==', b: Buffer.from('hello').toString('base64') });
    expect(s.stringData).toBeUndefined();
    const cm = apiError(() =>
      store.create(T('configmaps'), {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', namespace: 'default' },
        data: { 'a b': 'x' },
      }),
    );
    expect(cm.details?.causes?.[0]).toMatchObject({ reason: 'FieldValueInvalid', field: 'data[a b]' });
    expect(cm.details?.causes?.[0].message).toContain(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    );
    const ns = must(store.get(T('namespaces'), undefined, 'default'));
    expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'default' });
    expect(ns.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(ns.status).toEqual({ phase: 'Active' });
  });
});

describe('nodes and scheduling', () => {
  it('gives nodes a ready status, pod CIDRs and labels', async () => {
    await vi.waitFor(() => {
      const n = must(store.get(T('nodes'), undefined, 'node-1'));
      expect(n.status.conditions.find((c: Condition) => c.type === 'Ready')).toMatchObject({
        status: 'True',
        reason: 'KubeletReady',
      });
      expect(n.status.nodeInfo.kubeletVersion).toBe('v1.35.0');
      expect(n.status.allocatable.pods).toBe('110');
      expect(n.spec.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(n.metadata.labels?.['kubernetes.io/hostname']).toBe('node-1');
    }, WAIT);
  });

  it('spreads pods over nodes and respects nodeSelector and taints', async () => {
    for (let i = 0; i < 4; i++) store.create(pods(), pod(`p${i}`, { containers: [{ name: 'c', image: 'nginx' }] }));
    await vi.waitFor(() => {
      const nodes = [0, 1, 2, 3].map((i) => getPod(`p${i}`)?.spec?.nodeName);
      expect(nodes.filter((n) => n === 'node-1')).toHaveLength(2);
      expect(nodes.filter((n) => n === 'node-2')).toHaveLength(2);
    }, WAIT);
    store.create(pods(), pod('picky', { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image: 'nginx' }] }));
    await vi.waitFor(() => {
      const p = must(getPod('picky'));
      expect(p.status.conditions?.find((c: Condition) => c.type === 'PodScheduled')).toMatchObject({
        status: 'False',
        reason: 'Unschedulable',
      });
      const ev = eventsFor('picky').find((e) => e.reason === 'FailedScheduling');
      expect(ev?.message).toBe(
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
      );
    }, WAIT);
    // A tainted node with the label: still not schedulable without a toleration.
    const n2 = must(store.get(T('nodes'), undefined, 'node-2'));
    store.update(T('nodes'), {
      ...n2,
      metadata: { ...n2.metadata, labels: { ...n2.metadata.labels, disk: 'ssd' } },
      spec: { ...n2.spec, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
    });
    await vi.waitFor(() => {
      expect(
        eventsFor('picky').find(
          (e) => e.reason === 'FailedScheduling' && e.message!.includes('untolerated taint {dedicated: db}'),
        ),
      ).toBeDefined();
    }, WAIT);
    const n2b = must(store.get(T('nodes'), undefined, 'node-2'));
    store.update(T('nodes'), { ...n2b, spec: { ...n2b.spec, taints: [] } });
    await vi.waitFor(() => expect(getPod('picky')?.spec.nodeName).toBe('node-2'), WAIT);
  });
});

describe('pod lifecycle', () => {
  it('goes Pending → scheduled → ContainerCreating → Running and Ready, with events in order', async () => {
    const seen = new Set<string>();
    const unsub = store.subscribe((ev) => {
      if (ev.rt.kind !== 'Pod' || ev.object.metadata.name !== 'web') return;
      const p = ev.object;
      if (p.status?.phase === 'Pending' && !p.spec.nodeName) seen.add('pending');
      if (p.spec.nodeName) seen.add('scheduled');
      if (p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating') seen.add('creating');
      if (p.status?.phase === 'Running') seen.add('running');
    });
    store.create(
      pods(),
      pod('web', {
        containers: [{ name: 'web', image: 'nginx:1.25', readinessProbe: { httpGet: { path: '/', port: 80 } } }],
      }),
    );
    await vi.waitFor(() => {
      const p = must(getPod('web'));
      expect(p.status.phase).toBe('Running');
      expect(p.status.conditions.find((c: Condition) => c.type === 'Ready')?.status).toBe('True');
    }, WAIT);
    unsub();
    expect([...seen]).toEqual(['pending', 'scheduled', 'creating', 'running']);
    const p = must(getPod('web'));
    expect(p.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(p.status.hostIP).toMatch(/^172\.18\.0\.\d+$/);
    expect(p.status.containerStatuses[0]).toMatchObject({
      name: 'web',
      ready: true,
      started: true,
      restartCount: 0,
      image: 'docker.io/library/nginx:1.25',
      state: { running: {} },
    });
    expect(p.status.containerStatuses[0].containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(p.status.conditions.map((c: Condition) => c.type)).toEqual([
      'PodReadyToStartContainers',
      'Initialized',
      'Ready',
      'ContainersReady',
      'PodScheduled',
    ]);
    const evs = eventsFor('web');
    expect(evs.map((e) => e.reason)).toEqual(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']);
    expect(evs[0].message).toBe(`Successfully assigned default/web to ${p.spec.nodeName}`);
    expect(evs[0].source).toEqual({ component: 'default-scheduler' });
    expect(evs[1].involvedObject!.fieldPath).toBe('spec.containers{web}');
    expect(evs[1].source).toEqual({ component: 'kubelet', host: p.spec.nodeName });
  });

  it('runs init containers first', async () => {
    store.create(
      pods(),
      pod('init', {
        initContainers: [{ name: 'setup', image: 'busybox:1.36', command: ['sh', '-c', 'echo hi'] }],
        containers: [{ name: 'app', image: 'nginx:1.25' }],
      }),
    );
    await vi.waitFor(() => {
      const p = must(getPod('init'));
      expect(p.status.initContainerStatuses?.[0]?.state?.running).toBeDefined();
      expect(p.status.phase).toBe('Pending');
      expect(p.status.containerStatuses[0].state.waiting.reason).toBe('PodInitializing');
    }, WAIT);
    await vi.waitFor(() => {
      const p = must(getPod('init'));
      expect(p.status.phase).toBe('Running');
      expect(p.status.initContainerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    }, WAIT);
  });

  it('puts a crashing container into CrashLoopBackOff', async () => {
    store.create(pods(), pod('crash', { containers: [{ name: 'c', image: 'busybox-crash' }] }));
    await vi.waitFor(() => {
      const cs = must(getPod('crash')).status.containerStatuses[0];
      expect(cs.restartCount).toBeGreaterThanOrEqual(2);
      expect(cs.state.waiting?.reason).toBe('CrashLoopBackOff');
      expect(cs.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    }, WAIT);
    const backoff = eventsFor('crash').find((e) => e.reason === 'BackOff');
    expect(backoff?.type).toBe('Warning');
    expect(backoff?.message).toMatch(/^Back-off restarting failed container c in pod crash_default/);
  });

  it('reports ErrImagePull then ImagePullBackOff for a missing image', async () => {
    store.create(pods(), pod('bad', { containers: [{ name: 'c', image: 'nginx:nonexistent' }] }));
    await vi.waitFor(
      () => expect(must(getPod('bad')).status.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ErrImagePull'),
      WAIT,
    );
    await vi.waitFor(
      () => expect(must(getPod('bad')).status.containerStatuses[0].state.waiting.reason).toBe('ImagePullBackOff'),
      WAIT,
    );
    const reasons = eventsFor('bad').map((e) => `${e.reason}:${e.message}`);
    expect(reasons).toContain('Failed:Error: ErrImagePull');
    expect(reasons).toContain('Failed:Error: ImagePullBackOff');
    expect(must(getPod('bad')).status.phase).toBe('Pending');
  });

  it('completes job-like pods and fails failing ones', async () => {
    store.create(
      pods(),
      pod('pi', {
        restartPolicy: 'Never',
        containers: [{ name: 'pi', image: 'perl:5.34', command: ['perl', '-Mbignum=bpi', '-wle', 'print bpi(20)'] }],
      }),
    );
    store.create(pods(), pod('oops', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'batch-fail' }] }));
    await vi.waitFor(() => {
      const p = must(getPod('pi'));
      expect(p.status.phase).toBe('Succeeded');
      expect(p.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      expect(p.status.conditions.find((c: Condition) => c.type === 'Ready')).toMatchObject({
        status: 'False',
        reason: 'PodCompleted',
      });
      expect(must(getPod('oops')).status.phase).toBe('Failed');
    }, WAIT);
  });

  it('deletes gracefully: deletionTimestamp, Killing, then gone', async () => {
    store.create(pods(), pod('bye', { containers: [{ name: 'c', image: 'nginx:1.25' }] }));
    await vi.waitFor(() => expect(getPod('bye')?.status.phase).toBe('Running'), WAIT);
    const d = store.delete(pods(), 'default', 'bye');
    expect(d.metadata.deletionTimestamp).toBeDefined();
    expect(d.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(getPod('bye')).toBeDefined();
    await vi.waitFor(() => expect(getPod('bye')).toBeUndefined(), WAIT);
    expect(eventsFor('bye').map((e) => e.reason)).toContain('Killing');
  });

  it('removes the pods of a deleted node', async () => {
    store.create(pods(), pod('pinned', { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx:1.25' }] }));
    await vi.waitFor(() => expect(getPod('pinned')?.status.phase).toBe('Running'), WAIT);
    store.delete(T('nodes'), undefined, 'node-1');
    await vi.waitFor(() => expect(getPod('pinned')).toBeUndefined(), WAIT);
  });
});

describe('endpoints', () => {
  it('follow pod readiness and named target ports, and go with the service', async () => {
    const services = T('services');
    store.create(services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    for (const n of ['a', 'b']) {
      store.create(
        pods(),
        pod(
          `web-${n}`,
          {
            containers: [
              {
                name: 'c',
                image: 'nginx:1.25',
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { port: 8080 } },
              },
            ],
          },
          { metadata: { labels: { app: 'web' } } },
        ),
      );
    }
    await vi.waitFor(() => {
      const ep: KEndpoints = must(store.get(T('endpoints'), 'default', 'web'));
      expect(ep.subsets?.[0]?.notReadyAddresses?.length).toBe(2);
    }, WAIT);
    await vi.waitFor(() => {
      const ep: KEndpoints = must(store.get(T('endpoints'), 'default', 'web'));
      expect(ep.subsets).toHaveLength(1);
      const [subset] = ep.subsets!;
      expect(subset.addresses).toHaveLength(2);
      expect(subset.notReadyAddresses).toBeUndefined();
      expect(subset.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
      expect(subset.addresses![0].targetRef).toMatchObject({ kind: 'Pod', namespace: 'default' });
      expect(subset.addresses![0].nodeName).toMatch(/^node-/);
    }, WAIT);
    store.delete(pods(), 'default', 'web-a');
    await vi.waitFor(() => {
      const ep: KEndpoints = must(store.get(T('endpoints'), 'default', 'web'));
      expect(ep.subsets![0].addresses!.map((a: EndpointAddress) => a.targetRef!.name)).toEqual(['web-b']);
    }, WAIT);
    store.delete(services, 'default', 'web');
    await vi.waitFor(() => expect(store.get(T('endpoints'), 'default', 'web')).toBeUndefined(), WAIT);
  });
});

describe('garbage collection', () => {
  const cms = () => T('configmaps');
  const cm = (name: string, owner?: KObject, block = false): KObject =>
    store.create(cms(), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: 'default',
        ...(owner
          ? {
              ownerReferences: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  name: owner.metadata.name!,
                  uid: owner.metadata.uid!,
                  ...(block ? { blockOwnerDeletion: true } : {}),
                },
              ],
            }
          : {}),
      },
    });

  it('cascades in the background', async () => {
    const root = cm('root');
    const child = cm('child', root);
    cm('grandchild', child);
    store.delete(cms(), 'default', 'root');
    await vi.waitFor(() => {
      expect(store.get(cms(), 'default', 'child')).toBeUndefined();
      expect(store.get(cms(), 'default', 'grandchild')).toBeUndefined();
    }, WAIT);
  });

  it('cascades in the foreground: dependents first, then the owner', async () => {
    const root = cm('root');
    const child = cm('child', root, true);
    const grand = cm('grandchild', child, true);
    // A finalizer holds the grandchild, so the chain waits for it.
    store.update(cms(), { ...grand, metadata: { ...grand.metadata, finalizers: ['example.com/hold'] } });
    store.delete(cms(), 'default', 'root', { propagationPolicy: 'Foreground' });
    await vi.waitFor(() => {
      expect(store.get(cms(), 'default', 'grandchild')?.metadata.deletionTimestamp).toBeDefined();
      expect(store.get(cms(), 'default', 'child')?.metadata.finalizers).toEqual(['foregroundDeletion']);
    }, WAIT);
    expect(store.get(cms(), 'default', 'root')?.metadata.finalizers).toEqual(['foregroundDeletion']);
    const g = must(store.get(cms(), 'default', 'grandchild'));
    store.update(cms(), { ...g, metadata: { ...g.metadata, finalizers: [] } });
    await vi.waitFor(() => {
      expect(store.get(cms(), 'default', 'child')).toBeUndefined();
      expect(store.get(cms(), 'default', 'root')).toBeUndefined();
    }, WAIT);
  });

  it('orphans dependents', async () => {
    const root = cm('root');
    cm('child', root);
    store.delete(cms(), 'default', 'root', { propagationPolicy: 'Orphan' });
    await vi.waitFor(() => expect(store.get(cms(), 'default', 'root')).toBeUndefined(), WAIT);
    const child = must(store.get(cms(), 'default', 'child'));
    expect(child.metadata.ownerReferences).toBeUndefined();
  });

  it('deletes dependents created with a dangling owner', async () => {
    store.create(cms(), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'lost',
        namespace: 'default',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '00000000-0000-0000-0000-000000000000' },
        ],
      },
    });
    await vi.waitFor(() => expect(store.get(cms(), 'default', 'lost')).toBeUndefined(), WAIT);
  });
});

describe('namespaces', () => {
  it('goes after its grace period even when the timer fires before the clock reaches the end of it', async () => {
    // libuv counts a timer from the loop's cached time, which lags behind Date.now() when the loop was busy: here
    // every timer fires at half its time.
    const early = new Store();
    installKindHooks(early);
    const nsRT = early.type('', 'namespaces');
    const controller = new NamespaceController({
      store: early,
      clock: { delay: (_step, ms) => ms * 0.02 },
      setTimer: (fn, ms) => void setTimeout(fn, ms / 2),
    });
    controller.start();
    try {
      early.create(nsRT, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
      early.delete(nsRT, undefined, 'team');
      await vi.waitFor(() => expect(early.get(nsRT, undefined, 'team')).toBeUndefined(), WAIT);
    } finally {
      controller.stop();
    }
  });

  it('get a default service account and root CA, and are emptied then removed on delete', async () => {
    store.create(T('namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await vi.waitFor(() => {
      expect(store.get(T('serviceaccounts'), 'team', 'default')).toBeDefined();
      const rootCa: KData | undefined = store.get(T('configmaps'), 'team', 'kube-root-ca.crt');
      expect(rootCa?.data!['ca.crt']).toContain('BEGIN CERTIFICATE');
    }, WAIT);
    store.create(pods(), {
      ...pod('p', { containers: [{ name: 'c', image: 'nginx:1.25' }] }),
      metadata: { name: 'p', namespace: 'team' },
    });
    store.create(T('secrets'), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'team' },
      stringData: { a: 'b' },
    });
    await vi.waitFor(() => expect(store.get(pods(), 'team', 'p')?.status.phase).toBe('Running'), WAIT);
    store.delete(T('namespaces'), undefined, 'team');
    expect(store.get(T('namespaces'), undefined, 'team')?.status.phase).toBe('Terminating');
    await vi.waitFor(() => expect(store.get(T('namespaces'), undefined, 'team')).toBeUndefined(), WAIT);
    for (const rt of store.registry.all().filter((r) => r.namespaced)) expect(store.list(rt, 'team')).toEqual([]);
  });
});

describe('volumes', () => {
  it('provisions and binds a claim with the default storage class', async () => {
    store.create(T('storageclasses', 'storage.k8s.io'), defaultStorageClass());
    store.create(T('persistentvolumeclaims'), {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    await vi.waitFor(() => {
      const pvc = must(store.get(T('persistentvolumeclaims'), 'default', 'data'));
      expect(pvc.status).toMatchObject({ phase: 'Bound', capacity: { storage: '1Gi' } });
      const pv = must(store.get(T('persistentvolumes'), undefined, pvc.spec.volumeName));
      expect(pv.status.phase).toBe('Bound');
      expect(pv.spec.claimRef).toMatchObject({ name: 'data', namespace: 'default' });
    }, WAIT);
  });
});
