// meta.k8s.io/v1 Tables: what `kubectl get` asks for and prints verbatim. The columns, their priorities (1 = only
// with `-o wide`) and the text of each cell follow the real API server's printers (pkg/printers/internalversion),
// including relative ages ("5m", "2d3h") computed when the Table is made.
import { humanDuration, podReady, podRestartsText, podStatusText } from '../common/kubectl-printing.js';
import type { ResourceType } from './registry.js';
import { formatLabelSelector } from './selectors.js';
import type {
  Condition,
  KBinding,
  KEndpoints,
  KEvent,
  KNode,
  KObject,
  KPod,
  KService,
  KServiceAccount,
  LabelSelector,
  LoadBalancerIngress,
  PodSpec,
} from './types.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  cell: (o: KObject) => unknown;
}

// ------------------------------------------------------------------ time

/** Time since a timestamp as kubectl shows it; `<unknown>` when there is none. */
export function since(timestamp: string | undefined): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(Date.now() - t);
}

// ------------------------------------------------------------------ column helpers

const col = (
  name: string,
  cell: (o: KObject) => unknown,
  priority = 0,
  type = 'string',
  description = name,
): Column => ({
  name,
  type,
  description,
  priority,
  cell,
});
const nameCol: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name,
};
const ageCol: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o) => since(o.metadata.creationTimestamp),
};
const createdAtCol: Column = {
  name: 'Created At',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o) => o.metadata.creationTimestamp ?? '<unknown>',
};

const none = (s: string | undefined | null) => (s ? s : '<none>');
const sortedLabels = (m: Record<string, string> | undefined) =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${m![k]}`)
    .join(',');
const selectorText = (s: LabelSelector | undefined) => none(s ? formatLabelSelector(s) : '');
const mapSelectorText = (m: Record<string, string> | undefined) => none(sortedLabels(m));
const podSpecOf = (o: KObject): PodSpec =>
  (o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec) ?? {};
const containers = (o: KObject) => (podSpecOf(o).containers ?? []).map((c) => c.name).join(',');
const images = (o: KObject) => (podSpecOf(o).containers ?? []).map((c) => c.image).join(',');
const workloadWide = (
  withSelector: boolean,
  selector: (o: KObject) => string = (o) => selectorText(o.spec?.selector),
): Column[] => [
  col('Containers', containers, 1, 'string', 'Names of each container in the template.'),
  col('Images', images, 1, 'string', 'Images referenced by each container in the template.'),
  ...(withSelector ? [col('Selector', selector, 1, 'string', 'Label selector for pods.')] : []),
];
const conditionTrue = (o: KObject, type: string) =>
  ((o.status?.conditions ?? []) as Condition[]).some((c) => c.type === type && c.status === 'True');
const abbreviateAccessModes = (modes: string[] | undefined) =>
  (modes ?? [])
    .map((m) => ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' })[m] ?? m)
    .join(',');
const listWithMore = (items: string[], max = 3) =>
  items.length > max ? `${items.slice(0, max).join(',')} + ${items.length - max} more...` : items.join(',');

// ------------------------------------------------------------------ pods

/** The STATUS column of `kubectl get pods`. */
export const podDisplayStatus = podStatusText;

const readinessGates = (p: KPod) => {
  const gates = p.spec?.readinessGates ?? [];
  if (!gates.length) return '<none>';
  const ok = gates.filter((g) => conditionTrue(p, g.conditionType)).length;
  return `${ok}/${gates.length}`;
};

// ------------------------------------------------------------------ other kinds

function serviceExternalIp(s: KService): string {
  const external = s.spec?.externalIPs ?? [];
  switch (s.spec?.type ?? 'ClusterIP') {
    case 'LoadBalancer': {
      const lb = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname).filter(Boolean);
      const all = [...lb, ...external];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return s.spec?.externalName ?? '<none>';
    default:
      return external.length ? external.join(',') : '<none>';
  }
}

const servicePorts = (s: KService) =>
  none(
    (s.spec?.ports ?? []).map((p) => `${p.port}${p.nodePort ? ':' + p.nodePort : ''}/${p.protocol ?? 'TCP'}`).join(','),
  );

function endpointsText(e: KEndpoints): string {
  const out: string[] = [];
  for (const subset of e.subsets ?? []) {
    for (const addr of subset.addresses ?? []) {
      const ports: { port?: number }[] = subset.ports?.length ? subset.ports : [{}];
      for (const p of ports) out.push(p.port !== undefined ? `${addr.ip}:${p.port}` : addr.ip);
    }
  }
  return out.length ? listWithMore(out) : '<none>';
}

/** kubectl's formatDiscoveryPorts / formatDiscoveryEndpoints for EndpointSlices. */
const slicePorts = (s: KObject) => {
  const ports = (s.ports ?? []) as { port?: number }[];
  return ports.length ? listWithMore(ports.map((p) => (p.port === undefined ? '<unset>' : String(p.port)))) : '<unset>';
};
const sliceEndpoints = (s: KObject) => {
  const addresses = ((s.endpoints ?? []) as { addresses?: string[] }[]).flatMap((e) => e.addresses ?? []);
  return addresses.length ? listWithMore(addresses) : '<unset>';
};

function nodeStatus(n: KNode): string {
  const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const s = ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
  return n.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
}

function nodeRoles(n: KObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length)
      roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return none([...roles].sort().join(','));
}

const nodeAddress = (n: KNode, type: string) => none((n.status?.addresses ?? []).find((a) => a.type === type)?.address);

function jobStatus(j: KObject): string {
  for (const type of ['Failed', 'Complete', 'SuccessCriteriaMet', 'FailureTarget', 'Suspended'])
    if (conditionTrue(j, type)) return type;
  if (j.metadata.deletionTimestamp) return 'Terminating';
  return 'Running';
}

function jobCompletions(j: KObject): string {
  const succeeded = j.status?.succeeded ?? 0;
  if (j.spec?.completions !== undefined && j.spec?.completions !== null) return `${succeeded}/${j.spec.completions}`;
  const parallelism = j.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(j: KObject): string {
  const start = j.status?.startTime;
  if (!start) return '';
  const end = j.status?.completionTime ? Date.parse(j.status.completionTime) : Date.now();
  return humanDuration(end - Date.parse(start));
}

function quotaColumns(q: KObject, limits: boolean): string {
  const hard: Record<string, string> = q.status?.hard ?? q.spec?.hard ?? {};
  const used: Record<string, string> = q.status?.used ?? {};
  return Object.keys(hard)
    .sort()
    .filter((k) => k.startsWith('limits.') === limits)
    .map((k) => `${k}: ${used[k] ?? '0'}/${hard[k]}`)
    .join(', ');
}

/** autoscaling/v2 metric targets and values, as far as the TARGETS column reads them. */
interface MetricTarget {
  averageUtilization?: number;
  averageValue?: string;
  value?: string;
}
interface MetricSpec {
  type?: string;
  resource?: { name?: string; target?: MetricTarget };
  [source: string]: unknown;
}
interface KHorizontalPodAutoscaler extends KObject {
  spec?: { metrics?: MetricSpec[]; [key: string]: unknown };
  status?: { currentMetrics?: { resource?: { current?: MetricTarget } }[]; [key: string]: unknown };
}

function hpaTargets(h: KHorizontalPodAutoscaler): string {
  const metrics = h.spec?.metrics ?? [];
  const current = h.status?.currentMetrics ?? [];
  if (!metrics.length) return '<none>';
  const parts = metrics.map((m, i) => {
    if (m.type !== 'Resource') {
      // The metric's own source (pods, object, external, containerResource) holds its target.
      const source = m[String(m.type).charAt(0).toLowerCase() + String(m.type).slice(1)] as
        { target?: unknown } | undefined;
      return `<unknown>/${JSON.stringify(source?.target ?? {})}`;
    }
    const t = m.resource?.target ?? {};
    const cur = current[i]?.resource?.current;
    if (t.averageUtilization !== undefined) {
      return `${m.resource?.name}: ${cur?.averageUtilization !== undefined ? cur.averageUtilization + '%' : '<unknown>'}/${t.averageUtilization}%`;
    }
    const target = t.averageValue ?? t.value ?? '';
    return `${m.resource?.name}: ${cur?.averageValue ?? cur?.value ?? '<unknown>'}/${target}`;
  });
  return parts.length > 2 ? `${parts.slice(0, 2).join(', ')} + ${parts.length - 2} more...` : parts.join(', ');
}

const bindingSubjects = (b: KBinding, kind: string) =>
  (b.subjects ?? [])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
    .join(', ');
const bindingColumns = [
  col('Role', (b: KBinding) => `${b.roleRef?.kind}/${b.roleRef?.name}`),
  ageCol,
  col('Users', (b) => bindingSubjects(b, 'User'), 1),
  col('Groups', (b) => bindingSubjects(b, 'Group'), 1),
  col('ServiceAccounts', (b) => bindingSubjects(b, 'ServiceAccount'), 1),
];

function ingressHosts(i: KObject): string {
  const hosts = ((i.spec?.rules ?? []) as { host?: string }[])
    .map((r) => r.host)
    .filter((h): h is string => Boolean(h));
  return hosts.length ? listWithMore(hosts) : '*';
}

function lastSeen(e: KEvent): string {
  if (e.series?.lastObservedTime) return since(e.series.lastObservedTime);
  return since(e.lastTimestamp || e.firstTimestamp || e.eventTime);
}

function eventSource(e: KEvent): string {
  const component = e.source?.component || e.reportingComponent || e.reportingController || '';
  const host = e.source?.host || e.reportingInstance || '';
  return host ? `${component}, ${host}` : component;
}

/** Every column after NAME, per builtin kind (`group/Kind`); NAME comes first unless the kind says otherwise. */
const byKind: Record<string, Column[]> = {
  '/Pod': [
    col('Ready', podReady, 0, 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', podDisplayStatus, 0, 'string', 'The aggregate status of the containers in this pod.'),
    col(
      'Restarts',
      podRestartsText,
      0,
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    ageCol,
    col(
      'IP',
      (p) => none(p.status?.podIP),
      1,
      'string',
      'IP address allocated to the pod. Routable at least within the cluster.',
    ),
    col('Node', (p) => none(p.spec?.nodeName), 1, 'string', 'Name of the Node this pod is scheduled on.'),
    col(
      'Nominated Node',
      (p) => none(p.status?.nominatedNodeName),
      1,
      'string',
      'Name of the node this pod is nominated to.',
    ),
    col('Readiness Gates', readinessGates, 1, 'string', 'Pod readiness gates.'),
  ],
  'apps/Deployment': [
    col(
      'Ready',
      (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
      0,
      'string',
      'Number of the pod with ready state',
    ),
    col(
      'Up-to-date',
      (d) => d.status?.updatedReplicas ?? 0,
      0,
      'integer',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    col(
      'Available',
      (d) => d.status?.availableReplicas ?? 0,
      0,
      'integer',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    ageCol,
    ...workloadWide(true),
  ],
  'apps/ReplicaSet': [
    col('Desired', (r) => r.spec?.replicas ?? 1, 0, 'integer', 'Number of desired pods.'),
    col('Current', (r) => r.status?.replicas ?? 0, 0, 'integer', 'Number of actual replicas.'),
    col('Ready', (r) => r.status?.readyReplicas ?? 0, 0, 'integer', 'The number of ready replicas.'),
    ageCol,
    ...workloadWide(true),
  ],
  'apps/StatefulSet': [
    col(
      'Ready',
      (s) => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`,
      0,
      'string',
      'Number of the pod with ready state',
    ),
    ageCol,
    ...workloadWide(false),
  ],
  'apps/DaemonSet': [
    col('Desired', (d) => d.status?.desiredNumberScheduled ?? 0, 0, 'integer'),
    col('Current', (d) => d.status?.currentNumberScheduled ?? 0, 0, 'integer'),
    col('Ready', (d) => d.status?.numberReady ?? 0, 0, 'integer'),
    col('Up-to-date', (d) => d.status?.updatedNumberScheduled ?? 0, 0, 'integer'),
    col('Available', (d) => d.status?.numberAvailable ?? 0, 0, 'integer'),
    col('Node Selector', (d) => mapSelectorText(d.spec?.template?.spec?.nodeSelector)),
    ageCol,
    ...workloadWide(true),
  ],
  'apps/ControllerRevision': [
    col('Controller', (r) => {
      const owner = (r.metadata.ownerReferences ?? []).find((o) => o.controller);
      if (!owner) return '<none>';
      const group = String(owner.apiVersion).includes('/') ? String(owner.apiVersion).split('/')[0] : '';
      return `${String(owner.kind).toLowerCase()}${group ? '.' + group : ''}/${owner.name}`;
    }),
    col('Revision', (r) => r.revision ?? 0, 0, 'integer'),
    ageCol,
  ],
  'batch/Job': [
    col('Status', jobStatus, 0, 'string', 'Status of the job.'),
    col('Completions', jobCompletions, 0, 'string', 'The completion status of the job.'),
    col('Duration', jobDuration, 0, 'string', 'Time required to complete the job.'),
    ageCol,
    ...workloadWide(true),
  ],
  'batch/CronJob': [
    col('Schedule', (c) => c.spec?.schedule ?? ''),
    col('Timezone', (c) => none(c.spec?.timeZone)),
    col('Suspend', (c) => (c.spec?.suspend ? 'True' : 'False'), 0, 'boolean'),
    col('Active', (c) => (c.status?.active ?? []).length, 0, 'integer'),
    col('Last Schedule', (c) => (c.status?.lastScheduleTime ? since(c.status.lastScheduleTime) : '<none>')),
    ageCol,
    ...workloadWide(true, (c) => selectorText(c.spec?.jobTemplate?.spec?.selector)),
  ],
  '/Service': [
    col('Type', (s) => s.spec?.type ?? 'ClusterIP', 0, 'string', 'The type of the service.'),
    col('Cluster-IP', (s) => none(s.spec?.clusterIP), 0, 'string', 'The IP address of the service.'),
    col('External-IP', serviceExternalIp, 0, 'string', 'The external IP address of the service.'),
    col('Port(s)', servicePorts, 0, 'string', 'The ports of the service.'),
    ageCol,
    col(
      'Selector',
      (s) => mapSelectorText(s.spec?.selector),
      1,
      'string',
      'Route service traffic to pods with label keys and values matching this selector.',
    ),
  ],
  '/Endpoints': [col('Endpoints', endpointsText, 0, 'string', 'Endpoints of the service.'), ageCol],
  'discovery.k8s.io/EndpointSlice': [
    col('AddressType', (s) => s.addressType ?? '', 0, 'string', 'The type of address carried by this EndpointSlice.'),
    col('Ports', slicePorts, 0, 'string', 'The network ports exposed by each endpoint in this slice.'),
    col('Endpoints', sliceEndpoints, 0, 'string', 'The unique endpoints in this slice.'),
    ageCol,
  ],
  '/Node': [
    col('Status', nodeStatus, 0, 'string', 'The status of the node.'),
    col('Roles', nodeRoles, 0, 'string', 'The roles of the node.'),
    ageCol,
    col(
      'Version',
      (n) => n.status?.nodeInfo?.kubeletVersion ?? '',
      0,
      'string',
      'Kubelet Version reported by the node.',
    ),
    col('Internal-IP', (n) => nodeAddress(n, 'InternalIP'), 1),
    col('External-IP', (n) => nodeAddress(n, 'ExternalIP'), 1),
    col('OS-Image', (n) => n.status?.nodeInfo?.osImage || '<unknown>', 1),
    col('Kernel-Version', (n) => n.status?.nodeInfo?.kernelVersion || '<unknown>', 1),
    col('Container-Runtime', (n) => n.status?.nodeInfo?.containerRuntimeVersion || '<unknown>', 1),
  ],
  '/Namespace': [col('Status', (n) => n.status?.phase ?? 'Active', 0, 'string', 'The status of the namespace'), ageCol],
  '/ConfigMap': [
    col('Data', (c) => Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, 0, 'integer'),
    ageCol,
  ],
  '/Secret': [
    col('Type', (s) => s.type ?? 'Opaque'),
    col('Data', (s) => Object.keys(s.data ?? {}).length, 0, 'integer'),
    ageCol,
  ],
  '/ServiceAccount': [col('Secrets', (s: KServiceAccount) => (s.secrets ?? []).length, 0, 'integer'), ageCol],
  '/PersistentVolume': [
    col('Capacity', (p) => p.spec?.capacity?.storage ?? ''),
    col('Access Modes', (p) => abbreviateAccessModes(p.spec?.accessModes)),
    col('Reclaim Policy', (p) => p.spec?.persistentVolumeReclaimPolicy ?? 'Retain'),
    col('Status', (p) => p.status?.phase ?? 'Pending'),
    col('Claim', (p) => (p.spec?.claimRef ? `${p.spec.claimRef.namespace}/${p.spec.claimRef.name}` : '')),
    col('StorageClass', (p) => p.spec?.storageClassName ?? ''),
    col('VolumeAttributesClass', (p) => none(p.spec?.volumeAttributesClassName)),
    col('Reason', (p) => p.status?.reason ?? ''),
    ageCol,
    col('VolumeMode', (p) => p.spec?.volumeMode ?? 'Filesystem', 1),
  ],
  '/PersistentVolumeClaim': [
    col('Status', (p) => (p.metadata.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? 'Pending'))),
    col('Volume', (p) => p.spec?.volumeName ?? ''),
    col('Capacity', (p) => p.status?.capacity?.storage ?? ''),
    col('Access Modes', (p) => abbreviateAccessModes(p.status?.accessModes)),
    col('StorageClass', (p) => p.spec?.storageClassName ?? ''),
    col('VolumeAttributesClass', (p) => none(p.status?.currentVolumeAttributesClassName)),
    ageCol,
    col('VolumeMode', (p) => p.spec?.volumeMode ?? 'Filesystem', 1),
  ],
  '/ResourceQuota': [ageCol, col('Request', (q) => quotaColumns(q, false)), col('Limit', (q) => quotaColumns(q, true))],
  '/LimitRange': [createdAtCol],
  'networking.k8s.io/Ingress': [
    col('Class', (i) => none(i.spec?.ingressClassName)),
    col('Hosts', ingressHosts),
    col('Address', (i) =>
      ((i.status?.loadBalancer?.ingress ?? []) as LoadBalancerIngress[])
        .map((x) => x.ip || x.hostname)
        .filter(Boolean)
        .join(','),
    ),
    col('Ports', (i) => ((i.spec?.tls ?? []).length ? '80, 443' : '80')),
    ageCol,
  ],
  'networking.k8s.io/NetworkPolicy': [col('Pod-Selector', (n) => selectorText(n.spec?.podSelector)), ageCol],
  'storage.k8s.io/StorageClass': [
    col('Provisioner', (s) => s.provisioner ?? ''),
    col('ReclaimPolicy', (s) => s.reclaimPolicy ?? 'Delete'),
    col('VolumeBindingMode', (s) => s.volumeBindingMode ?? 'Immediate'),
    col('AllowVolumeExpansion', (s) => String(Boolean(s.allowVolumeExpansion))),
    ageCol,
  ],
  'autoscaling/HorizontalPodAutoscaler': [
    col('Reference', (h) => `${h.spec?.scaleTargetRef?.kind}/${h.spec?.scaleTargetRef?.name}`),
    col('Targets', hpaTargets),
    col('MinPods', (h) => h.spec?.minReplicas ?? '<unset>'),
    col('MaxPods', (h) => h.spec?.maxReplicas ?? 0, 0, 'integer'),
    col('Replicas', (h) => h.status?.currentReplicas ?? 0, 0, 'integer'),
    ageCol,
  ],
  'rbac.authorization.k8s.io/Role': [createdAtCol],
  'rbac.authorization.k8s.io/ClusterRole': [createdAtCol],
  'rbac.authorization.k8s.io/RoleBinding': bindingColumns,
  'rbac.authorization.k8s.io/ClusterRoleBinding': bindingColumns,
  'apiextensions.k8s.io/CustomResourceDefinition': [createdAtCol],
};

/** Kinds whose Table does not start with NAME (events put it last, in -o wide only). */
const fullColumns: Record<string, Column[]> = {
  '/Event': [
    col('Last Seen', lastSeen, 0, 'string', 'Time when last event occurred'),
    col('Type', (e: KEvent) => e.type ?? '', 0, 'string', 'Type of this event.'),
    col(
      'Reason',
      (e: KEvent) => e.reason ?? '',
      0,
      'string',
      'Short, machine understandable string that gives the reason for this event being generated.',
    ),
    col(
      'Object',
      (e: KEvent) =>
        e.involvedObject?.name
          ? `${String(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name}`
          : String(e.involvedObject?.kind ?? '').toLowerCase(),
      0,
      'string',
      'The object that this event is about.',
    ),
    col('Subobject', (e: KEvent) => e.involvedObject?.fieldPath ?? '', 1),
    col('Source', eventSource, 1),
    col(
      'Message',
      (e: KEvent) => String(e.message ?? '').trim(),
      0,
      'string',
      'A human-readable description of the status of this operation.',
    ),
    col('First Seen', (e: KEvent) => since(e.firstTimestamp || e.eventTime), 1),
    col('Count', (e: KEvent) => e.series?.count ?? (e.count || 1), 1, 'integer'),
    { ...nameCol, priority: 1 },
  ],
};

/** A custom resource's additionalPrinterColumns: `date` columns show as ages, as the real server's convertor does. */
function customColumns(rt: ResourceType): Column[] {
  return (rt.columns ?? []).map((c) => ({
    name: c.name,
    type: c.type,
    description: c.description ?? c.name,
    priority: c.priority ?? 0,
    cell: (o: KObject) => {
      const v = c.value(o);
      if (v === undefined || v === null) return c.type === 'date' ? '<unknown>' : '';
      if (c.type === 'date') return typeof v === 'string' ? since(v) : '<unknown>';
      if (typeof v === 'object') return JSON.stringify(v);
      return v;
    },
  }));
}

function columnsFor(rt: ResourceType): Column[] {
  if (rt.crdName !== undefined) {
    // A CRD without printer columns gets AGE, as the API server defaults them.
    return [nameCol, ...(rt.columns?.length ? customColumns(rt) : [ageCol])];
  }
  const key = `${rt.group}/${rt.kind}`;
  return fullColumns[key] ?? [nameCol, ...(byKind[key] ?? [createdAtCol])];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: KObject, include: IncludeObject) {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(
  rt: ResourceType,
  items: KObject[],
  listMeta: Record<string, unknown>,
  include: IncludeObject = 'Metadata',
) {
  const columns = columnsFor(rt);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map(({ name, type, format, description, priority }) => ({
      name,
      type,
      format: format ?? '',
      description,
      priority,
    })),
    rows: items.map((o) => ({ cells: columns.map((c) => c.cell(o) ?? ''), object: rowObject(o, include) })),
  };
}

/** True when the Accept header asks for a Table (kubectl get). */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept);
}
