// The kinds the sandbox serves. One generic API machinery serves every entry; adding a kind is one entry here.
import type { JsonObject, KCustomResourceDefinition, KData, KEvent, KObject } from './types.js';

export type Subresource = 'status' | 'scale' | 'log' | 'eviction';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** Shown only with `-o wide`, as the real server's priority 1 columns. */
  priority?: number;
  description?: string;
  value: (o: KObject) => unknown;
}

export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  categories: string[];
  subresources: Subresource[];
  /** Fields this kind supports in fieldSelector besides metadata.name and metadata.namespace. */
  fieldSelectors: Record<string, (o: KObject) => string | undefined>;
  /** Paths of the scale subresource (as in a CRD's `scale` subresource). */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /** Extra columns for `kubectl get` Tables (NAME is always first, AGE is added last unless listed). */
  columns?: PrinterColumn[];
  /** Whether spec changes bump metadata.generation (everything with a spec/status split). */
  hasStatus: boolean;
  /** Custom resources carry the CRD that defines them. */
  crdName?: string;
  /** The validation schema of a custom resource version, used for the OpenAPI document. */
  schema?: JsonObject;
  /** A create-only kind answered and never stored (the review APIs, auth/reviews.ts). */
  review?: boolean;
}

export const apiVersionOf = (r: Pick<ResourceType, 'group' | 'version'>) =>
  r.group ? `${r.group}/${r.version}` : r.version;
export const resourceKey = (group: string, plural: string) => `${group}/${plural}`;

const core = '';
const phaseOf = (o: KObject) => o.status?.phase as string | undefined;

type Entry = Partial<ResourceType> & Pick<ResourceType, 'group' | 'version' | 'kind' | 'plural'>;

/** The apps/v1 kinds with a replica count: their scale subresource reads spec.replicas and the selector. */
const replicatedWorkload = (kind: string, plural: string, shortName: string): Entry => ({
  group: 'apps',
  version: 'v1',
  kind,
  plural,
  shortNames: [shortName],
  categories: ['all'],
  subresources: ['status', 'scale'],
  scale: {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.spec.selector',
  },
});

const builtins: Entry[] = [
  {
    group: core,
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    shortNames: ['ns'],
    namespaced: false,
    subresources: ['status'],
    fieldSelectors: { 'status.phase': phaseOf },
  },
  {
    group: core,
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    shortNames: ['no'],
    namespaced: false,
    subresources: ['status'],
    fieldSelectors: { 'spec.unschedulable': (o) => String(Boolean(o.spec?.unschedulable)) },
  },
  {
    group: core,
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'log', 'eviction'],
    fieldSelectors: {
      'status.phase': phaseOf,
      'spec.nodeName': (o) => o.spec?.nodeName ?? '',
      'spec.restartPolicy': (o) => o.spec?.restartPolicy,
      'spec.schedulerName': (o) => o.spec?.schedulerName,
      'spec.serviceAccountName': (o) => o.spec?.serviceAccountName,
      'status.podIP': (o) => o.status?.podIP ?? '',
      'status.nominatedNodeName': (o) => o.status?.nominatedNodeName ?? '',
    },
  },
  {
    group: core,
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
  },
  { group: core, version: 'v1', kind: 'Endpoints', plural: 'endpoints', shortNames: ['ep'], hasStatus: false },
  { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', hasStatus: false },
  { group: core, version: 'v1', kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'], hasStatus: false },
  {
    group: core,
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    hasStatus: false,
    fieldSelectors: { type: (o: KData) => o.type },
  },
  {
    group: core,
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    shortNames: ['sa'],
    hasStatus: false,
  },
  {
    group: core,
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    shortNames: ['ev'],
    hasStatus: false,
    fieldSelectors: {
      'involvedObject.kind': (o: KEvent) => o.involvedObject?.kind,
      'involvedObject.namespace': (o: KEvent) => o.involvedObject?.namespace,
      'involvedObject.name': (o: KEvent) => o.involvedObject?.name,
      'involvedObject.uid': (o: KEvent) => o.involvedObject?.uid,
      'involvedObject.apiVersion': (o: KEvent) => o.involvedObject?.apiVersion,
      'involvedObject.resourceVersion': (o: KEvent) => o.involvedObject?.resourceVersion,
      'involvedObject.fieldPath': (o: KEvent) => o.involvedObject?.fieldPath,
      reason: (o: KEvent) => o.reason,
      reportingComponent: (o: KEvent) => o.reportingComponent ?? '',
      source: (o: KEvent) => o.source?.component ?? '',
      type: (o: KEvent) => o.type,
    },
  },
  {
    group: core,
    version: 'v1',
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
    shortNames: ['pv'],
    namespaced: false,
    subresources: ['status'],
    fieldSelectors: { 'status.phase': phaseOf },
  },
  {
    group: core,
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    shortNames: ['pvc'],
    subresources: ['status'],
    fieldSelectors: { 'status.phase': phaseOf },
  },
  {
    group: core,
    version: 'v1',
    kind: 'ResourceQuota',
    plural: 'resourcequotas',
    shortNames: ['quota'],
    subresources: ['status'],
  },
  { group: core, version: 'v1', kind: 'LimitRange', plural: 'limitranges', shortNames: ['limits'], hasStatus: false },
  replicatedWorkload('Deployment', 'deployments', 'deploy'),
  replicatedWorkload('ReplicaSet', 'replicasets', 'rs'),
  replicatedWorkload('StatefulSet', 'statefulsets', 'sts'),
  {
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
  },
  { group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', hasStatus: false },
  {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    categories: ['all'],
    subresources: ['status'],
    fieldSelectors: { 'status.successful': (o) => String(o.status?.succeeded ?? 0) },
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'CronJob',
    plural: 'cronjobs',
    shortNames: ['cj'],
    categories: ['all'],
    subresources: ['status'],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    shortNames: ['ing'],
    subresources: ['status'],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    shortNames: ['netpol'],
    hasStatus: false,
  },
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'StorageClass',
    plural: 'storageclasses',
    shortNames: ['sc'],
    namespaced: false,
    hasStatus: false,
  },
  {
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    shortNames: ['hpa'],
    categories: ['all'],
    subresources: ['status'],
  },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', hasStatus: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', hasStatus: false },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    namespaced: false,
    hasStatus: false,
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
    hasStatus: false,
  },
  // The review APIs `kubectl auth whoami` / `auth can-i` use: create-only, nothing stored (auth/reviews.ts).
  ...(
    [
      ['authentication.k8s.io', 'SelfSubjectReview', false],
      ['authorization.k8s.io', 'SelfSubjectAccessReview', false],
      ['authorization.k8s.io', 'SelfSubjectRulesReview', false],
      ['authorization.k8s.io', 'SubjectAccessReview', false],
      ['authorization.k8s.io', 'LocalSubjectAccessReview', true],
    ] as const
  ).map(([group, kind, namespaced]): Entry => ({
    group,
    version: 'v1',
    kind,
    plural: `${kind.toLowerCase()}s`,
    singular: '',
    namespaced,
    hasStatus: false,
    review: true,
  })),
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    shortNames: ['crd', 'crds'],
    namespaced: false,
    subresources: ['status'],
  },
];

export const makeResourceType = (e: Entry): ResourceType => ({
  singular: e.kind.toLowerCase(),
  shortNames: [],
  namespaced: true,
  categories: [],
  subresources: [],
  fieldSelectors: {},
  hasStatus: true,
  ...e,
});

/** The live set of served resource types: the builtins plus one per served version of each CRD. */
export class Registry {
  private readonly byKey = new Map<string, ResourceType>(); // `${group}/${version}/${plural}`
  private readonly byGroupPlural = new Map<string, ResourceType>(); // `${group}/${plural}`, first served version

  constructor() {
    for (const e of builtins) this.add(makeResourceType(e));
  }

  add(rt: ResourceType): void {
    this.byKey.set(`${rt.group}/${rt.version}/${rt.plural}`, rt);
    this.byGroupPlural.delete(resourceKey(rt.group, rt.plural));
  }

  remove(group: string, version: string, plural: string): void {
    this.byKey.delete(`${group}/${version}/${plural}`);
    this.byGroupPlural.delete(resourceKey(group, plural));
  }

  /** A served version of a resource, for code that does not care which (controllers, the store). */
  byPlural(group: string, plural: string): ResourceType | undefined {
    const key = resourceKey(group, plural);
    let rt = this.byGroupPlural.get(key);
    if (!rt) {
      rt = this.all().find((r) => r.group === group && r.plural === plural);
      if (rt) this.byGroupPlural.set(key, rt);
    }
    return rt;
  }

  get(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byKey.get(`${group}/${version}/${plural}`);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    for (const rt of this.byKey.values()) if (rt.kind === kind && apiVersionOf(rt) === apiVersion) return rt;
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.byKey.values()];
  }

  /** Group versions in discovery order: core first, then groups by name. */
  groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const rt of this.byKey.values()) {
      const versions = groups.get(rt.group) ?? [];
      if (!versions.includes(rt.version)) versions.push(rt.version);
      groups.set(rt.group, versions);
    }
    return groups;
  }

  /** Resource types a CRD object defines, one per served version. */
  static fromCRD(crd: KCustomResourceDefinition): ResourceType[] {
    const spec = crd.spec ?? {};
    const names = spec.names ?? {};
    const { group } = spec;
    const { kind, plural } = names;
    // A definition without its group, kind or plural defines no resource type.
    if (group === undefined || !kind || !plural) return [];
    return (spec.versions ?? [])
      .filter((v) => v.served !== false)
      .map((v) =>
        makeResourceType({
          group,
          version: v.name,
          kind,
          plural,
          singular: names.singular ?? kind.toLowerCase(),
          shortNames: names.shortNames ?? [],
          categories: names.categories ?? [],
          namespaced: spec.scope !== 'Cluster',
          subresources: [
            ...(v.subresources?.status ? (['status'] as const) : []),
            ...(v.subresources?.scale ? (['scale'] as const) : []),
          ],
          scale: v.subresources?.scale,
          hasStatus: Boolean(v.subresources?.status),
          crdName: crd.metadata.name,
          schema: v.schema?.openAPIV3Schema,
          columns: (v.additionalPrinterColumns ?? []).map((c) => ({
            name: c.name,
            type: c.type,
            priority: c.priority,
            description: c.description,
            value: (o: KObject) => jsonPathValue(o, c.jsonPath),
          })),
        }),
      );
  }
}

/** Reads a simple JSONPath such as `.spec.replicas` or `.status.conditions[0].type`. */
export function jsonPathValue(o: unknown, path: string): unknown {
  let cur: unknown = o;
  const step = (v: unknown, key: string | number): unknown =>
    v == null ? undefined : (v as Record<string | number, unknown>)[key];
  for (const part of path
    .replace(/^\$?\./, '')
    .split('.')
    .filter(Boolean)) {
    const m = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!m || cur == null) return undefined;
    cur = step(cur, m[1]);
    for (const idx of m[2].match(/\d+/g) ?? []) cur = step(cur, Number(idx));
  }
  return cur;
}
