// The other resource kinds (ReplicaSet, Service, Ingress, ConfigMap, Secret, ServiceAccount, PVC, PV, StorageClass,
// HPA, NetworkPolicy, CRD, Event): lookups and lists from their informer caches, the relations between Services and
// Pods, and the objects of a CustomResourceDefinition.
import { badUserInput, notFoundError } from '../../common/errors.js';
import type { StoredObject } from '../../common/k8s/object.js';
import type { KindName } from '../clients/kinds.js';
import { allOf, cacheOf, jsonOf, nameAndLabels, namespaceSelection, type ModelDeps } from './common.js';
import { kubeCall } from './errors.js';
import { pageOf, paginate, runQuery, sortByName, sortFor, validateFirst, type Page, type Selection } from './query.js';
import { authorize, authorizeList, type Viewer } from '../../common/authz.js';
import { ownedBySelection, type NamedOrderInput, type WorkloadRefInput } from './workloads.js';

/** The kinds served by the generic list and get, and whether they live in namespaces. */
export const RESOURCE_KINDS = {
  ReplicaSet: true,
  Service: true,
  Ingress: true,
  ConfigMap: true,
  Secret: true,
  ServiceAccount: true,
  PersistentVolumeClaim: true,
  PersistentVolume: false,
  StorageClass: false,
  HorizontalPodAutoscaler: true,
  NetworkPolicy: true,
  CustomResourceDefinition: false,
  Event: true,
} as const satisfies Partial<Record<KindName, boolean>>;
export type ResourceKind = keyof typeof RESOURCE_KINDS;

export interface ResourceFilterInput {
  name?: string | null;
  labelSelector?: string | null;
  /** ReplicaSetFilter. */
  owner?: WorkloadRefInput | null;
  /** PersistentVolumeClaimFilter, PersistentVolumeFilter: enum values. */
  phase?: string[] | null;
}

export type PersistentVolumeClaimPhaseEnum = 'PENDING' | 'BOUND' | 'LOST';
export type PersistentVolumePhaseEnum = 'PENDING' | 'AVAILABLE' | 'BOUND' | 'RELEASED' | 'FAILED';
const PVC_PHASES: readonly PersistentVolumeClaimPhaseEnum[] = ['PENDING', 'BOUND', 'LOST'];
const PV_PHASES: readonly PersistentVolumePhaseEnum[] = ['PENDING', 'AVAILABLE', 'BOUND', 'RELEASED', 'FAILED'];

/** status.phase as shown (Pending when the controller has not set one yet). */
export const phaseOf = (o: StoredObject): string => (o.status?.phase as string | undefined) ?? 'Pending';

/** The computed index the PVC and PV caches keep: the phase as its enum value (Bound → BOUND). */
export const phaseIndex = (o: StoredObject): string[] => [phaseOf(o).toUpperCase()];

const phaseSelection = (phases: string[] | null | undefined, allowed: readonly string[]): Selection[] => {
  if (!phases) return [];
  // GraphQL checks enum values; a direct model call is checked here all the same.
  const bad = phases.find((p) => !allowed.includes(p));
  if (bad !== undefined)
    throw badUserInput(`unknown phase ${JSON.stringify(bad)}; one of ${allowed.join(', ')}`, {
      argument: 'filter.phase',
    });
  return [{ index: 'status', values: phases }];
};

/** The filters some kinds have beyond name and labels, as index selections. */
const KIND_FILTERS: Partial<
  Record<ResourceKind, (deps: ModelDeps, viewer: Viewer, f: ResourceFilterInput) => Selection[]>
> = {
  ReplicaSet: (deps, viewer, f) => (f.owner ? [ownedBySelection(deps, viewer, f.owner)] : []),
  PersistentVolumeClaim: (_deps, _viewer, f) => phaseSelection(f.phase, PVC_PHASES),
  PersistentVolume: (_deps, _viewer, f) => phaseSelection(f.phase, PV_PHASES),
};

export interface ResourceListArgs {
  namespace?: string | null;
  workspace?: string | null;
  filter?: ResourceFilterInput | null;
  orderBy?: NamedOrderInput | null;
  first?: number | null;
  after?: string | null;
}

export interface EventListArgs extends ResourceListArgs {
  involvedKind?: string | null;
  involvedName?: string | null;
  type?: string | null;
}

export function getResource(
  deps: ModelDeps,
  viewer: Viewer,
  kind: ResourceKind,
  namespace: string | undefined,
  name: string,
): StoredObject | null {
  authorize(viewer, 'read', RESOURCE_KINDS[kind] ? namespace : undefined);
  return cacheOf(deps, kind).get(RESOURCE_KINDS[kind] ? namespace : undefined, name) ?? null;
}

/** A list of one kind: namespace/workspace and label equality from the indexes, name substrings and the rest per candidate. */
export function listResources(
  deps: ModelDeps,
  viewer: Viewer,
  kind: ResourceKind,
  args: ResourceListArgs,
  extra?: (o: StoredObject) => boolean,
): Page {
  const namespaced = RESOURCE_KINDS[kind];
  if (namespaced) authorizeList(viewer, args.namespace);
  else authorize(viewer, 'read');
  const cache = cacheOf(deps, kind);
  const named = nameAndLabels(args.filter);
  const selections: Selection[] = [
    ...(namespaced ? namespaceSelection(deps, viewer, args.namespace, args.workspace) : []),
    ...named.selections,
  ];
  if (args.filter) selections.push(...(KIND_FILTERS[kind]?.(deps, viewer, args.filter) ?? []));
  const predicate = allOf(named.predicate, extra);
  return pageOf(runQuery({ cache, selections, predicate, sort: sortFor(args.orderBy?.field) }), args);
}

export function listEvents(deps: ModelDeps, viewer: Viewer, args: EventListArgs): Page {
  const { involvedKind, involvedName, type } = args;
  const involved = (e: StoredObject) => (e.involvedObject ?? e.regarding ?? {}) as { kind?: string; name?: string };
  return listResources(
    deps,
    viewer,
    'Event',
    args,
    allOf(
      involvedKind ? (e) => involved(e).kind === involvedKind : undefined,
      involvedName ? (e) => involved(e).name === involvedName : undefined,
      type ? (e) => e.type === type : undefined,
    ),
  );
}

// ---------------------------------------------------------------- Services and Pods

/** A Service's selector (spec.selector: equality only). Services without one select no pods. */
const serviceSelector = (svc: StoredObject): Record<string, string> | undefined => {
  const sel = svc.spec?.selector as Record<string, string> | undefined;
  return sel && Object.keys(sel).length ? sel : undefined;
};

/** The pods a Service's selector matches: one label-index selection per selector entry, intersected, in its namespace. */
export function podsOfService(
  deps: ModelDeps,
  viewer: Viewer,
  svc: StoredObject,
  args: { first?: number | null; after?: string | null; orderBy?: NamedOrderInput | null },
): Page {
  authorize(viewer, 'read', svc.metadata.namespace);
  const cache = cacheOf(deps, 'Pod');
  const sel = serviceSelector(svc);
  const selections: Selection[] = sel
    ? [
        { index: 'namespace', values: [svc.metadata.namespace ?? ''] },
        ...Object.entries(sel).map(([k, v]) => ({ index: 'label', values: [`${k}=${v}`] })),
      ]
    : [{ index: 'namespace', values: [] }];
  return pageOf(runQuery({ cache, selections, sort: sortFor(args.orderBy?.field) }), args);
}

/** The Services of the pod's namespace whose selector matches the pod's labels, by name. */
export function servicesOfPod(deps: ModelDeps, viewer: Viewer, pod: StoredObject): StoredObject[] {
  authorize(viewer, 'read', pod.metadata.namespace);
  const cache = cacheOf(deps, 'Service');
  const labels = pod.metadata.labels ?? {};
  const out: StoredObject[] = [];
  for (const svc of cache.byIndex('namespace', pod.metadata.namespace ?? '')) {
    const sel = serviceSelector(svc);
    if (sel && Object.entries(sel).every(([k, v]) => labels[k] === v)) out.push(svc);
  }
  return out.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}

/** The ReplicaSets a Deployment owns (owner index), newest revision first. */
export function replicaSetsOfDeployment(deps: ModelDeps, viewer: Viewer, d: StoredObject): StoredObject[] {
  authorize(viewer, 'read', d.metadata.namespace);
  const cache = cacheOf(deps, 'ReplicaSet');
  if (!d.metadata.uid) return [];
  const out = cache.byIndex('owner', d.metadata.uid);
  return out.sort((a, b) => revisionOf(b) - revisionOf(a) || (a.metadata.name < b.metadata.name ? -1 : 1));
}

export const REVISION = 'deployment.kubernetes.io/revision';
export const revisionOf = (rs: StoredObject): number => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;

// ---------------------------------------------------------------- CustomResourceDefinitions

export interface CustomObjectPage {
  items: unknown[];
  /** Pass as `after` for the next page. */
  endCursor: string | null;
  hasNextPage: boolean;
  totalCount: number;
}

/** The version a CRD stores (else the first served one). */
export function crdVersion(crd: StoredObject): string | undefined {
  const versions = (crd.spec?.versions ?? []) as { name: string; served?: boolean; storage?: boolean }[];
  return (versions.find((v) => v.storage) ?? versions.find((v) => v.served) ?? versions[0])?.name;
}

/**
 * The objects of a CRD, one page, in name order (then namespace), from the informer of the CRD's storage version:
 * started on the first read and kept while it is read (clients/custom-objects.ts), so no request lists from the API
 * server, not even this one, past the first.
 */
export async function objectsOfCrd(
  deps: ModelDeps,
  viewer: Viewer,
  crd: StoredObject,
  args: { namespace?: string | null; first?: number | null; after?: string | null },
): Promise<CustomObjectPage> {
  const namespaced = crd.spec?.scope === 'Namespaced';
  if (namespaced) authorizeList(viewer, args.namespace);
  else authorize(viewer, 'read');
  // Checked before a bad argument could start an informer (paginate checks it again).
  validateFirst(args.first);
  const version = crdVersion(crd);
  const group = crd.spec?.group as string | undefined;
  const plural = crd.spec?.names?.plural as string | undefined;
  const kind = crd.spec?.names?.kind as string | undefined;
  if (!version || !group || !plural || !kind)
    throw notFoundError(`CustomResourceDefinition ${crd.metadata.name} serves no version`);
  const cache = await kubeCall(() => deps.customObjects.cache({ group, version, plural, kind }));
  const selections = namespaced ? namespaceSelection(deps, viewer, args.namespace) : [];
  const page = paginate(runQuery({ cache, selections, sort: sortByName }), { first: args.first, after: args.after });
  return {
    items: page.edges.map((e) => jsonOf(e.node)),
    endCursor: page.pageInfo.endCursor,
    hasNextPage: page.pageInfo.hasNextPage,
    totalCount: page.totalCount,
  };
}

// ---------------------------------------------------------------- Secret values

/**
 * A Secret's values, decoded (UTF-8), for those who administer its project (project-admin, workspace-admin,
 * platform-admin) and nobody else. The caches never hold values: they are read from the API server for this field
 * only, and go nowhere else (not into logs, not into `yaml`).
 */
export async function secretValues(
  deps: ModelDeps,
  viewer: Viewer,
  secret: StoredObject,
): Promise<Record<string, string>> {
  const namespace = secret.metadata.namespace ?? '';
  authorize(viewer, 'admin', namespace);
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(secret.metadata.name)}`;
  const live = (await kubeCall(() => deps.kube.rawRequest('GET', path))) as { data?: Record<string, string> };
  return Object.fromEntries(
    Object.entries(live.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}
