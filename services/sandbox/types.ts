// Kubernetes objects are open-ended JSON of dozens of kinds (and custom resources); the sandbox reads and
// writes deep optional paths of them, so their bodies are typed loosely on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
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
  managedFields?: Loose[];
  [key: string]: Loose;
}

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Loose;
  status?: Loose;
  [key: string]: Loose;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
