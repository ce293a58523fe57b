// What a sandbox holds when it starts: the demo cluster a developer explores, or a sized one for benchmarks.
import type { Store } from './store.js';
import { timestamp } from './store.js';
import type { Container, KObject, KPod, KStorageClass, PodSpec, PodStatus, PodTemplateSpec } from './types.js';
import { WORKSPACE_LABEL } from '../common/k8s/labels.js';

export type SeedOptions =
  | { kind: 'demo' }
  /** Only the system namespaces and `nodes` nodes. */
  | { kind: 'empty'; nodes?: number }
  /** `pods` running pods over `nodes` nodes in `namespaces` namespaces (benchmarks). */
  | { kind: 'scale'; pods: number; nodes: number; namespaces?: number };

export function seedCluster(store: Store, seed: SeedOptions): void {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) createNamespace(store, ns);
  // Every cluster has the API server's own Service.
  create(store, '', 'services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443, protocol: 'TCP' }] },
  });
  switch (seed.kind) {
    case 'empty':
      createNodes(store, seed.nodes ?? 3);
      return;
    case 'scale':
      createNodes(store, seed.nodes);
      seedScale(store, seed.pods, seed.nodes, seed.namespaces ?? Math.max(1, Math.round(seed.pods / 100)));
      return;
    case 'demo':
      createNodes(store, 3);
      seedDemo(store);
  }
}

const create = (store: Store, group: string, plural: string, obj: KObject): KObject =>
  store.create(store.type(group, plural), obj);

/** Creates a namespaced object: its group from apiVersion, its name and namespace, and the rest of its fields. */
const createIn = (
  store: Store,
  plural: string,
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
  fields: Omit<KObject, 'apiVersion' | 'kind' | 'metadata'>,
): KObject =>
  create(store, apiVersion.includes('/') ? apiVersion.split('/')[0] : '', plural, {
    apiVersion,
    kind,
    metadata: { name, namespace },
    ...fields,
  });

function createNamespace(store: Store, name: string, workspace?: string): void {
  create(store, '', 'namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: workspace ? { [WORKSPACE_LABEL]: workspace } : {} },
  });
}

function createNodes(store: Store, count: number): void {
  const width = String(count).length > 1 ? Math.max(3, String(count).length) : 1;
  for (let i = 1; i <= count; i++) {
    const name = `node-${String(i).padStart(width, '0')}`;
    create(store, '', 'nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': `zone-${'abc'[(i - 1) % 3]}`,
          ...(i === 1 ? { 'node-role.kubernetes.io/control-plane': '' } : { 'node-role.kubernetes.io/worker': '' }),
        },
      },
      spec: { podCIDR: `10.244.${i - 1}.0/24`, podCIDRs: [`10.244.${i - 1}.0/24`] },
    });
  }
}

// ------------------------------------------------------------------ demo

type Labels = Record<string, string>;

const podTemplate = (labels: Labels, spec: PodSpec): PodTemplateSpec => ({ metadata: { labels }, spec });
const container = (name: string, image: string, port?: number, extra: Partial<Container> = {}): Container => ({
  name,
  image,
  ...(port ? { ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] } : {}),
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  ...extra,
});

/** An apps/v1 workload whose pods carry (and are selected by) `podLabels`; its own labels add `labels`. */
function appsWorkload(
  store: Store,
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet',
  namespace: string,
  name: string,
  pods: { labels: Labels; spec: PodSpec },
  spec: Record<string, unknown> = {},
  labels: Labels = {},
): void {
  create(store, 'apps', `${kind.toLowerCase()}s`, {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, labels: { ...pods.labels, ...labels } },
    spec: { ...spec, selector: { matchLabels: pods.labels }, template: podTemplate(pods.labels, pods.spec) },
  });
}

function deployment(
  store: Store,
  namespace: string,
  name: string,
  replicas: number,
  containers: Container[],
  labels: Labels = {},
): void {
  appsWorkload(
    store,
    'Deployment',
    namespace,
    name,
    { labels: { app: name }, spec: { containers } },
    { replicas },
    labels,
  );
}

/** A StatefulSet whose headless Service has its name. */
function statefulSet(
  store: Store,
  namespace: string,
  name: string,
  replicas: number,
  containers: Container[],
  spec = {},
) {
  appsWorkload(
    store,
    'StatefulSet',
    namespace,
    name,
    { labels: { app: name }, spec: { containers } },
    {
      serviceName: name,
      replicas,
      ...spec,
    },
  );
}

/** A DaemonSet that tolerates every taint, as node agents do. */
function daemonSet(store: Store, name: string, podLabels: Labels, containers: Container[]) {
  appsWorkload(store, 'DaemonSet', 'kube-system', name, {
    labels: podLabels,
    spec: { containers, tolerations: [{ operator: 'Exists' }] },
  });
}

/** The pod template of a batch Job: one container, restarted as `restartPolicy` says. */
const batchTemplate = (app: string, restartPolicy: string, c: Container): PodTemplateSpec =>
  podTemplate({ app }, { restartPolicy, containers: [c] });

function service(
  store: Store,
  namespace: string,
  name: string,
  port: number,
  targetPort: number | string = port,
): void {
  create(store, '', 'services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { app: name } },
    spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort, protocol: 'TCP' }] },
  });
}

/** The default StorageClass of the demo cluster: local-path volumes, bound at once, deleted with their claims. */
export const defaultStorageClass = (): KStorageClass => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: 'rancher.io/local-path',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'Immediate',
});

function seedDemo(store: Store): void {
  create(store, 'storage.k8s.io', 'storageclasses', defaultStorageClass());

  // System workloads, as every cluster has them.
  deployment(
    store,
    'kube-system',
    'coredns',
    2,
    [container('coredns', 'registry.k8s.io/coredns/coredns:v1.12.0', 53)],
    { 'k8s-app': 'kube-dns' },
  );
  daemonSet(store, 'kube-proxy', { 'k8s-app': 'kube-proxy' }, [
    container('kube-proxy', 'registry.k8s.io/kube-proxy:v1.35.0'),
  ]);
  daemonSet(store, 'log-agent', { app: 'log-agent' }, [container('fluent-bit', 'fluent/fluent-bit:3.2-json', 2020)]);

  // Workspace "demo-shop": the online shop, production and staging.
  createNamespace(store, 'shop', 'demo-shop');
  createNamespace(store, 'shop-staging', 'demo-shop');
  deployment(store, 'shop', 'frontend', 3, [container('nginx', 'nginx:1.27', 80)], { tier: 'web' });
  service(store, 'shop', 'frontend', 80);
  deployment(
    store,
    'shop',
    'api',
    2,
    [
      container('api', 'example/shop-api-json:1.4.2', 8080, {
        env: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'REDIS_HOST', value: 'redis' },
        ],
      }),
    ],
    { tier: 'backend' },
  );
  service(store, 'shop', 'api', 8080, 'http');
  statefulSet(store, 'shop', 'redis', 1, [container('redis', 'redis:7.4', 6379)]);
  service(store, 'shop', 'redis', 6379);
  createIn(store, 'ingresses', 'networking.k8s.io/v1', 'Ingress', 'shop', 'frontend', {
    spec: {
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'frontend', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  });
  createIn(store, 'horizontalpodautoscalers', 'autoscaling/v2', 'HorizontalPodAutoscaler', 'shop', 'api', {
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      ],
      // The demo's api is scaled by hand (from the console, and by tests that expect the count they set): the HPA
      // controller reports its usage and recommendation without acting on them, as on a cluster with this behavior.
      behavior: { scaleUp: { selectPolicy: 'Disabled' }, scaleDown: { selectPolicy: 'Disabled' } },
    },
  });
  createIn(store, 'configmaps', 'v1', 'ConfigMap', 'shop', 'shop-config', {
    data: { currency: 'EUR', 'feature.flags': 'checkout-v2=true\nreviews=false\n' },
  });
  createIn(store, 'secrets', 'v1', 'Secret', 'shop', 'shop-db', {
    type: 'Opaque',
    data: { username: b64('shop'), password: b64('s3cr3t-demo') },
  });
  createIn(store, 'networkpolicies', 'networking.k8s.io/v1', 'NetworkPolicy', 'shop', 'redis-from-api', {
    spec: {
      podSelector: { matchLabels: { app: 'redis' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }],
      policyTypes: ['Ingress'],
    },
  });
  createIn(store, 'resourcequotas', 'v1', 'ResourceQuota', 'shop', 'compute', {
    spec: { hard: { 'requests.cpu': '8', 'requests.memory': '16Gi', pods: '50' } },
  });
  createIn(store, 'limitranges', 'v1', 'LimitRange', 'shop', 'defaults', {
    spec: {
      limits: [
        {
          type: 'Container',
          default: { cpu: '500m', memory: '512Mi' },
          defaultRequest: { cpu: '100m', memory: '128Mi' },
        },
      ],
    },
  });
  createIn(store, 'roles', 'rbac.authorization.k8s.io/v1', 'Role', 'shop', 'pod-reader', {
    rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] }],
  });
  createIn(store, 'rolebindings', 'rbac.authorization.k8s.io/v1', 'RoleBinding', 'shop', 'pod-reader', {
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'shop' }],
  });

  deployment(store, 'shop-staging', 'frontend', 1, [container('nginx', 'nginx:1.27', 80)], { tier: 'web' });
  service(store, 'shop-staging', 'frontend', 80);
  // The one crash-looping workload: a worker whose image exits with an error at start.
  deployment(store, 'shop-staging', 'payment-worker', 1, [container('worker', 'example/payment-worker-crash:2.1.0')], {
    tier: 'backend',
  });

  // Workspace "data-platform": analytics.
  createNamespace(store, 'analytics', 'data-platform');
  statefulSet(
    store,
    'analytics',
    'postgres',
    2,
    [container('postgres', 'postgres:16.4', 5432, { env: [{ name: 'POSTGRES_DB', value: 'analytics' }] })],
    {
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
        },
      ],
    },
  );
  service(store, 'analytics', 'postgres', 5432);
  deployment(
    store,
    'analytics',
    'reporting-ui',
    2,
    [container('tomcat', 'example/reporting-spring-tomcat:3.3', 8080)],
    { tier: 'web' },
  );
  service(store, 'analytics', 'reporting-ui', 8080);
  create(store, 'batch', 'jobs', {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'nightly-report', namespace: 'analytics', labels: { app: 'nightly-report' } },
    spec: {
      completions: 1,
      backoffLimit: 2,
      template: batchTemplate('nightly-report', 'Never', container('report', 'example/report-job:1.0')),
    },
  });
  create(store, 'batch', 'cronjobs', {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'hourly-etl', namespace: 'analytics', labels: { app: 'hourly-etl' } },
    spec: {
      schedule: '0 * * * *',
      jobTemplate: {
        spec: { template: batchTemplate('hourly-etl', 'OnFailure', container('etl', 'example/etl-batch-job:2.0')) },
      },
    },
  });
  createIn(store, 'configmaps', 'v1', 'ConfigMap', 'analytics', 'etl-config', {
    data: { source: 'postgres://postgres:5432/analytics' },
  });

  // A namespace outside any workspace.
  deployment(store, 'default', 'hello', 1, [container('hello', 'nginxdemos/hello:0.4', 80)]);
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

// ------------------------------------------------------------------ scale

/**
 * Bare running pods, written directly with the status a kubelet would have reported, so a 10,000-pod cluster is
 * ready in a second or two instead of replaying every pod's lifecycle.
 */
function seedScale(store: Store, pods: number, nodes: number, namespaces: number): void {
  const width = String(nodes).length > 1 ? Math.max(3, String(nodes).length) : 1;
  const nsNames: string[] = [];
  for (let i = 0; i < namespaces; i++) {
    const name = `bench-${String(i).padStart(3, '0')}`;
    createNamespace(store, name, `workspace-${i % 10}`);
    nsNames.push(name);
  }
  const podRt = store.type('', 'pods');
  const started = timestamp();
  const apps = ['web', 'api', 'worker', 'cache', 'db'];
  for (let i = 0; i < pods; i++) {
    const nodeIdx = i % nodes;
    const node = `node-${String(nodeIdx + 1).padStart(width, '0')}`;
    const app = apps[i % apps.length];
    const pod = store.create(podRt, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${app}-${String(i).padStart(5, '0')}`,
        namespace: nsNames[i % namespaces],
        labels: { app, tier: i % 2 ? 'backend' : 'frontend', shard: String(i % 16) },
      },
      spec: {
        nodeName: node,
        containers: [container(app, app === 'web' ? 'nginx:1.27' : `example/${app}-json:1.0`, 8080)],
      },
    });
    const ip = `10.${244 + Math.floor(nodeIdx / 256)}.${nodeIdx % 256}.${2 + Math.floor(i / nodes)}`;
    store.update(podRt, { ...pod, status: runningStatus(pod, ip, started) }, { subresource: 'status' });
  }
}

function runningStatus(pod: KPod, podIP: string, startedAt: string): PodStatus {
  const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: startedAt });
  return {
    phase: 'Running',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(cond),
    hostIP: '10.0.0.1',
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: startedAt,
    qosClass: 'Burstable',
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `docker.io/${c.image}@sha256:${'0'.repeat(64)}`,
      containerID: `containerd://${pod.metadata.uid!.replace(/-/g, '')}${c.name}`.slice(0, 77),
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt } },
      lastState: {},
    })),
  };
}
