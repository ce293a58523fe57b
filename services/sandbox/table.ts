// meta.k8s.io/v1 Table responses: what `kubectl get` asks for and prints as its columns.
import type { ResourceType } from './registry.js';
import type { KObject, Loose } from './types.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  cell: (o: KObject) => unknown;
}

const age = (o: KObject) => o.metadata.creationTimestamp;
const col = (name: string, cell: (o: KObject) => unknown, priority = 0, type = 'string'): Column => ({
  name, type, description: name, priority, cell,
});
const nameCol: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0, cell: (o) => o.metadata.name };
const ageCol: Column = { name: 'Age', type: 'string', format: 'date', description: 'CreationTimestamp', priority: 0, cell: age };

/** The STATUS column of `kubectl get pods`, computed as kubectl's printer does. */
export function podDisplayStatus(pod: KObject): string {
  const status = pod.status ?? {};
  let reason: string = status.reason || status.phase || 'Pending';
  const init: Loose[] = status.initContainerStatuses ?? [];
  const initCount = (pod.spec?.initContainers ?? []).length;
  let initializing = false;
  for (let i = 0; i < init.length; i++) {
    const c = init[i];
    if (c.state?.terminated?.exitCode === 0) continue;
    if (c.state?.terminated) reason = c.state.terminated.reason ? `Init:${c.state.terminated.reason}` : `Init:ExitCode:${c.state.terminated.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${initCount}`;
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    for (const c of [...(status.containerStatuses ?? [])].reverse()) {
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) reason = 'Running';
  }
  if (pod.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

const podReady = (p: KObject) => {
  const cs: Loose[] = p.status?.containerStatuses ?? [];
  return `${cs.filter((c) => c.ready).length}/${(p.spec?.containers ?? []).length}`;
};
const podRestarts = (p: KObject) => (p.status?.containerStatuses ?? []).reduce((n: number, c: Loose) => n + (c.restartCount ?? 0), 0);
const selectorText = (s: Loose) =>
  s ? Object.entries(s.matchLabels ?? s).map(([k, v]) => `${k}=${v}`).join(',') || '<none>' : '<none>';
const images = (o: KObject) => (o.spec?.template?.spec?.containers ?? []).map((c: Loose) => c.image).join(',');
const containers = (o: KObject) => (o.spec?.template?.spec?.containers ?? []).map((c: Loose) => c.name).join(',');

const byKind: Record<string, Column[]> = {
  Pod: [
    col('Ready', podReady), col('Status', podDisplayStatus), col('Restarts', podRestarts, 0, 'string'), ageCol,
    col('IP', (p) => p.status?.podIP ?? '<none>', 1), col('Node', (p) => p.spec?.nodeName ?? '<none>', 1),
    col('Nominated Node', () => '<none>', 1), col('Readiness Gates', () => '<none>', 1),
  ],
  Deployment: [
    col('Ready', (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`),
    col('Up-to-date', (d) => d.status?.updatedReplicas ?? 0, 0, 'integer'),
    col('Available', (d) => d.status?.availableReplicas ?? 0, 0, 'integer'), ageCol,
    col('Containers', containers, 1), col('Images', images, 1), col('Selector', (d) => selectorText(d.spec?.selector), 1),
  ],
  ReplicaSet: [
    col('Desired', (r) => r.spec?.replicas ?? 0, 0, 'integer'), col('Current', (r) => r.status?.replicas ?? 0, 0, 'integer'),
    col('Ready', (r) => r.status?.readyReplicas ?? 0, 0, 'integer'), ageCol,
    col('Containers', containers, 1), col('Images', images, 1), col('Selector', (r) => selectorText(r.spec?.selector), 1),
  ],
  StatefulSet: [col('Ready', (s) => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 0}`), ageCol, col('Containers', containers, 1), col('Images', images, 1)],
  DaemonSet: [
    col('Desired', (d) => d.status?.desiredNumberScheduled ?? 0, 0, 'integer'), col('Current', (d) => d.status?.currentNumberScheduled ?? 0, 0, 'integer'),
    col('Ready', (d) => d.status?.numberReady ?? 0, 0, 'integer'), col('Up-to-date', (d) => d.status?.updatedNumberScheduled ?? 0, 0, 'integer'),
    col('Available', (d) => d.status?.numberAvailable ?? 0, 0, 'integer'),
    col('Node Selector', (d) => selectorText(d.spec?.template?.spec?.nodeSelector)), ageCol,
  ],
  Job: [
    col('Status', (j) => ((j.status?.conditions ?? []) as Loose[]).find((c) => c.status === 'True' && ['Complete', 'Failed'].includes(c.type))?.type ?? 'Running'),
    col('Completions', (j) => `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`), col('Duration', () => ''), ageCol,
  ],
  CronJob: [
    col('Schedule', (c) => c.spec?.schedule), col('Timezone', (c) => c.spec?.timeZone ?? '<none>'), col('Suspend', (c) => String(c.spec?.suspend ?? false)),
    col('Active', (c) => (c.status?.active ?? []).length, 0, 'integer'), col('Last Schedule', (c) => c.status?.lastScheduleTime ?? '<none>'), ageCol,
  ],
  Service: [
    col('Type', (s) => s.spec?.type ?? 'ClusterIP'), col('Cluster-IP', (s) => s.spec?.clusterIP ?? '<none>'),
    col('External-IP', (s) => s.status?.loadBalancer?.ingress?.[0]?.ip ?? '<none>'),
    col('Port(s)', (s) => (s.spec?.ports ?? []).map((p: Loose) => `${p.port}${p.nodePort ? ':' + p.nodePort : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>'),
    ageCol, col('Selector', (s) => selectorText(s.spec?.selector), 1),
  ],
  Node: [
    col('Status', (n) => {
      const ready = ((n.status?.conditions ?? []) as Loose[]).find((c) => c.type === 'Ready');
      const s = ready?.status === 'True' ? 'Ready' : 'NotReady';
      return n.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
    }),
    col('Roles', (n) => Object.keys(n.metadata.labels ?? {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.split('/')[1]).join(',') || '<none>'),
    ageCol, col('Version', (n) => n.status?.nodeInfo?.kubeletVersion ?? ''),
    col('Internal-IP', (n) => ((n.status?.addresses ?? []) as Loose[]).find((a) => a.type === 'InternalIP')?.address ?? '<none>', 1),
  ],
  Namespace: [col('Status', (n) => n.status?.phase ?? 'Active'), ageCol],
  ConfigMap: [col('Data', (c) => Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, 0, 'integer'), ageCol],
  Secret: [col('Type', (s) => s.type ?? 'Opaque'), col('Data', (s) => Object.keys(s.data ?? {}).length, 0, 'integer'), ageCol],
  Event: [
    col('Last Seen', (e) => e.lastTimestamp ?? e.eventTime), col('Type', (e) => e.type), col('Reason', (e) => e.reason),
    col('Object', (e) => `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name}`), col('Message', (e) => e.message),
  ],
  PersistentVolumeClaim: [
    col('Status', (p) => p.status?.phase ?? 'Pending'), col('Volume', (p) => p.spec?.volumeName ?? ''),
    col('Capacity', (p) => p.status?.capacity?.storage ?? ''), col('Access Modes', (p) => (p.spec?.accessModes ?? []).join(',')),
    col('StorageClass', (p) => p.spec?.storageClassName ?? ''), ageCol,
  ],
};

function columnsFor(rt: ResourceType): Column[] {
  if (rt.columns?.length) {
    const custom = rt.columns.map((c) => ({ name: c.name, type: c.type, description: c.description ?? c.name, priority: c.priority ?? 0, cell: c.value }));
    return [nameCol, ...custom, ...(custom.some((c) => c.name === 'Age') ? [] : [ageCol])];
  }
  return [nameCol, ...(byKind[rt.group === '' || ['apps', 'batch'].includes(rt.group) ? rt.kind : ''] ?? [ageCol])];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: KObject, include: IncludeObject) {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(rt: ResourceType, items: KObject[], listMeta: Record<string, unknown>, include: IncludeObject = 'Metadata') {
  const columns = columnsFor(rt);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map(({ name, type, format, description, priority }) => ({ name, type, format: format ?? '', description, priority })),
    rows: items.map((o) => ({ cells: columns.map((c) => c.cell(o) ?? ''), object: rowObject(o, include) })),
  };
}

/** True when the Accept header asks for a Table (kubectl get). */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept);
}
