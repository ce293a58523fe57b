// The metrics of every level as PromQL over what a plain Prometheus scraping cAdvisor, kube-state-metrics and
// node-exporter has, and KubeSphere's recording rules where they exist. Each definition builds ONE query for a whole
// batch of objects (their names in the label matchers) that answers one series per object, keyed by the level's
// labels; the model runs it as an instant or a range query.
//
// Joins use the `node` label (not `instance`, which differs between exporters), rates are guarded by kube_pod_info so
// a deleted pod's counter does not linger for the length of the rate window, and workloads are found from
// kube_pod_owner (a Deployment through its ReplicaSets' names, a CronJob through its Jobs' names).
import { alternation, matcher, promString } from './promql.js';

export type Level = 'pod' | 'container' | 'node' | 'project' | 'workspace' | 'workload' | 'cluster';

export type WorkloadKindName = 'DEPLOYMENT' | 'STATEFUL_SET' | 'DAEMON_SET' | 'JOB' | 'CRON_JOB';

export interface PodTarget {
  namespace: string;
  pod: string;
}
export interface ContainerTarget {
  namespace: string;
  pod: string;
  container: string;
}
export interface NodeTarget {
  node: string;
}
export interface ProjectTarget {
  namespace: string;
}
export interface WorkspaceTarget {
  workspace: string;
}
export interface WorkloadTarget {
  namespace: string;
  kind: WorkloadKindName;
  name: string;
}
export type ClusterTarget = Record<string, never>;

export interface TargetOf {
  pod: PodTarget;
  container: ContainerTarget;
  node: NodeTarget;
  project: ProjectTarget;
  workspace: WorkspaceTarget;
  workload: WorkloadTarget;
  cluster: ClusterTarget;
}

export type Unit = 'cores' | 'bytes' | 'bytes/s' | 'ratio' | 'count';

/** What a query may rely on besides the targets. */
export interface QueryEnv {
  /** The rate window, a PromQL duration (e.g. 5m). */
  window: string;
  /** Names of the recording rules Prometheus has. */
  rules: ReadonlySet<string>;
  /** Namespaces the viewer may see ('all': no restriction); aggregates over namespaces are limited to them. */
  namespaces: 'all' | ReadonlySet<string>;
  /** Workload rankings: the kinds ranked (default all). Batches take their kinds from their targets. */
  kinds?: readonly WorkloadKindName[];
}

export interface MetricDef<L extends Level> {
  unit: Unit;
  /** The query for a batch of targets (undefined targets: every object of the level, for rankings). */
  query(targets: TargetOf[L][] | undefined, env: QueryEnv): string;
}

/** Labels that key a level's series, and how to read a target's key from series labels. */
export const LEVEL_KEYS: {
  [L in Level]: {
    labels: string[];
    keyOf(t: TargetOf[L]): string;
    targetOf(labels: Record<string, string>): TargetOf[L] | undefined;
  };
} = {
  pod: {
    labels: ['namespace', 'pod'],
    keyOf: (t) => `${t.namespace}/${t.pod}`,
    targetOf: (l) => (l.namespace && l.pod ? { namespace: l.namespace, pod: l.pod } : undefined),
  },
  container: {
    labels: ['namespace', 'pod', 'container'],
    keyOf: (t) => `${t.namespace}/${t.pod}/${t.container}`,
    targetOf: (l) =>
      l.namespace && l.pod && l.container ? { namespace: l.namespace, pod: l.pod, container: l.container } : undefined,
  },
  node: { labels: ['node'], keyOf: (t) => t.node, targetOf: (l) => (l.node ? { node: l.node } : undefined) },
  project: {
    labels: ['namespace'],
    keyOf: (t) => t.namespace,
    targetOf: (l) => (l.namespace ? { namespace: l.namespace } : undefined),
  },
  workspace: {
    labels: ['workspace'],
    keyOf: (t) => t.workspace,
    targetOf: (l) => (l.workspace ? { workspace: l.workspace } : undefined),
  },
  workload: {
    labels: ['namespace', 'workload_kind', 'workload'],
    keyOf: (t) => `${t.namespace}/${t.kind}/${t.name}`,
    targetOf: (l) =>
      l.namespace && l.workload_kind && l.workload
        ? { namespace: l.namespace, kind: l.workload_kind as WorkloadKindName, name: l.workload }
        : undefined,
  },
  cluster: { labels: [], keyOf: () => 'cluster', targetOf: () => ({}) },
};

// ------------------------------------------------------------------ selectors

/** Joins matchers into a selector body (empty parts dropped). */
const sel = (...parts: (string | undefined)[]) => parts.filter(Boolean).join(', ');

/** The namespace matcher of the viewer's visibility (undefined: all visible). An empty set never gets here. */
function visibility(env: QueryEnv): string | undefined {
  return env.namespaces === 'all' ? undefined : matcher('namespace', env.namespaces);
}

/** Namespace matcher of a batch, narrowed by visibility (a batch is already authorized; this is for rankings). */
function namespaceMatcher(namespaces: string[] | undefined, env: QueryEnv): string | undefined {
  return namespaces ? matcher('namespace', namespaces) : visibility(env);
}

/**
 * The matchers of a batch: one per key label, over the targets' values (a label is named as the target's field); no
 * targets (a ranking): the viewer's visibility.
 */
const batchMatchers =
  <T extends object>(labels: readonly (keyof T & string)[]) =>
  (targets: T[] | undefined, env: QueryEnv) => {
    if (!targets) return sel(visibility(env));
    const valuesOf = (label: keyof T & string) => targets.map((t) => String(t[label]));
    return sel(...labels.map((label) => matcher(label, valuesOf(label))));
  };

const podMatchers = batchMatchers<PodTarget>(['namespace', 'pod']);
const containerMatchers = batchMatchers<ContainerTarget>(['namespace', 'pod', 'container']);

const CONTAINERS = 'container!="", container!="POD"';
/** cAdvisor's pod network series are the sandbox's; virtual interfaces are left out as KubeSphere does. */
const POD_INTERFACES = 'interface!~"lo|(veth|cali|cni|docker|flannel|tunl|dummy|kube).*"';
const NODE_DEVICES = 'device!~"lo|(veth|cali|cni|docker|flannel|tunl|dummy|kube|br-|virbr).*"';
const NODE_FILESYSTEMS = 'fstype=~"ext[234]|btrfs|xfs|zfs"';

/** Limits a per-pod vector to pods kube-state-metrics lists now (rates of deleted pods linger for the window). */
const existingPods = (expr: string, m: string) =>
  `(${expr}) and on (namespace, pod) max by (namespace, pod) (kube_pod_info{${m}})`;

// Per-pod expressions (labels namespace, pod) over a selector body; every level above pods aggregates these.
const POD = {
  cpu: (m: string, env: QueryEnv) =>
    existingPods(
      `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{${sel(CONTAINERS, m)}}[${env.window}]))`,
      m,
    ),
  memory: (m: string) => `sum by (namespace, pod) (container_memory_working_set_bytes{${sel(CONTAINERS, m)}})`,
  rx: (m: string, env: QueryEnv) =>
    existingPods(
      `sum by (namespace, pod) (rate(container_network_receive_bytes_total{${sel(POD_INTERFACES, m)}}[${env.window}]))`,
      m,
    ),
  tx: (m: string, env: QueryEnv) =>
    existingPods(
      `sum by (namespace, pod) (rate(container_network_transmit_bytes_total{${sel(POD_INTERFACES, m)}}[${env.window}]))`,
      m,
    ),
  restarts: (m: string) => `sum by (namespace, pod) (kube_pod_container_status_restarts_total{${m}})`,
  running: (m: string) => `sum by (namespace, pod) (kube_pod_status_phase{${sel('phase="Running"', m)}})`,
  limit: (resource: 'cpu' | 'memory', m: string) =>
    `sum by (namespace, pod) (kube_pod_container_resource_limits{${sel(`resource="${resource}"`, m)}})`,
};
type PodExpr = (m: string, env: QueryEnv) => string;

// ------------------------------------------------------------------ pods and containers

const podMetric = (unit: Unit, expr: PodExpr): MetricDef<'pod'> => ({
  unit,
  query: (targets, env) => expr(podMatchers(targets, env), env),
});

export const POD_METRICS = {
  cpuCores: podMetric('cores', POD.cpu),
  memoryBytes: podMetric('bytes', POD.memory),
  networkReceiveBytesPerSecond: podMetric('bytes/s', POD.rx),
  networkTransmitBytesPerSecond: podMetric('bytes/s', POD.tx),
  cpuLimitUtilisation: podMetric('ratio', (m, env) => `${POD.cpu(m, env)} / (${POD.limit('cpu', m)} > 0)`),
  memoryLimitUtilisation: podMetric('ratio', (m) => `${POD.memory(m)} / (${POD.limit('memory', m)} > 0)`),
  restarts: podMetric('count', POD.restarts),
} satisfies Record<string, MetricDef<'pod'>>;

export const CONTAINER_METRICS = {
  cpuCores: {
    unit: 'cores',
    query: (t, env) =>
      `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{${sel(CONTAINERS, containerMatchers(t, env))}}[${env.window}]))`,
  },
  memoryBytes: {
    unit: 'bytes',
    query: (t, env) =>
      `sum by (namespace, pod, container) (container_memory_working_set_bytes{${sel(CONTAINERS, containerMatchers(t, env))}})`,
  },
  restarts: {
    unit: 'count',
    query: (t, env) =>
      `sum by (namespace, pod, container) (kube_pod_container_status_restarts_total{${containerMatchers(t, env)}})`,
  },
} satisfies Record<string, MetricDef<'container'>>;

// ------------------------------------------------------------------ projects and workspaces

/** KubeSphere's recording rules (ks-prometheus), used when Prometheus has them. */
export const KS_RULES = {
  namespaceCpu: 'namespace:container_cpu_usage_seconds_total:sum_rate',
  namespaceMemory: 'namespace:container_memory_usage_bytes_wo_cache:sum',
  nodeCpuUtilisation: 'node:node_cpu_utilisation:avg1m',
  nodeNumCpu: 'node:node_num_cpu:sum',
  nodeMemoryUtilisation: 'node:node_memory_utilisation:',
  clusterCpuUtilisation: ':node_cpu_utilisation:avg1m',
  clusterMemoryUtilisation: ':node_memory_utilisation:',
} as const;

/** Per-namespace expressions (label namespace) over a namespace matcher. */
const NAMESPACE: Record<'cpu' | 'memory' | 'rx' | 'tx' | 'running' | 'restarts', (m: string, env: QueryEnv) => string> =
  {
    cpu: (m, env) =>
      env.rules.has(KS_RULES.namespaceCpu)
        ? `sum by (namespace) (${KS_RULES.namespaceCpu}{${m}})`
        : `sum by (namespace) (${POD.cpu(m, env)})`,
    memory: (m, env) =>
      env.rules.has(KS_RULES.namespaceMemory)
        ? `sum by (namespace) (${KS_RULES.namespaceMemory}{${m}})`
        : `sum by (namespace) (${POD.memory(m)})`,
    rx: (m, env) => `sum by (namespace) (${POD.rx(m, env)})`,
    tx: (m, env) => `sum by (namespace) (${POD.tx(m, env)})`,
    running: (m) => `sum by (namespace) (kube_pod_status_phase{${sel('phase="Running"', m)}})`,
    restarts: (m) => `sum by (namespace) (kube_pod_container_status_restarts_total{${m}})`,
  };
type NamespaceExpr = keyof typeof NAMESPACE;

const projectMetric = (unit: Unit, expr: NamespaceExpr): MetricDef<'project'> => ({
  unit,
  query: (targets, env) =>
    NAMESPACE[expr](
      sel(
        namespaceMatcher(
          targets?.map((t) => t.namespace),
          env,
        ),
      ),
      env,
    ),
});

export const PROJECT_METRICS = {
  cpuCores: projectMetric('cores', 'cpu'),
  memoryBytes: projectMetric('bytes', 'memory'),
  networkReceiveBytesPerSecond: projectMetric('bytes/s', 'rx'),
  networkTransmitBytesPerSecond: projectMetric('bytes/s', 'tx'),
  podCount: projectMetric('count', 'running'),
  restarts: projectMetric('count', 'restarts'),
} satisfies Record<string, MetricDef<'project'>>;

/** namespace → workspace (kube-state-metrics' kube_namespace_labels with the kubesphere.io/workspace label). */
function workspaceOfNamespace(workspaces: string[] | undefined, env: QueryEnv): string {
  const m = sel(
    workspaces ? matcher('label_kubesphere_io_workspace', workspaces) : 'label_kubesphere_io_workspace!=""',
    visibility(env),
  );
  return `max by (namespace, workspace) (label_replace(kube_namespace_labels{${m}}, "workspace", "$1", "label_kubesphere_io_workspace", "(.+)"))`;
}

const workspaceMetric = (unit: Unit, expr: NamespaceExpr): MetricDef<'workspace'> => ({
  unit,
  query: (targets, env) =>
    `sum by (workspace) (${NAMESPACE[expr](sel(visibility(env)), env)} * on (namespace) group_left (workspace) ${workspaceOfNamespace(
      targets?.map((t) => t.workspace),
      env,
    )})`,
});

export const WORKSPACE_METRICS = {
  cpuCores: workspaceMetric('cores', 'cpu'),
  memoryBytes: workspaceMetric('bytes', 'memory'),
  networkReceiveBytesPerSecond: workspaceMetric('bytes/s', 'rx'),
  networkTransmitBytesPerSecond: workspaceMetric('bytes/s', 'tx'),
  podCount: workspaceMetric('count', 'running'),
  restarts: workspaceMetric('count', 'restarts'),
} satisfies Record<string, MetricDef<'workspace'>>;

// ------------------------------------------------------------------ workloads

/** kube_pod_owner's owner kind for each workload kind, and how the workload's name appears in owner_name. */
const OWNERS: Record<WorkloadKindName, { ownerKind: string; pattern: (names: string) => string; extract: string }> = {
  // ReplicaSets are named <deployment>-<pod-template-hash>.
  DEPLOYMENT: { ownerKind: 'ReplicaSet', pattern: (n) => `${n}-[a-z0-9]+`, extract: '(.+)-[a-z0-9]+' },
  STATEFUL_SET: { ownerKind: 'StatefulSet', pattern: (n) => n, extract: '(.+)' },
  DAEMON_SET: { ownerKind: 'DaemonSet', pattern: (n) => n, extract: '(.+)' },
  JOB: { ownerKind: 'Job', pattern: (n) => n, extract: '(.+)' },
  // A CronJob's Jobs are <cronjob>-<scheduled minute>, or <cronjob>-manual-<suffix> when triggered by hand.
  CRON_JOB: {
    ownerKind: 'Job',
    pattern: (n) => `${n}-(?:[0-9]+|manual-[a-z0-9]+)`,
    extract: '(.+?)-(?:[0-9]+|manual-[a-z0-9]+)',
  },
};
export const WORKLOAD_KINDS = Object.keys(OWNERS) as WorkloadKindName[];

/** (namespace, pod) → workload of one kind, labels namespace, pod, workload. */
function ownersOf(
  kind: WorkloadKindName,
  namespaces: string[] | undefined,
  names: string[] | undefined,
  env: QueryEnv,
): string {
  const o = OWNERS[kind];
  const nameMatcher = `owner_name=~${promString(o.pattern(names ? alternation(names) : '.+'))}`;
  const m = sel(`owner_kind="${o.ownerKind}"`, namespaceMatcher(namespaces, env), nameMatcher);
  return `max by (namespace, pod, workload) (label_replace(kube_pod_owner{${m}}, "workload", "$1", "owner_name", ${promString(o.extract)}))`;
}

const workloadMetric = (unit: Unit, expr: PodExpr): MetricDef<'workload'> => ({
  unit,
  query(targets, env) {
    // One sub-expression per kind asked (a pod has one owner, so each join is one-to-one), joined with `or`.
    const kinds = targets ? [...new Set(targets.map((t) => t.kind))].sort() : (env.kinds ?? WORKLOAD_KINDS);
    return kinds
      .map((kind) => {
        const ofKind = targets?.filter((t) => t.kind === kind);
        const namespaces = ofKind?.map((t) => t.namespace);
        const perPod = expr(sel(namespaceMatcher(namespaces, env)), env);
        const joined = `sum by (namespace, workload) (${perPod} * on (namespace, pod) group_left (workload) ${ownersOf(
          kind,
          namespaces,
          ofKind?.map((t) => t.name),
          env,
        )})`;
        return `label_replace(${joined}, "workload_kind", "${kind}", "", "")`;
      })
      .join(' or ');
  },
});

export const WORKLOAD_METRICS = {
  cpuCores: workloadMetric('cores', POD.cpu),
  memoryBytes: workloadMetric('bytes', POD.memory),
  networkReceiveBytesPerSecond: workloadMetric('bytes/s', POD.rx),
  networkTransmitBytesPerSecond: workloadMetric('bytes/s', POD.tx),
  podCount: workloadMetric('count', POD.running),
  restarts: workloadMetric('count', POD.restarts),
} satisfies Record<string, MetricDef<'workload'>>;

// ------------------------------------------------------------------ nodes and the cluster

const nodeMatcher = (targets: NodeTarget[] | undefined) =>
  targets
    ? matcher(
        'node',
        targets.map((t) => t.node),
      )
    : '';

/** Per-node expressions (label node) over a node matcher. */
const NODE = {
  busyCores: (m: string, env: QueryEnv) =>
    `sum by (node) (1 - rate(node_cpu_seconds_total{${sel('mode="idle"', m)}}[${env.window}]))`,
  totalCores: (m: string, env: QueryEnv) =>
    env.rules.has(KS_RULES.nodeNumCpu)
      ? `max by (node) (${KS_RULES.nodeNumCpu}{${m}})`
      : `count by (node) (node_cpu_seconds_total{${sel('mode="idle"', m)}})`,
  memTotal: (m: string) => `sum by (node) (node_memory_MemTotal_bytes{${m}})`,
  memUsed: (m: string) => `sum by (node) (node_memory_MemTotal_bytes{${m}} - node_memory_MemAvailable_bytes{${m}})`,
  diskTotal: (m: string) =>
    `sum by (node) (max by (node, device) (node_filesystem_size_bytes{${sel(NODE_FILESYSTEMS, m)}}))`,
  diskUsed: (m: string) =>
    `sum by (node) (max by (node, device) (node_filesystem_size_bytes{${sel(NODE_FILESYSTEMS, m)}} - node_filesystem_avail_bytes{${sel(NODE_FILESYSTEMS, m)}}))`,
  // Running pods by the node kube_pod_info puts them on; nodes without any count 0.
  pods: (m: string) =>
    `count by (node) (max by (node, namespace, pod) (kube_pod_info{${sel('node!=""', m)}}) and on (namespace, pod) (kube_pod_status_phase{phase="Running"} == 1)) or max by (node) (0 * kube_node_info{${m}})`,
  podCapacity: (m: string) => `max by (node) (kube_node_status_capacity{${sel('resource="pods"', m)}})`,
  // node-exporter's interfaces when scraped; else the node's pods' traffic (cAdvisor series carry the node label).
  net: (dir: 'receive' | 'transmit', m: string, env: QueryEnv) =>
    `sum by (node) (rate(node_network_${dir}_bytes_total{${sel(NODE_DEVICES, m)}}[${env.window}])) or sum by (node) (rate(container_network_${dir}_bytes_total{${sel(POD_INTERFACES, m)}}[${env.window}]))`,
};

const nodeMetric = (unit: Unit, expr: (m: string, env: QueryEnv) => string): MetricDef<'node'> => ({
  unit,
  query: (t, env) => expr(nodeMatcher(t), env),
});

export const NODE_METRICS = {
  cpuCores: nodeMetric('cores', NODE.busyCores),
  cpuTotalCores: nodeMetric('cores', NODE.totalCores),
  cpuUtilisation: nodeMetric('ratio', (m, env) =>
    env.rules.has(KS_RULES.nodeCpuUtilisation)
      ? `max by (node) (${KS_RULES.nodeCpuUtilisation}{${m}})`
      : `1 - avg by (node) (rate(node_cpu_seconds_total{${sel('mode="idle"', m)}}[${env.window}]))`,
  ),
  memoryBytes: nodeMetric('bytes', NODE.memUsed),
  memoryTotalBytes: nodeMetric('bytes', NODE.memTotal),
  memoryUtilisation: nodeMetric('ratio', (m, env) =>
    env.rules.has(KS_RULES.nodeMemoryUtilisation)
      ? `max by (node) (${KS_RULES.nodeMemoryUtilisation}{${m}})`
      : `${NODE.memUsed(m)} / ${NODE.memTotal(m)}`,
  ),
  load1: nodeMetric('count', (m) => `max by (node) (node_load1{${m}})`),
  load5: nodeMetric('count', (m) => `max by (node) (node_load5{${m}})`),
  load15: nodeMetric('count', (m) => `max by (node) (node_load15{${m}})`),
  diskUsedBytes: nodeMetric('bytes', NODE.diskUsed),
  diskTotalBytes: nodeMetric('bytes', NODE.diskTotal),
  diskUtilisation: nodeMetric('ratio', (m) => `${NODE.diskUsed(m)} / ${NODE.diskTotal(m)}`),
  podCount: nodeMetric('count', NODE.pods),
  podCapacity: nodeMetric('count', NODE.podCapacity),
  podUtilisation: nodeMetric('ratio', (m) => `(${NODE.pods(m)}) / ${NODE.podCapacity(m)}`),
  networkReceiveBytesPerSecond: nodeMetric('bytes/s', (m, env) => NODE.net('receive', m, env)),
  networkTransmitBytesPerSecond: nodeMetric('bytes/s', (m, env) => NODE.net('transmit', m, env)),
} satisfies Record<string, MetricDef<'node'>>;

const clusterMetric = (unit: Unit, query: (env: QueryEnv) => string): MetricDef<'cluster'> => ({
  unit,
  query: (_t, env) => query(env),
});
const sumOf = (perNode: string) => `sum(${perNode})`;

export const CLUSTER_METRICS = {
  cpuCores: clusterMetric('cores', (env) => sumOf(NODE.busyCores('', env))),
  cpuTotalCores: clusterMetric('cores', (env) => sumOf(NODE.totalCores('', env))),
  cpuUtilisation: clusterMetric('ratio', (env) =>
    env.rules.has(KS_RULES.clusterCpuUtilisation)
      ? `max(${KS_RULES.clusterCpuUtilisation})`
      : `${sumOf(NODE.busyCores('', env))} / ${sumOf(NODE.totalCores('', env))}`,
  ),
  memoryBytes: clusterMetric('bytes', () => sumOf(NODE.memUsed(''))),
  memoryTotalBytes: clusterMetric('bytes', () => sumOf(NODE.memTotal(''))),
  memoryUtilisation: clusterMetric('ratio', (env) =>
    env.rules.has(KS_RULES.clusterMemoryUtilisation)
      ? `max(${KS_RULES.clusterMemoryUtilisation})`
      : `${sumOf(NODE.memUsed(''))} / ${sumOf(NODE.memTotal(''))}`,
  ),
  diskUsedBytes: clusterMetric('bytes', () => sumOf(NODE.diskUsed(''))),
  diskTotalBytes: clusterMetric('bytes', () => sumOf(NODE.diskTotal(''))),
  diskUtilisation: clusterMetric('ratio', () => `${sumOf(NODE.diskUsed(''))} / ${sumOf(NODE.diskTotal(''))}`),
  podCount: clusterMetric('count', () => 'sum(kube_pod_status_phase{phase="Running"})'),
  podCapacity: clusterMetric('count', () => sumOf(NODE.podCapacity(''))),
  podUtilisation: clusterMetric(
    'ratio',
    () => `sum(kube_pod_status_phase{phase="Running"}) / ${sumOf(NODE.podCapacity(''))}`,
  ),
  nodeCount: clusterMetric('count', () => 'count(kube_node_info)'),
  networkReceiveBytesPerSecond: clusterMetric('bytes/s', (env) => sumOf(POD.rx('', env))),
  networkTransmitBytesPerSecond: clusterMetric('bytes/s', (env) => sumOf(POD.tx('', env))),
} satisfies Record<string, MetricDef<'cluster'>>;

export const METRICS = {
  pod: POD_METRICS,
  container: CONTAINER_METRICS,
  node: NODE_METRICS,
  project: PROJECT_METRICS,
  workspace: WORKSPACE_METRICS,
  workload: WORKLOAD_METRICS,
  cluster: CLUSTER_METRICS,
} as const;

export type MetricName<L extends Level> = keyof (typeof METRICS)[L] & string;

/** The definition of a level's metric (typed loosely: callers pass names checked by the schema's enums and fields). */
export function metricDef<L extends Level>(level: L, name: string): MetricDef<L> | undefined {
  return (METRICS[level] as unknown as Record<string, MetricDef<L>>)[name];
}
