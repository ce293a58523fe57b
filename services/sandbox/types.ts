// The sandbox's object types: the shared KObject, the kinds whose data sit beside metadata, and (api-types.ts)
// typed views of the specs and statuses it reads.
import type { KObject, ObjectReference } from '../common/k8s/object.js';

// The typed views of specs and statuses, and JSON values.
export type * from './api-types.js';

export type { KObject, ManagedFieldsEntry, ObjectMeta, ObjectReference, OwnerReference } from '../common/k8s/object.js';

// The kinds whose data sit beside metadata rather than in spec and status.

/** core/v1 Event (events.k8s.io/v1's series and reporting fields included). */
export interface KEvent extends KObject {
  involvedObject?: ObjectReference;
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  source?: { component?: string; host?: string };
  series?: { count?: number; lastObservedTime?: string };
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  reportingComponent?: string;
  reportingController?: string;
  reportingInstance?: string;
}

/** Secret and ConfigMap. */
export interface KData extends KObject {
  type?: string;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  stringData?: Record<string, string>;
  immutable?: boolean;
}

/** apps/v1 ControllerRevision: a snapshot of a StatefulSet's or DaemonSet's template. */
export interface KRevision extends KObject {
  revision?: number;
  data?: { spec?: KObject['spec']; [key: string]: unknown };
}

/** storage.k8s.io/v1 StorageClass. */
export interface KStorageClass extends KObject {
  provisioner?: string;
  reclaimPolicy?: string;
  volumeBindingMode?: string;
  parameters?: Record<string, string>;
}

/** rbac.authorization.k8s.io/v1 RoleBinding and ClusterRoleBinding. */
export interface KBinding extends KObject {
  roleRef?: { apiGroup?: string; kind?: string; name?: string };
  subjects?: { apiGroup?: string; kind: string; name: string; namespace?: string }[];
}

/** core/v1 ServiceAccount. */
export interface KServiceAccount extends KObject {
  secrets?: ObjectReference[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
