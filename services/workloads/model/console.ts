// The typed fields a console's detail pages show (names follow the Kubernetes API), read from the cached objects:
// containers as a pod template declares them and as a pod runs them, pods, workloads, nodes, Services and Events.
// A Secret's value is never read here: an environment variable from a Secret shows the Secret's name and key only.
import type { StoredObject } from '../../common/k8s/object.js';
import { authorize, type Viewer } from '../../common/authz.js';
import { cacheOf, type ModelDeps } from './common.js';
import { containerResources, podResources, sumResources, type ResourcesView } from './quantities.js';

// ---------------------------------------------------------------- shapes of the stored JSON read here

interface KeyRef {
  name?: string;
  key?: string;
}
interface EnvVarJson {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: KeyRef;
    secretKeyRef?: KeyRef;
    fieldRef?: { fieldPath?: string };
    resourceFieldRef?: { resource?: string; containerName?: string };
  };
}
interface ProbeJson {
  httpGet?: { path?: string; port?: number | string; host?: string; scheme?: string };
  tcpSocket?: { port?: number | string; host?: string };
  exec?: { command?: string[] };
  grpc?: { port?: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}
/** A container of a pod spec or template. */
export interface ContainerJson {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  resources?: unknown;
  env?: EnvVarJson[];
  envFrom?: { prefix?: string; configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  command?: string[];
  args?: string[];
  imagePullPolicy?: string;
  livenessProbe?: ProbeJson;
  readinessProbe?: ProbeJson;
  startupProbe?: ProbeJson;
}
/** A container's entry in a pod's status. */
export interface ContainerStatusJson {
  name: string;
  imageID?: string;
  state?: Record<string, { startedAt?: string; message?: string; exitCode?: number; reason?: string } | undefined>;
  lastState?: { terminated?: Record<string, unknown> };
}
interface ConditionJson {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

// ---------------------------------------------------------------- containers

export interface EnvVarView {
  name: string;
  value: string | null;
  fromConfigMap: string | null;
  fromSecret: string | null;
  key: string | null;
  fieldPath: string | null;
  resourceField: string | null;
}

/** An environment variable: its literal value, or where it comes from (never a Secret's value: it is not read). */
function envVarView(e: EnvVarJson): EnvVarView {
  const from = e.valueFrom ?? {};
  return {
    name: e.name,
    value: e.value ?? null,
    fromConfigMap: from.configMapKeyRef?.name ?? null,
    fromSecret: from.secretKeyRef?.name ?? null,
    key: from.configMapKeyRef?.key ?? from.secretKeyRef?.key ?? null,
    fieldPath: from.fieldRef?.fieldPath ?? null,
    resourceField: from.resourceFieldRef?.resource ?? null,
  };
}

export interface ProbeView {
  kind: 'HTTPGet' | 'TCPSocket' | 'Exec' | 'GRPC' | 'Unknown';
  path: string | null;
  port: string | null;
  host: string | null;
  scheme: string | null;
  command: string[] | null;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

/** A probe, with the API server's defaults where the object leaves a period out (10 s, 1 s timeout, 1 and 3). */
function probeView(p: ProbeJson | undefined): ProbeView | null {
  if (!p) return null;
  const port = p.httpGet?.port ?? p.tcpSocket?.port ?? p.grpc?.port;
  return {
    kind: p.httpGet ? 'HTTPGet' : p.tcpSocket ? 'TCPSocket' : p.exec ? 'Exec' : p.grpc ? 'GRPC' : 'Unknown',
    path: p.httpGet?.path ?? null,
    port: port === undefined ? null : String(port),
    host: p.httpGet?.host ?? p.tcpSocket?.host ?? null,
    scheme: p.httpGet ? (p.httpGet.scheme ?? 'HTTP') : null,
    command: p.exec?.command ?? null,
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds ?? 10,
    timeoutSeconds: p.timeoutSeconds ?? 1,
    successThreshold: p.successThreshold ?? 1,
    failureThreshold: p.failureThreshold ?? 3,
  };
}

/** The fields of a container as its spec declares it (a template's ContainerSpec, and a pod's Container). */
export const containerSpecView = {
  name: (c: ContainerJson) => c.name,
  image: (c: ContainerJson) => c.image ?? '',
  ports: (c: ContainerJson) =>
    (c.ports ?? []).map((p) => ({
      name: p.name ?? null,
      containerPort: p.containerPort,
      protocol: p.protocol ?? 'TCP',
    })),
  resources: (c: ContainerJson): ResourcesView => containerResources(c.resources),
  env: (c: ContainerJson) => (c.env ?? []).map(envVarView),
  envFrom: (c: ContainerJson) =>
    (c.envFrom ?? []).map((e) => ({
      prefix: e.prefix ?? null,
      configMap: e.configMapRef?.name ?? null,
      secret: e.secretRef?.name ?? null,
    })),
  volumeMounts: (c: ContainerJson) =>
    (c.volumeMounts ?? []).map((m) => ({
      name: m.name,
      mountPath: m.mountPath,
      readOnly: Boolean(m.readOnly),
      subPath: m.subPath ?? null,
    })),
  command: (c: ContainerJson) => c.command ?? [],
  args: (c: ContainerJson) => c.args ?? [],
  imagePullPolicy: (c: ContainerJson) => c.imagePullPolicy ?? null,
  livenessProbe: (c: ContainerJson) => probeView(c.livenessProbe),
  readinessProbe: (c: ContainerJson) => probeView(c.readinessProbe),
  startupProbe: (c: ContainerJson) => probeView(c.startupProbe),
};

/** What a pod's container adds to its spec: its live state from the pod's status. */
export const containerStatusView = {
  imageID: (s: ContainerStatusJson | undefined) => s?.imageID || null,
  /** The last termination, when the container restarted. */
  lastState: (s: ContainerStatusJson | undefined) => s?.lastState?.terminated ?? null,
  startedAt: (s: ContainerStatusJson | undefined) =>
    s?.state?.running?.startedAt ?? s?.state?.terminated?.startedAt ?? null,
  message: (s: ContainerStatusJson | undefined) => s?.state?.waiting?.message ?? s?.state?.terminated?.message ?? null,
  exitCode: (s: ContainerStatusJson | undefined) => s?.state?.terminated?.exitCode ?? null,
};

// ---------------------------------------------------------------- conditions, pods

export const conditionsOf = (status: { conditions?: ConditionJson[] } | undefined) =>
  (status?.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason ?? null,
    message: c.message ?? null,
    lastTransitionTime: c.lastTransitionTime ?? null,
  }));

const VOLUME_REFERENCES: Record<string, (source: Record<string, string | undefined>) => string | undefined> = {
  configMap: (s) => s.name,
  secret: (s) => s.secretName,
  persistentVolumeClaim: (s) => s.claimName,
};

/**
 * The QoS class as the kubelet derives it (when the status does not carry it yet): BestEffort without any cpu or
 * memory request or limit, Guaranteed when every container limits cpu and memory and requests what it limits, else
 * Burstable.
 */
function qosOf(pod: StoredObject): string {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])] as ContainerJson[];
  const views = all.map((c) => containerResources(c.resources));
  // Only cpu and memory count (the QoS compute resources).
  const none = (q: { cpu: string | null; memory: string | null }) => q.cpu === null && q.memory === null;
  if (views.every((v) => none(v.requests) && none(v.limits))) return 'BestEffort';
  const guaranteed = views.every((v) =>
    (['cpu', 'memory'] as const).every((r) => {
      const limit = v.limits.all[r];
      const request = v.requests.all[r];
      const parsed = r === 'cpu' ? v.limits.cpuCores : v.limits.memoryBytes;
      const asked = r === 'cpu' ? v.requests.cpuCores : v.requests.memoryBytes;
      return limit !== undefined && (request === undefined || parsed === asked);
    }),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export const podSpecView = {
  conditions: (p: StoredObject) => conditionsOf(p.status),
  qosClass: (p: StoredObject): string => p.status?.qosClass ?? qosOf(p),
  hostIP: (p: StoredObject): string | null => p.status?.hostIP ?? null,
  ips: (p: StoredObject): string[] => {
    const ips = ((p.status?.podIPs ?? []) as { ip?: string }[]).map((x) => x.ip ?? '').filter(Boolean);
    return ips.length ? ips : p.status?.podIP ? [String(p.status.podIP)] : [];
  },
  serviceAccount: (p: StoredObject): string | null => p.spec?.serviceAccountName ?? p.spec?.serviceAccount ?? null,
  priorityClassName: (p: StoredObject): string | null => p.spec?.priorityClassName ?? null,
  volumes: (p: StoredObject) =>
    ((p.spec?.volumes ?? []) as Record<string, unknown>[]).map((v) => {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      const source = (v[kind] ?? {}) as Record<string, string | undefined>;
      const ref = VOLUME_REFERENCES[kind]?.(source) ?? null;
      return {
        name: String(v.name),
        kind,
        configMapName: kind === 'configMap' ? ref : null,
        secretName: kind === 'secret' ? ref : null,
        claimName: kind === 'persistentVolumeClaim' ? ref : null,
      };
    }),
  tolerations: (p: StoredObject) =>
    ((p.spec?.tolerations ?? []) as Record<string, string | number | undefined>[]).map((t) => ({
      key: t.key ?? null,
      operator: t.operator ?? 'Equal',
      value: t.value ?? null,
      effect: t.effect ?? null,
      tolerationSeconds: t.tolerationSeconds ?? null,
    })),
  nodeSelector: (p: StoredObject): Record<string, string> => p.spec?.nodeSelector ?? {},
  resources: (p: StoredObject): ResourcesView => podResources(p),
};

/** A pod's containers (or init containers) with their status entries, for the Container type's fields. */
export interface PodContainer {
  spec: ContainerJson;
  status: ContainerStatusJson | undefined;
}

// ---------------------------------------------------------------- workloads

/** The pod template's spec of a workload (a CronJob's through its job template). */
export function templateSpecOf(w: StoredObject): { containers?: ContainerJson[]; initContainers?: ContainerJson[] } {
  return (w.kind === 'CronJob' ? w.spec?.jobTemplate?.spec?.template?.spec : w.spec?.template?.spec) ?? {};
}

const intOrString = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));

export const workloadSpecView = {
  containers: (w: StoredObject) => templateSpecOf(w).containers ?? [],
  initContainers: (w: StoredObject) => templateSpecOf(w).initContainers ?? [],
  images: (w: StoredObject) => (templateSpecOf(w).containers ?? []).map((c) => c.image ?? ''),
  conditions: (w: StoredObject) => conditionsOf(w.status),
  /** Deployments' strategy, StatefulSets' and DaemonSets' updateStrategy (type RollingUpdate when left out). */
  strategy: (w: StoredObject) => {
    if (w.kind !== 'Deployment' && w.kind !== 'StatefulSet' && w.kind !== 'DaemonSet') return null;
    const s = (w.kind === 'Deployment' ? w.spec?.strategy : w.spec?.updateStrategy) ?? {};
    const rolling = s.rollingUpdate ?? {};
    return {
      kind: s.type ?? 'RollingUpdate',
      maxSurge: intOrString(rolling.maxSurge),
      maxUnavailable: intOrString(rolling.maxUnavailable),
      partition: typeof rolling.partition === 'number' ? rolling.partition : null,
    };
  },
  /**
   * Replicas not available: a Deployment's status.unavailableReplicas, a DaemonSet's numberUnavailable, a
   * StatefulSet's desired replicas less its available ones; null for Jobs and CronJobs.
   */
  unavailableReplicas: (w: StoredObject): number | null => {
    if (w.kind === 'Deployment') return w.status?.unavailableReplicas ?? 0;
    if (w.kind === 'DaemonSet') return w.status?.numberUnavailable ?? 0;
    if (w.kind === 'StatefulSet') return Math.max(0, (w.spec?.replicas ?? 1) - (w.status?.availableReplicas ?? 0));
    return null;
  },
  generation: (w: StoredObject): number | null => w.metadata.generation ?? null,
  observedGeneration: (w: StoredObject): number | null => w.status?.observedGeneration ?? null,
  startTime: (w: StoredObject): string | null => w.status?.startTime ?? null,
  completionTime: (w: StoredObject): string | null => w.status?.completionTime ?? null,
};

// ---------------------------------------------------------------- nodes

/** Phases of pods that hold no resources any more (kubectl describe node counts the others). */
const TERMINATED = new Set(['Succeeded', 'Failed']);

export const nodeSpecView = {
  conditions: (n: StoredObject) => conditionsOf(n.status),
  taints: (n: StoredObject): unknown[] => n.spec?.taints ?? [],
  addresses: (n: StoredObject) =>
    ((n.status?.addresses ?? []) as { type: string; address: string }[]).map((a) => ({
      type: a.type,
      address: a.address,
    })),
  osImage: (n: StoredObject): string | null => n.status?.nodeInfo?.osImage ?? null,
  kernelVersion: (n: StoredObject): string | null => n.status?.nodeInfo?.kernelVersion ?? null,
  containerRuntimeVersion: (n: StoredObject): string | null => n.status?.nodeInfo?.containerRuntimeVersion ?? null,
  architecture: (n: StoredObject): string | null => n.status?.nodeInfo?.architecture ?? null,
  operatingSystem: (n: StoredObject): string | null => n.status?.nodeInfo?.operatingSystem ?? null,
};

/**
 * What the pods on a node request and limit, summed over its pods that are not finished (as `kubectl describe node`
 * counts them), from the pod cache's node index.
 */
export function allocatedOnNode(deps: ModelDeps, viewer: Viewer, node: StoredObject): ResourcesView {
  authorize(viewer, 'read');
  const pods = cacheOf(deps, 'Pod')
    .byIndex('node', node.metadata.name)
    .filter((p) => !TERMINATED.has(p.status?.phase));
  return sumResources(pods.map(podResources));
}

// ---------------------------------------------------------------- Services and Events

export const serviceSpecView = {
  servicePorts: (s: StoredObject) =>
    ((s.spec?.ports ?? []) as Record<string, string | number | undefined>[]).map((p) => ({
      name: p.name ?? null,
      port: Number(p.port),
      // The API server defaults targetPort to the port.
      targetPort: intOrString(p.targetPort ?? p.port),
      nodePort: p.nodePort === undefined ? null : Number(p.nodePort),
      protocol: p.protocol ?? 'TCP',
      appProtocol: p.appProtocol ?? null,
    })),
};

export interface EndpointAddressView {
  ip: string;
  nodeName: string | null;
  pod: StoredObject;
}

/**
 * The addresses behind a Service as the endpoints controller sets them from the pods its selector matches: pods with
 * an IP that are neither finished nor being deleted; ready ones (Ready condition True, or every one when the Service
 * publishes not-ready addresses) and the others. None for a Service without selector.
 */
export function serviceEndpoints(
  pods: StoredObject[],
  service: StoredObject,
): { ready: EndpointAddressView[]; notReady: EndpointAddressView[] } {
  const ready: EndpointAddressView[] = [];
  const notReady: EndpointAddressView[] = [];
  const publishAll = Boolean(service.spec?.publishNotReadyAddresses);
  for (const pod of pods) {
    const ip = pod.status?.podIP as string | undefined;
    if (!ip || TERMINATED.has(pod.status?.phase) || (pod.metadata.deletionTimestamp && !publishAll)) continue;
    const isReady =
      publishAll ||
      ((pod.status?.conditions ?? []) as ConditionJson[]).some((c) => c.type === 'Ready' && c.status === 'True');
    (isReady ? ready : notReady).push({ ip, nodeName: pod.spec?.nodeName ?? null, pod });
  }
  const byIp = (a: EndpointAddressView, b: EndpointAddressView) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);
  return { ready: ready.sort(byIp), notReady: notReady.sort(byIp) };
}

export const eventSpecView = {
  firstSeen: (e: StoredObject): string | null =>
    (e.firstTimestamp as string | undefined) ??
    (e.eventTime as string | undefined) ??
    e.metadata.creationTimestamp ??
    null,
  lastSeen: (e: StoredObject): string | null =>
    (e.lastTimestamp as string | undefined) ??
    (e.series as { lastObservedTime?: string } | undefined)?.lastObservedTime ??
    (e.eventTime as string | undefined) ??
    e.metadata.creationTimestamp ??
    null,
  reportingController: (e: StoredObject): string | null =>
    (e.reportingController as string | undefined) ||
    (e.reportingComponent as string | undefined) ||
    (e.source as { component?: string } | undefined)?.component ||
    null,
  reportingInstance: (e: StoredObject): string | null =>
    (e.reportingInstance as string | undefined) || (e.source as { host?: string } | undefined)?.host || null,
};
