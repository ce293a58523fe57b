// The kinds the workloads subgraph caches: the kinds table (apiVersion and cluster-wide path of each), which kinds
// readiness waits for, and what the caches keep of an object (Secrets lose their values on the way in). Objects are
// services/common/k8s/object.ts' StoredObject (a KObject as reads from the API server hand it over).
import type { StoredObject } from '../../common/k8s/object.js';

export type KindName =
  | 'Namespace'
  | 'Node'
  | 'Pod'
  | 'Deployment'
  | 'ReplicaSet'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'Job'
  | 'CronJob'
  | 'Event'
  | 'Service'
  | 'Ingress'
  | 'ConfigMap'
  | 'Secret'
  | 'ServiceAccount'
  | 'PersistentVolumeClaim'
  | 'PersistentVolume'
  | 'StorageClass'
  | 'HorizontalPodAutoscaler'
  | 'NetworkPolicy'
  | 'CustomResourceDefinition';

interface KindInfo {
  apiVersion: string;
  /** The cluster-wide collection path. */
  path: string;
}

export const KINDS: Record<KindName, KindInfo> = {
  Namespace: { apiVersion: 'v1', path: '/api/v1/namespaces' },
  Node: { apiVersion: 'v1', path: '/api/v1/nodes' },
  Pod: { apiVersion: 'v1', path: '/api/v1/pods' },
  Deployment: { apiVersion: 'apps/v1', path: '/apis/apps/v1/deployments' },
  ReplicaSet: { apiVersion: 'apps/v1', path: '/apis/apps/v1/replicasets' },
  StatefulSet: { apiVersion: 'apps/v1', path: '/apis/apps/v1/statefulsets' },
  DaemonSet: { apiVersion: 'apps/v1', path: '/apis/apps/v1/daemonsets' },
  Job: { apiVersion: 'batch/v1', path: '/apis/batch/v1/jobs' },
  CronJob: { apiVersion: 'batch/v1', path: '/apis/batch/v1/cronjobs' },
  Event: { apiVersion: 'v1', path: '/api/v1/events' },
  Service: { apiVersion: 'v1', path: '/api/v1/services' },
  Ingress: { apiVersion: 'networking.k8s.io/v1', path: '/apis/networking.k8s.io/v1/ingresses' },
  ConfigMap: { apiVersion: 'v1', path: '/api/v1/configmaps' },
  Secret: { apiVersion: 'v1', path: '/api/v1/secrets' },
  ServiceAccount: { apiVersion: 'v1', path: '/api/v1/serviceaccounts' },
  PersistentVolumeClaim: { apiVersion: 'v1', path: '/api/v1/persistentvolumeclaims' },
  PersistentVolume: { apiVersion: 'v1', path: '/api/v1/persistentvolumes' },
  StorageClass: { apiVersion: 'storage.k8s.io/v1', path: '/apis/storage.k8s.io/v1/storageclasses' },
  HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', path: '/apis/autoscaling/v2/horizontalpodautoscalers' },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', path: '/apis/networking.k8s.io/v1/networkpolicies' },
  CustomResourceDefinition: {
    apiVersion: 'apiextensions.k8s.io/v1',
    path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  },
};

/**
 * The kinds the contract cannot do without: readiness waits for their caches. The others are optional: a cluster may
 * forbid listing them (RBAC, 403) or not serve their group/version (404); such a kind is marked unavailable, its
 * fields answer an error, and readiness does not wait for it.
 */
export const CORE_KINDS: ReadonlySet<KindName> = new Set<KindName>([
  'Namespace',
  'Node',
  'Pod',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
]);

/** Why an optional kind has no cache: its LIST (or watch) answered 403 Forbidden or 404 Not Found. */
export interface KindUnavailable {
  status: 403 | 404;
  message: string;
}

/** The annotation `kubectl apply` (client-side) writes: a full copy of the object, a Secret's values included. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the caches keep of an object. Secrets lose their values on the way in (the keys stay, with empty values; the
 * last-applied annotation, which repeats them, goes): the workloads subgraph never holds a Secret value in memory.
 */
export function sanitize(kind: KindName, o: StoredObject): StoredObject {
  if (kind !== 'Secret') return o;
  const keys = [
    ...new Set([
      ...Object.keys((o.data as object | undefined) ?? {}),
      ...Object.keys((o.stringData as object | undefined) ?? {}),
    ]),
  ];
  const { data: _data, stringData: _stringData, ...rest } = o;
  const annotations =
    o.metadata.annotations && LAST_APPLIED in o.metadata.annotations
      ? Object.fromEntries(Object.entries(o.metadata.annotations).filter(([k]) => k !== LAST_APPLIED))
      : o.metadata.annotations;
  return {
    ...rest,
    metadata: { ...o.metadata, ...(annotations ? { annotations } : {}) },
    ...(keys.length ? { data: Object.fromEntries(keys.map((k) => [k, ''])) } : {}),
  };
}

export const keyOf = (o: { metadata: { namespace?: string; name: string } }) =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
