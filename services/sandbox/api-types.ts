// Typed views of the parts of Kubernetes objects the sandbox reads and writes: the pod spec and status, workload
// specs and statuses, nodes, services, endpoints. Each view names only the fields some code here uses; the rest of
// an object is carried through as it came (`unknown`). The views extend KObject, whose spec and status are open, so
// any stored object can be read through the view of its kind. JSON values whose shape is not known (patches, schemas,
// request bodies) are `Json`.
import type { KObject, ObjectMeta } from '../common/k8s/object.js';

// ------------------------------------------------------------------ plain JSON

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json | undefined;
}

// ------------------------------------------------------------------ shared pieces

/** A status condition, as pods, nodes, namespaces and workloads carry them. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
  observedGeneration?: number;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

/** A node selector requirement (matchExpressions on labels, matchFields on metadata.name). */
export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

// ------------------------------------------------------------------ pods

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
  hostPort?: number;
  hostIP?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  [key: string]: unknown;
}

export interface ResourceRequirements {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
  [key: string]: unknown;
}

export interface Probe {
  initialDelaySeconds?: number;
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  ports?: ContainerPort[];
  env?: EnvVar[];
  resources?: ResourceRequirements;
  volumeMounts?: VolumeMount[];
  restartPolicy?: string;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
  securityContext?: Record<string, unknown>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  [key: string]: unknown;
}

export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  [key: string]: unknown;
}

export interface PodSpec {
  // Required by validation, which is also what reads objects that lack it.
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Volume[];
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  restartPolicy?: string;
  hostNetwork?: boolean;
  hostname?: string;
  subdomain?: string;
  serviceAccountName?: string;
  serviceAccount?: string;
  schedulerName?: string;
  priority?: number;
  terminationGracePeriodSeconds?: number;
  readinessGates?: { conditionType: string }[];
  securityContext?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    exitCode: number;
    reason?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
    containerID?: string;
    signal?: number;
  };
}

export interface ContainerStatus {
  name: string;
  image?: string;
  imageID?: string;
  containerID?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
  [key: string]: unknown;
}

export interface PodStatus {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: Condition[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  ephemeralContainerStatuses?: ContainerStatus[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  qosClass?: string;
  nominatedNodeName?: string;
  [key: string]: unknown;
}

export interface KPod extends KObject {
  spec?: PodSpec;
  status?: PodStatus;
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec?: PodSpec;
}

// ------------------------------------------------------------------ nodes

export interface NodeAddress {
  type: string;
  address: string;
}

export interface KNode extends KObject {
  spec?: { taints?: Taint[]; unschedulable?: boolean; podCIDR?: string; [key: string]: unknown };
  status?: {
    conditions?: Condition[];
    addresses?: NodeAddress[];
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    nodeInfo?: Record<string, string>;
    [key: string]: unknown;
  };
}

// ------------------------------------------------------------------ workloads

/** An owner's short reference to an object it tracks (CronJob.status.active). */
export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

/** The status a workload controller writes: counts, revisions, conditions (per kind, a subset of these). */
export interface WorkloadStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  updatedReplicas?: number;
  currentReplicas?: number;
  fullyLabeledReplicas?: number;
  terminatingReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  conditions?: Condition[];
  [key: string]: unknown;
}

export interface RollingUpdate {
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  partition?: number;
}

/** Deployment, ReplicaSet, StatefulSet, DaemonSet. */
export interface KWorkload extends KObject {
  spec?: {
    replicas?: number;
    selector?: LabelSelector;
    template?: PodTemplateSpec;
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
    progressDeadlineSeconds?: number;
    strategy?: { type?: string; rollingUpdate?: RollingUpdate };
    updateStrategy?: { type?: string; rollingUpdate?: RollingUpdate };
    serviceName?: string;
    podManagementPolicy?: string;
    ordinals?: { start?: number };
    volumeClaimTemplates?: KObject[];
    persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
    [key: string]: unknown;
  };
  status?: WorkloadStatus;
}

export interface JobStatus {
  active?: number;
  ready?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  startTime?: string;
  completionTime?: string;
  completedIndexes?: string;
  failedIndexes?: string;
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
  conditions?: Condition[];
  [key: string]: unknown;
}

export interface KJob extends KObject {
  spec?: {
    parallelism?: number;
    completions?: number;
    completionMode?: string;
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    suspend?: boolean;
    selector?: LabelSelector;
    manualSelector?: boolean;
    template?: PodTemplateSpec;
    [key: string]: unknown;
  };
  status?: JobStatus;
}

export interface KCronJob extends KObject {
  spec?: {
    schedule?: string;
    timeZone?: string;
    suspend?: boolean;
    concurrencyPolicy?: string;
    startingDeadlineSeconds?: number;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    jobTemplate?: { metadata?: ObjectMeta; spec?: KJob['spec'] };
    [key: string]: unknown;
  };
  status?: {
    active?: ObjectRef[];
    lastScheduleTime?: string;
    lastSuccessfulTime?: string;
    [key: string]: unknown;
  };
}

// ------------------------------------------------------------------ services and endpoints

export interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

export interface KService extends KObject {
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    externalIPs?: string[];
    [key: string]: unknown;
  };
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] }; [key: string]: unknown };
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectRef;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export interface KEndpoints extends KObject {
  subsets?: EndpointSubset[];
}

// ------------------------------------------------------------------ custom resource definitions

export interface CRDVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: JsonObject };
  subresources?: {
    status?: object;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: {
    name: string;
    type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
    jsonPath: string;
    priority?: number;
    description?: string;
    format?: string;
  }[];
}

export interface KCustomResourceDefinition extends KObject {
  spec?: {
    group?: string;
    scope?: string;
    names?: { kind?: string; plural?: string; singular?: string; shortNames?: string[]; categories?: string[] };
    versions?: CRDVersion[];
    [key: string]: unknown;
  };
}
