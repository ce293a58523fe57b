// GraphQL resolvers of the workloads subgraph: arguments in, model calls out. No I/O and no domain rules here.
import { DateTimeScalar, JSONScalar } from '../common/scalars.js';
import type { SubgraphResolvers } from '../common/subgraph-server.js';
import type { ObjectReference, StoredObject } from '../common/k8s/object.js';
import {
  RESOURCE_KINDS,
  type ContainerView,
  type LiveEvent,
  type NestedPodArgs,
  type ResourceKind,
  type Viewer,
  type WorkloadKindEnum,
  type WorkloadsModel,
} from './model/index.js';

export interface WorkloadsContext {
  viewer: Viewer;
}

type Args = Record<string, unknown>;
// Resolver signatures vary per field; the resolver map is checked by the schema at start-up.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL arguments arrive untyped; each resolver casts to the model's argument types
type AnyArgs = any;

/** Root list and get fields of the other kinds. */
const RESOURCE_FIELDS: Record<Exclude<ResourceKind, 'Event'>, [list: string, get: string]> = {
  ReplicaSet: ['replicaSets', 'replicaSet'],
  Service: ['services', 'service'],
  Ingress: ['ingresses', 'ingress'],
  ConfigMap: ['configMaps', 'configMap'],
  Secret: ['secrets', 'secret'],
  ServiceAccount: ['serviceAccounts', 'serviceAccount'],
  PersistentVolumeClaim: ['persistentVolumeClaims', 'persistentVolumeClaim'],
  PersistentVolume: ['persistentVolumes', 'persistentVolume'],
  StorageClass: ['storageClasses', 'storageClass'],
  HorizontalPodAutoscaler: ['horizontalPodAutoscalers', 'horizontalPodAutoscaler'],
  NetworkPolicy: ['networkPolicies', 'networkPolicy'],
  CustomResourceDefinition: ['customResourceDefinitions', 'customResourceDefinition'],
};

const names = (refs: unknown): string[] =>
  Array.isArray(refs) ? refs.map((r: { name?: string }) => r?.name ?? '').filter(Boolean) : [];
const images = (o: StoredObject): string[] =>
  ((o.spec?.template?.spec?.containers ?? []) as { image?: string }[]).map((c) => c.image ?? '');

const TYPE_OF_KIND: Record<string, string> = {
  Deployment: 'Deployment',
  StatefulSet: 'StatefulSet',
  DaemonSet: 'DaemonSet',
  Job: 'Job',
  CronJob: 'CronJob',
};
const KIND_OF_TYPE: Record<string, WorkloadKindEnum> = {
  Deployment: 'DEPLOYMENT',
  StatefulSet: 'STATEFUL_SET',
  DaemonSet: 'DAEMON_SET',
  Job: 'JOB',
  CronJob: 'CRON_JOB',
};

export function createResolvers(model: WorkloadsModel): SubgraphResolvers<WorkloadsContext> {
  const m = model.meta;
  const meta = {
    uid: (o: StoredObject) => o.metadata.uid ?? '',
    resourceVersion: (o: StoredObject) => o.metadata.resourceVersion ?? '',
    createdAt: (o: StoredObject) => o.metadata.creationTimestamp,
    labels: m.labels,
    annotations: m.annotations,
    owners: m.owners,
    yaml: m.yaml,
  };
  const named = { name: (o: StoredObject) => o.metadata.name, namespace: (o: StoredObject) => o.metadata.namespace };
  const workloadFields = {
    ...meta,
    ...named,
    kind: (o: StoredObject) => model.workloadView.kind(o),
    replicas: (o: StoredObject) => model.workloadView.counts(o).replicas,
    readyReplicas: (o: StoredObject) => model.workloadView.counts(o).readyReplicas,
    availableReplicas: (o: StoredObject) => model.workloadView.counts(o).availableReplicas,
    updatedReplicas: (o: StoredObject) => model.workloadView.counts(o).updatedReplicas,
    status: (o: StoredObject) => model.workloadView.status(o),
    selector: (o: StoredObject) => model.workloadView.selector(o),
    pods: (o: StoredObject, args: NestedPodArgs, ctx: WorkloadsContext) => model.podsOfWorkload(ctx.viewer, o, args),
    ...model.workloadSpecView,
  };
  // A pod's Container carries its spec and status entry; the spec's fields read the spec, the others the status.
  const { name: _name, image: _image, ...specFields } = model.containerSpecView;
  const podContainerFields = {
    ...Object.fromEntries(
      Object.entries(specFields).map(([field, view]) => [field, (c: ContainerView) => view(c.spec)]),
    ),
    ...Object.fromEntries(
      Object.entries(model.containerStatusView).map(([field, view]) => [field, (c: ContainerView) => view(c.status)]),
    ),
  };
  /** An entity reference of a concrete workload type: the kind comes from the type when the key lacks it. */
  const workloadReference =
    (type: string) =>
    async (ref: { namespace: string; name: string; kind?: WorkloadKindEnum }, ctx: WorkloadsContext) => {
      const kind = KIND_OF_TYPE[type];
      if (ref.kind && ref.kind !== kind) return null;
      return model.workload(ctx.viewer, { namespace: ref.namespace, kind, name: ref.name });
    };

  const resourceQuery: Record<string, (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => unknown> = {};
  for (const [kind, [list, get]] of Object.entries(RESOURCE_FIELDS) as [ResourceKind, [string, string]][]) {
    resourceQuery[list] = (_, args, ctx) => model.resources(ctx.viewer, kind, args);
    resourceQuery[get] = (_, args, ctx) =>
      model.resource(ctx.viewer, kind, RESOURCE_KINDS[kind] ? args.namespace : undefined, args.name);
  }
  const plain = {
    ...meta,
    ...named,
    spec: (o: StoredObject) => o.spec ?? {},
    status: (o: StoredObject) => o.status ?? null,
  };

  return {
    DateTime: DateTimeScalar,
    JSON: JSONScalar,
    Query: {
      ...resourceQuery,
      events: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.events(ctx.viewer, args),
      projects: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.projects(ctx.viewer, args),
      project: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.project(ctx.viewer, args.name),
      nodes: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.nodes(ctx.viewer, args),
      pods: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.pods(ctx.viewer, args),
      pod: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.pod(ctx.viewer, args.namespace, args.name),
      workloads: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.workloads(ctx.viewer, args),
      workload: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.workload(ctx.viewer, args),
    },
    // Each stream yields LiveEvents; the event types below read the object under their own field name.
    Subscription: {
      podStatusChanged: {
        subscribe: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.subscribePods(ctx.viewer, args),
        resolve: (e: LiveEvent) => e,
      },
      workloadStatusChanged: {
        subscribe: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.subscribeWorkloads(ctx.viewer, args),
        resolve: (e: LiveEvent) => e,
      },
      events: {
        subscribe: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.subscribeEvents(ctx.viewer, args),
        resolve: (e: LiveEvent) => e,
      },
    },
    PodEvent: { pod: (e: LiveEvent) => e.object },
    WorkloadEvent: { workload: (e: LiveEvent) => e.object },
    EventChange: { event: (e: LiveEvent) => e.object },
    Mutation: {
      createProject: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.createProject(ctx.viewer, args.workspace, args.name, args.podSecurity),
      deleteProject: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.deleteProject(ctx.viewer, args.name),
      applyYaml: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.applyYaml(ctx.viewer, args.namespace, args.yaml, { dryRun: args.dryRun, force: args.force }),
      scaleWorkload: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.scaleWorkload(ctx.viewer, args, args.replicas),
      restartWorkload: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.restartWorkload(ctx.viewer, args),
      deletePod: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.deletePod(ctx.viewer, args.namespace, args.name),
      rollbackDeployment: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.rollbackDeployment(ctx.viewer, args.namespace, args.name, args.revision),
      pauseRollout: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.pauseRollout(ctx.viewer, args.namespace, args.name),
      resumeRollout: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.resumeRollout(ctx.viewer, args.namespace, args.name),
      deleteResource: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.deleteResource(ctx.viewer, args),
      setLabels: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.setLabels(ctx.viewer, args, args.labels),
      setAnnotations: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.setAnnotations(ctx.viewer, args, args.annotations),
      suspendCronJob: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.suspendCronJob(ctx.viewer, args.namespace, args.name),
      resumeCronJob: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.resumeCronJob(ctx.viewer, args.namespace, args.name),
      triggerCronJob: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) =>
        model.triggerCronJob(ctx.viewer, args.namespace, args.name),
      cordonNode: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.cordonNode(ctx.viewer, args.name),
      uncordonNode: (_: unknown, args: AnyArgs, ctx: WorkloadsContext) => model.uncordonNode(ctx.viewer, args.name),
    },
    Workspace: {
      // A reference only: whether the workspace exists is accounts' to answer.
      __resolveReference: (ref: { name: string }) => ref,
      projects: (w: { name: string }, _: Args, ctx: WorkloadsContext) => model.projectsOfWorkspace(ctx.viewer, w.name),
    },
    Project: {
      // async: a refused lookup rejects its own item (null + error at _entities.i), not the whole _entities list.
      __resolveReference: async (ref: { name: string }, ctx: WorkloadsContext) => model.project(ctx.viewer, ref.name),
      ...meta,
      name: (o: StoredObject) => o.metadata.name,
      workspaceName: (o: StoredObject) => model.projectView.workspaceName(o),
      phase: (o: StoredObject) => model.projectView.phase(o),
      status: (o: StoredObject) => model.projectView.status(o),
      pods: (o: StoredObject, args: NestedPodArgs, ctx: WorkloadsContext) => model.podsOfProject(ctx.viewer, o, args),
      workloads: (o: StoredObject, args: AnyArgs, ctx: WorkloadsContext) =>
        model.workloadsOfProject(ctx.viewer, o, args),
    },
    Node: {
      // async: a refused lookup rejects its own item (null + error at _entities.i), not the whole _entities list.
      __resolveReference: async (ref: { name: string }, ctx: WorkloadsContext) => model.node(ctx.viewer, ref.name),
      ...meta,
      name: (o: StoredObject) => o.metadata.name,
      ...model.nodeView,
      ...model.nodeSpecView,
      allocatedResources: (o: StoredObject, _: Args, ctx: WorkloadsContext) => model.nodeAllocated(ctx.viewer, o),
      pods: (o: StoredObject, args: NestedPodArgs, ctx: WorkloadsContext) => model.podsOfNode(ctx.viewer, o, args),
    },
    Pod: {
      // async: a refused lookup rejects its own item (null + error at _entities.i), not the whole _entities list.
      __resolveReference: async (ref: { namespace: string; name: string }, ctx: WorkloadsContext) =>
        model.pod(ctx.viewer, ref.namespace, ref.name),
      ...meta,
      ...named,
      ...model.podView,
      ...model.podSpecView,
      node: (o: StoredObject, _: Args, ctx: WorkloadsContext) => model.podNode(ctx.viewer, o),
      owner: (o: StoredObject, _: Args, ctx: WorkloadsContext) => model.podOwner(ctx.viewer, o),
      events: (o: StoredObject, _: Args, ctx: WorkloadsContext) => model.podEvents(ctx.viewer, o),
      services: (o: StoredObject, _: Args, ctx: WorkloadsContext) => model.servicesOfPod(ctx.viewer, o),
    },
    ReplicaSet: {
      ...plain,
      revision: (o: StoredObject) => model.revisionOf(o),
      replicas: (o: StoredObject) => o.spec?.replicas ?? 0,
      readyReplicas: (o: StoredObject) => o.status?.readyReplicas ?? 0,
      availableReplicas: (o: StoredObject) => o.status?.availableReplicas ?? 0,
      images,
    },
    Service: {
      ...plain,
      type: (o: StoredObject) => o.spec?.type ?? 'ClusterIP',
      clusterIP: (o: StoredObject) => o.spec?.clusterIP ?? null,
      ports: (o: StoredObject) => o.spec?.ports ?? [],
      selector: (o: StoredObject) => o.spec?.selector ?? null,
      pods: (o: StoredObject, args: AnyArgs, ctx: WorkloadsContext) => model.podsOfService(ctx.viewer, o, args),
      ...model.serviceSpecView,
      endpoints: (o: StoredObject, _: Args, ctx: WorkloadsContext) => model.serviceEndpoints(ctx.viewer, o),
    },
    Container: podContainerFields,
    ContainerSpec: model.containerSpecView,
    Ingress: {
      ...plain,
      ingressClassName: (o: StoredObject) => o.spec?.ingressClassName ?? null,
      hosts: (o: StoredObject) => [
        ...new Set(
          ((o.spec?.rules ?? []) as { host?: string }[]).map((r) => r.host).filter((h): h is string => Boolean(h)),
        ),
      ],
    },
    ConfigMap: {
      ...meta,
      ...named,
      keys: (o: StoredObject) =>
        [
          ...Object.keys((o.data as object | undefined) ?? {}),
          ...Object.keys((o.binaryData as object | undefined) ?? {}),
        ].sort(),
      data: (o: StoredObject) => o.data ?? {},
    },
    Secret: {
      ...meta,
      ...named,
      type: (o: StoredObject) => (o.type as string | undefined) ?? 'Opaque',
      keys: (o: StoredObject) => Object.keys((o.data as object | undefined) ?? {}).sort(),
      values: (o: StoredObject, _: Args, ctx: WorkloadsContext) => model.secretValues(ctx.viewer, o),
    },
    ServiceAccount: {
      ...meta,
      ...named,
      secrets: (o: StoredObject) => names(o.secrets),
      imagePullSecrets: (o: StoredObject) => names(o.imagePullSecrets),
    },
    PersistentVolumeClaim: {
      ...plain,
      phase: (o: StoredObject) => model.phaseOf(o),
      storageClassName: (o: StoredObject) => o.spec?.storageClassName ?? null,
      volumeName: (o: StoredObject) => o.spec?.volumeName ?? null,
      accessModes: (o: StoredObject) => o.spec?.accessModes ?? [],
      requestedStorage: (o: StoredObject) => o.spec?.resources?.requests?.storage ?? null,
      capacity: (o: StoredObject) => o.status?.capacity?.storage ?? null,
    },
    PersistentVolume: {
      ...plain,
      phase: (o: StoredObject) => model.phaseOf(o),
      storageClassName: (o: StoredObject) => o.spec?.storageClassName ?? null,
      capacity: (o: StoredObject) => o.spec?.capacity?.storage ?? null,
      accessModes: (o: StoredObject) => o.spec?.accessModes ?? [],
      reclaimPolicy: (o: StoredObject) => o.spec?.persistentVolumeReclaimPolicy ?? null,
      claim: (o: StoredObject) => (o.spec?.claimRef ? `${o.spec.claimRef.namespace}/${o.spec.claimRef.name}` : null),
    },
    StorageClass: {
      ...meta,
      ...named,
      provisioner: (o: StoredObject) => (o.provisioner as string | undefined) ?? '',
      reclaimPolicy: (o: StoredObject) => (o.reclaimPolicy as string | undefined) ?? null,
      volumeBindingMode: (o: StoredObject) => (o.volumeBindingMode as string | undefined) ?? null,
      allowVolumeExpansion: (o: StoredObject) => Boolean(o.allowVolumeExpansion),
      isDefault: (o: StoredObject) =>
        o.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
      parameters: (o: StoredObject) => o.parameters ?? {},
    },
    HorizontalPodAutoscaler: {
      ...plain,
      scaleTargetRef: (o: StoredObject) => {
        const r = (o.spec?.scaleTargetRef ?? {}) as { apiVersion?: string; kind?: string; name?: string };
        return {
          apiVersion: r.apiVersion ?? '',
          kind: r.kind ?? '',
          namespace: o.metadata.namespace ?? null,
          name: r.name ?? '',
        };
      },
      minReplicas: (o: StoredObject) => o.spec?.minReplicas ?? null,
      maxReplicas: (o: StoredObject) => o.spec?.maxReplicas ?? 0,
      currentReplicas: (o: StoredObject) => o.status?.currentReplicas ?? null,
      desiredReplicas: (o: StoredObject) => o.status?.desiredReplicas ?? null,
    },
    NetworkPolicy: {
      ...plain,
      podSelector: (o: StoredObject) => o.spec?.podSelector ?? {},
      policyTypes: (o: StoredObject) => o.spec?.policyTypes ?? [],
    },
    CustomResourceDefinition: {
      ...plain,
      group: (o: StoredObject) => o.spec?.group ?? '',
      kindName: (o: StoredObject) => o.spec?.names?.kind ?? '',
      plural: (o: StoredObject) => o.spec?.names?.plural ?? '',
      scope: (o: StoredObject) => o.spec?.scope ?? '',
      versions: (o: StoredObject) => ((o.spec?.versions ?? []) as { name: string }[]).map((v) => v.name),
      version: (o: StoredObject) => model.crdVersion(o) ?? null,
      objects: (o: StoredObject, args: AnyArgs, ctx: WorkloadsContext) => model.crdObjects(ctx.viewer, o, args),
    },
    Event: {
      ...meta,
      namespace: (e: StoredObject) => e.metadata.namespace ?? '',
      name: (e: StoredObject) => e.metadata.name,
      type: (e: StoredObject) => e.type ?? null,
      reason: (e: StoredObject) => e.reason ?? null,
      message: (e: StoredObject) => e.message ?? null,
      count: (e: StoredObject) => Number(e.count ?? (e.series as { count?: number } | undefined)?.count ?? 1),
      firstTimestamp: (e: StoredObject) => e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? null,
      lastTimestamp: (e: StoredObject) => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? null,
      involvedObject: (e: StoredObject) => {
        const r = (e.involvedObject ?? e.regarding ?? {}) as ObjectReference;
        return {
          apiVersion: r.apiVersion ?? 'v1',
          kind: r.kind ?? '',
          namespace: r.namespace ?? null,
          name: r.name ?? '',
          uid: r.uid ?? null,
          fieldPath: r.fieldPath ?? null,
        };
      },
      source: (e: StoredObject) =>
        (e.source as { component?: string } | undefined)?.component ??
        (e.reportingComponent as string | undefined) ??
        null,
      ...model.eventSpecView,
    },
    Workload: {
      __resolveType: (o: StoredObject) => TYPE_OF_KIND[o.kind ?? ''] ?? null,
      // async: a refused lookup rejects its own item (null + error at _entities.i), not the whole _entities list.
      __resolveReference: async (
        ref: { namespace: string; kind: WorkloadKindEnum; name: string },
        ctx: WorkloadsContext,
      ) => model.workload(ctx.viewer, ref),
    },
    Deployment: {
      __resolveReference: workloadReference('Deployment'),
      ...workloadFields,
      replicaSets: (o: StoredObject, _: Args, ctx: WorkloadsContext) => model.replicaSetsOfDeployment(ctx.viewer, o),
      revision: (o: StoredObject) => model.revisionOf(o),
      paused: (o: StoredObject) => Boolean(o.spec?.paused),
    },
    StatefulSet: { __resolveReference: workloadReference('StatefulSet'), ...workloadFields },
    DaemonSet: { __resolveReference: workloadReference('DaemonSet'), ...workloadFields },
    Job: {
      __resolveReference: workloadReference('Job'),
      ...workloadFields,
      succeeded: (o: StoredObject) => o.status?.succeeded ?? 0,
      failed: (o: StoredObject) => o.status?.failed ?? 0,
      active: (o: StoredObject) => o.status?.active ?? 0,
      completions: (o: StoredObject) => o.spec?.completions ?? null,
    },
    CronJob: {
      __resolveReference: workloadReference('CronJob'),
      ...workloadFields,
      schedule: (o: StoredObject) => o.spec?.schedule ?? '',
      suspend: (o: StoredObject) => Boolean(o.spec?.suspend),
      lastScheduleTime: (o: StoredObject) => o.status?.lastScheduleTime ?? null,
    },
  } as SubgraphResolvers<WorkloadsContext>;
}
