// A Kubernetes object as JSON, the one shape the services and the sandbox read and write: timestamps are strings and
// there are no client-side classes. Metadata is typed; the kind-specific parts are typed by whoever reads them.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** One entry of metadata.managedFields: which fields a manager owns (FieldsV1), as the API server records it. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  // The rest of metadata is carried through as it came.
  [key: string]: unknown;
}

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  // spec and status differ per kind (and custom resources have any shape): readers go through them defensively.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- differs per kind, as above
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- differs per kind, as above
  status?: any;
  [key: string]: unknown;
}

/** core/v1 ObjectReference: what an Event is about, what a PersistentVolume is bound to. */
export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** Metadata of an object the API server has stored: it always has a name (generateName was resolved at create). */
export type StoredObjectMeta = ObjectMeta & { name: string };

/**
 * A KObject as reads from the API server hand it over (GET, LIST, watch: what an informer caches): the name is always
 * there, but a LIST's items carry no apiVersion and kind (the list does), so those may be missing.
 */
export interface StoredObject extends Partial<Pick<KObject, 'apiVersion' | 'kind'>>, Pick<KObject, 'spec' | 'status'> {
  metadata: StoredObjectMeta;
  [key: string]: unknown;
}
