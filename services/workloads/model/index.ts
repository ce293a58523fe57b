// The workloads model: the one API resolvers call. Every root field and entity lookup takes the Viewer first and
// authorizes through viewer.ts; reads come from the informer caches, writes through the Kubernetes client.
import type { CustomObjectCaches } from '../clients/custom-objects.js';
import type { IndexFn } from '../clients/indexed-cache.js';
import type { StoredObject } from '../../common/k8s/object.js';
import type { KindName } from '../clients/kinds.js';
import type { KubeClient } from '../clients/kube.js';
import { annotationsOf, labelsOf, namespacesOfWorkspace, ownersOf, WORKSPACE_LABEL, yamlOf } from './common.js';
import type { AccountsClient } from '../clients/accounts.js';
import type { Tenancy } from '../../common/authz.js';
import * as apply from './apply.js';
import * as views from './console.js';
import * as mutations from './mutations.js';
import * as nodes from './nodes.js';
import * as pods from './pods.js';
import * as projects from './projects.js';
import * as resources from './resources.js';
import type { Page } from './query.js';
import type { Viewer } from '../../common/authz.js';
import * as workloads from './workloads.js';
import { LiveChanges, type LiveOptions } from './live.js';
import { listToken } from './resume-token.js';
import { guarded, WORKLOADS_MODEL_CHECKS } from './arguments.js';
import * as subscriptions from './subscriptions.js';

export type { Viewer } from '../../common/authz.js';
export { DEV_VIEWER, authorize } from '../../common/authz.js';
export type { Page } from './query.js';
export type { ContainerView, PodListArgs, PodFilterInput, PodOrderInput } from './pods.js';
export type { WorkloadListArgs, WorkloadKindEnum, WorkloadRefInput, WorkloadOrderInput } from './workloads.js';
export type { NodeListArgs, NodeOrderInput } from './nodes.js';
export type { LiveEvent, LiveOptions } from './live.js';
export type { PodSubscriptionArgs, WorkloadSubscriptionArgs, EventSubscriptionArgs } from './subscriptions.js';
export type { ProjectListArgs } from './projects.js';
export type { ResourceKind, ResourceListArgs, EventListArgs } from './resources.js';
export { RESOURCE_KINDS } from './resources.js';
export { podStatusIndex } from './pods.js';

/**
 * The computed indexes the model's lists select on, per kind, for the client's caches (KubeClientOptions.indexes):
 * `status` of pods (PodStatus), workloads (WorkloadStatus), namespaces (ProjectStatus), claims and volumes (phase).
 */
export const MODEL_INDEXES: Partial<Record<KindName, Record<string, IndexFn>>> = {
  Pod: { status: pods.podStatusIndex },
  Deployment: { status: workloads.workloadStatusIndex },
  StatefulSet: { status: workloads.workloadStatusIndex },
  DaemonSet: { status: workloads.workloadStatusIndex },
  Job: { status: workloads.workloadStatusIndex },
  CronJob: { status: workloads.workloadStatusIndex },
  Namespace: { status: projects.projectStatusIndex },
  PersistentVolumeClaim: { status: resources.phaseIndex },
  PersistentVolume: { status: resources.phaseIndex },
};

/** Paging arguments of the nested lists (Project.pods, Node.pods, Workload.pods). */
export type NestedPodArgs = Omit<pods.PodListArgs, 'namespace' | 'workspace'>;

/** Any object, by apiVersion, kind, namespace (namespaced kinds) and name. */
export interface GenericRef {
  apiVersion: string;
  kind: string;
  namespace?: string | null;
  name: string;
}

/**
 * Call before the client's informers start (the change feeds must see every event after their first LIST). Every
 * function's names, namespaces, kinds and apiVersions are checked first (arguments.ts), before any client call.
 */
export function createWorkloadsModel(...args: Parameters<typeof buildWorkloadsModel>) {
  return guarded(buildWorkloadsModel(...args), WORKLOADS_MODEL_CHECKS);
}

/** The model's functions, unchecked: only createWorkloadsModel calls this. */
export function buildWorkloadsModel(
  kube: KubeClient,
  customObjects: CustomObjectCaches,
  opts: { live?: LiveOptions; accounts?: AccountsClient } = {},
) {
  const live = new LiveChanges(kube, subscriptions.LIVE_KINDS, opts.live);
  const deps: subscriptions.LiveDeps = { kube, live, customObjects, accounts: opts.accounts };
  /**
   * A page with the token of the snapshot it was served from: the newest change each kind's feed has seen. The feed
   * is fed by the cache's informer in the same synchronous step that changes the cache, and the page was read from
   * the cache in this same step, so the versions are exactly those of what the page shows. Several kinds: each
   * kind's version, in one token (resume-token.ts), so a subscription to any of them resumes exactly after the list.
   */
  const withToken = (kinds: readonly KindName[], page: Page): Page & { resumeToken: string } => ({
    ...page,
    resumeToken: listToken(new Map(kinds.map((k) => [k, live.feed(k).last]))),
  });
  const podPage = (page: Page) => withToken(['Pod'], page);
  const workloadPage = (kind: workloads.WorkloadKindEnum | null | undefined, page: Page) =>
    withToken(
      kind ? [workloads.WORKLOAD_KINDS[kind].kind] : Object.values(workloads.WORKLOAD_KINDS).map((k) => k.kind),
      page,
    );
  return {
    /** Namespace ↔ workspace from the namespace cache (label kubesphere.io/workspace), for workspace roles. */
    tenancy: {
      workspaceOf: (namespace: string) =>
        deps.kube.isSynced('Namespace')
          ? deps.kube.caches.Namespace.get(undefined, namespace)?.metadata.labels?.[WORKSPACE_LABEL]
          : undefined,
      namespacesOf: (workspace: string) =>
        deps.kube.isSynced('Namespace') ? namespacesOfWorkspace(deps, workspace) : [],
      uidOf: (namespace: string) =>
        deps.kube.isSynced('Namespace')
          ? deps.kube.caches.Namespace.get(undefined, namespace)?.metadata.uid
          : undefined,
    } satisfies Tenancy,
    // ---- reads
    pods: (viewer: Viewer, args: pods.PodListArgs): Page => podPage(pods.listPods(deps, viewer, args)),
    pod: (viewer: Viewer, namespace: string, name: string) => pods.getPod(deps, viewer, namespace, name),
    podsOfNode: (viewer: Viewer, node: StoredObject, args: NestedPodArgs) =>
      podPage(pods.podsOfNode(deps, viewer, node.metadata.name, args)),
    podsOfProject: (viewer: Viewer, ns: StoredObject, args: NestedPodArgs) =>
      podPage(pods.podsOfProject(deps, viewer, ns.metadata.name, args)),
    podsOfWorkload: (viewer: Viewer, w: StoredObject, args: NestedPodArgs) =>
      podPage(pods.podsOfWorkload(deps, viewer, w, args)),
    podEvents: (viewer: Viewer, pod: StoredObject) => pods.eventsOfPod(deps, viewer, pod),
    podOwner: (viewer: Viewer, pod: StoredObject) => {
      const w = workloads.ownerWorkloadOfPod(deps, pod);
      return (
        w &&
        workloads.getWorkload(deps, viewer, {
          namespace: w.metadata.namespace!,
          kind: workloads.workloadKindOf(w),
          name: w.metadata.name,
        })
      );
    },
    podNode: (viewer: Viewer, pod: StoredObject) =>
      pod.spec?.nodeName ? nodes.getNode(deps, viewer, String(pod.spec.nodeName)) : null,
    nodes: (viewer: Viewer, args: nodes.NodeListArgs) => nodes.listNodes(deps, viewer, args),
    node: (viewer: Viewer, name: string) => nodes.getNode(deps, viewer, name),
    projects: (viewer: Viewer, args: projects.ProjectListArgs) => projects.listProjects(deps, viewer, args),
    project: (viewer: Viewer, name: string) => projects.getProject(deps, viewer, name),
    projectsOfWorkspace: (viewer: Viewer, workspace: string) => projects.projectsOfWorkspace(deps, viewer, workspace),
    workloads: (viewer: Viewer, args: workloads.WorkloadListArgs) =>
      workloadPage(args.kind, workloads.listWorkloads(deps, viewer, args)),
    workload: (viewer: Viewer, ref: workloads.WorkloadRefInput) => workloads.getWorkload(deps, viewer, ref),
    workloadsOfProject: (
      viewer: Viewer,
      ns: StoredObject,
      args: Omit<workloads.WorkloadListArgs, 'namespace' | 'workspace'>,
    ) => workloadPage(args.kind, workloads.listWorkloads(deps, viewer, { ...args, namespace: ns.metadata.name })),

    resources: (viewer: Viewer, kind: resources.ResourceKind, args: resources.ResourceListArgs) =>
      resources.listResources(deps, viewer, kind, args),
    resource: (viewer: Viewer, kind: resources.ResourceKind, namespace: string | undefined, name: string) =>
      resources.getResource(deps, viewer, kind, namespace, name),
    events: (viewer: Viewer, args: resources.EventListArgs) =>
      withToken(['Event'], resources.listEvents(deps, viewer, args)),
    podsOfService: (viewer: Viewer, svc: StoredObject, args: { first?: number | null; after?: string | null }) =>
      podPage(resources.podsOfService(deps, viewer, svc, args)),
    serviceEndpoints: (viewer: Viewer, svc: StoredObject) =>
      views.serviceEndpoints(
        resources.podsOfService(deps, viewer, svc, {}).edges.map((e) => e.node),
        svc,
      ),
    nodeAllocated: (viewer: Viewer, node: StoredObject) => views.allocatedOnNode(deps, viewer, node),
    servicesOfPod: (viewer: Viewer, pod: StoredObject) => resources.servicesOfPod(deps, viewer, pod),
    replicaSetsOfDeployment: (viewer: Viewer, d: StoredObject) => resources.replicaSetsOfDeployment(deps, viewer, d),
    secretValues: (viewer: Viewer, secret: StoredObject) => resources.secretValues(deps, viewer, secret),
    crdObjects: (
      viewer: Viewer,
      crd: StoredObject,
      args: { namespace?: string | null; first?: number | null; after?: string | null },
    ) => resources.objectsOfCrd(deps, viewer, crd, args),

    // ---- views of objects (pure: what the fields show)
    meta: { labels: labelsOf, annotations: annotationsOf, owners: ownersOf, yaml: yamlOf },
    revisionOf: resources.revisionOf,
    phaseOf: resources.phaseOf,
    crdVersion: resources.crdVersion,
    podView: pods.podView,
    podSpecView: views.podSpecView,
    containerSpecView: views.containerSpecView,
    containerStatusView: views.containerStatusView,
    workloadSpecView: views.workloadSpecView,
    nodeSpecView: views.nodeSpecView,
    serviceSpecView: views.serviceSpecView,
    eventSpecView: views.eventSpecView,
    nodeView: nodes.nodeView,
    projectView: projects.projectView,
    workloadView: {
      kind: workloads.workloadKindOf,
      status: workloads.workloadStatus,
      counts: workloads.replicaCounts,
      selector: workloads.workloadSelector,
    },

    // ---- live
    subscribePods: (viewer: Viewer, args: subscriptions.PodSubscriptionArgs) =>
      subscriptions.subscribePods(deps, viewer, args),
    subscribeWorkloads: (viewer: Viewer, args: subscriptions.WorkloadSubscriptionArgs) =>
      subscriptions.subscribeWorkloads(deps, viewer, args),
    subscribeEvents: (viewer: Viewer, args: subscriptions.EventSubscriptionArgs) =>
      subscriptions.subscribeEvents(deps, viewer, args),
    liveSubscribers: () => live.subscribers(),

    // ---- writes
    createProject: (viewer: Viewer, workspace: string, name: string, podSecurity?: string | null) =>
      mutations.createProject(deps, viewer, workspace, name, podSecurity),
    deleteProject: (viewer: Viewer, name: string) => mutations.deleteProject(deps, viewer, name),
    applyYaml: (viewer: Viewer, namespace: string | null | undefined, yaml: string, opts?: apply.ApplyOptions) =>
      apply.applyYaml(deps, viewer, namespace, yaml, opts),
    scaleWorkload: (viewer: Viewer, ref: workloads.WorkloadRefInput, replicas: number) =>
      mutations.scaleWorkload(deps, viewer, ref.namespace, ref.kind, ref.name, replicas),
    restartWorkload: (viewer: Viewer, ref: workloads.WorkloadRefInput) =>
      mutations.restartWorkload(deps, viewer, ref.namespace, ref.kind, ref.name),
    deletePod: (viewer: Viewer, namespace: string, name: string) => mutations.deletePod(deps, viewer, namespace, name),
    rollbackDeployment: (viewer: Viewer, namespace: string, name: string, revision: number | null | undefined) =>
      mutations.rollbackDeployment(deps, viewer, namespace, name, revision),
    pauseRollout: (viewer: Viewer, namespace: string, name: string) =>
      mutations.setRolloutPaused(deps, viewer, namespace, name, true),
    resumeRollout: (viewer: Viewer, namespace: string, name: string) =>
      mutations.setRolloutPaused(deps, viewer, namespace, name, false),
    deleteResource: (viewer: Viewer, r: GenericRef) =>
      mutations.deleteResource(deps, viewer, r.apiVersion, r.kind, r.namespace, r.name),
    setLabels: (viewer: Viewer, r: GenericRef, labels: unknown) =>
      mutations.setMetadataMap(deps, viewer, 'labels', r.apiVersion, r.kind, r.namespace, r.name, labels),
    setAnnotations: (viewer: Viewer, r: GenericRef, annotations: unknown) =>
      mutations.setMetadataMap(deps, viewer, 'annotations', r.apiVersion, r.kind, r.namespace, r.name, annotations),
    suspendCronJob: (viewer: Viewer, namespace: string, name: string) =>
      mutations.setCronJobSuspended(deps, viewer, namespace, name, true),
    resumeCronJob: (viewer: Viewer, namespace: string, name: string) =>
      mutations.setCronJobSuspended(deps, viewer, namespace, name, false),
    triggerCronJob: (viewer: Viewer, namespace: string, name: string) =>
      mutations.triggerCronJob(deps, viewer, namespace, name),
    cordonNode: (viewer: Viewer, name: string) => mutations.setNodeUnschedulable(deps, viewer, name, true),
    uncordonNode: (viewer: Viewer, name: string) => mutations.setNodeUnschedulable(deps, viewer, name, false),
  };
}

export type WorkloadsModel = ReturnType<typeof createWorkloadsModel>;
