// Pods: lookups, index-driven lists with filters, sorting and cursors, and the per-pod views kubectl shows.
import type { StoredObject } from '../../common/k8s/object.js';
import { cacheOf, nameAndLabels, namespaceSelection, type ModelDeps } from './common.js';
import type { ContainerJson, ContainerStatusJson } from './console.js';
import { age, podDisplay, podReady, podRestarts, type PodStatusEnum } from './pod-status.js';
import { pageOf, runQuery, sortFor, type Direction, type Page, type Selection, type SortSpec } from './query.js';
import { authorize, authorizeList, type Viewer } from '../../common/authz.js';
import { getWorkload, podOwnerUids, validateWorkloadRef, type WorkloadRefInput } from './workloads.js';

export interface PodFilterInput {
  name?: string | null;
  labelSelector?: string | null;
  status?: PodStatusEnum[] | null;
  node?: string | null;
  owner?: WorkloadRefInput | null;
}

export interface PodOrderInput {
  field: 'NAME' | 'CREATED_AT' | 'STATUS';
  direction: Direction;
}

export interface PodListArgs {
  namespace?: string | null;
  workspace?: string | null;
  filter?: PodFilterInput | null;
  orderBy?: PodOrderInput | null;
  first?: number | null;
  after?: string | null;
}

const STATUS_ORDER: PodStatusEnum[] = [
  'RUNNING',
  'PENDING',
  'CONTAINER_CREATING',
  'SUCCEEDED',
  'COMPLETED',
  'FAILED',
  'ERROR',
  'CRASH_LOOP_BACK_OFF',
  'IMAGE_PULL_BACK_OFF',
  'TERMINATING',
  'UNKNOWN',
];
const STATUS_RANK = Object.fromEntries(STATUS_ORDER.map((s, i) => [s, String(i).padStart(2, '0')])) as Record<
  PodStatusEnum,
  string
>;
const sortByStatus: SortSpec = { id: 'STATUS', key: (o) => STATUS_RANK[podDisplay(o).status], volatile: true };

/** The computed index the pod cache keeps: by status enum. */
export const podStatusIndex = (o: StoredObject): string[] => [podDisplay(o).status];

export function getPod(deps: ModelDeps, viewer: Viewer, namespace: string, name: string): StoredObject | null {
  authorize(viewer, 'read', namespace);
  return cacheOf(deps, 'Pod').get(namespace, name) ?? null;
}

/**
 * Lists pods. Every argument that an index answers becomes a selection (namespace/workspace, status, node, owner,
 * label equality / in / exists); the smallest drives, the others are membership checks; only name substrings and
 * the remaining label operators look at the objects.
 */
export function listPods(deps: ModelDeps, viewer: Viewer, args: PodListArgs, scope: Selection[] = []): Page {
  authorizeList(viewer, args.namespace);
  const cache = cacheOf(deps, 'Pod');
  const f = args.filter ?? {};
  const named = nameAndLabels(f);
  const selections: Selection[] = [
    ...scope,
    ...namespaceSelection(deps, viewer, args.namespace, args.workspace),
    ...named.selections,
  ];
  if (f.status) selections.push({ index: 'status', values: f.status });
  if (f.node !== null && f.node !== undefined) selections.push({ index: 'node', values: [f.node] });
  if (f.owner) {
    validateWorkloadRef(f.owner, 'filter.owner');
    const w = getWorkload(deps, viewer, f.owner);
    selections.push({ index: 'owner', values: w ? podOwnerUids(deps, w) : [] });
  }
  return pageOf(
    runQuery({ cache, selections, predicate: named.predicate, sort: sortFor(args.orderBy?.field, sortByStatus) }),
    args,
  );
}

export function podsOfWorkload(deps: ModelDeps, viewer: Viewer, workload: StoredObject, args: PodListArgs): Page {
  return listPods(deps, viewer, { ...args, namespace: workload.metadata.namespace }, [
    { index: 'owner', values: podOwnerUids(deps, workload) },
  ]);
}

export function podsOfNode(deps: ModelDeps, viewer: Viewer, node: string, args: PodListArgs): Page {
  return listPods(deps, viewer, args, [{ index: 'node', values: [node] }]);
}

export function podsOfProject(deps: ModelDeps, viewer: Viewer, namespace: string, args: PodListArgs): Page {
  return listPods(deps, viewer, { ...args, namespace });
}

export interface ContainerView {
  /** The container as the pod spec declares it, and its status entry: what the console fields read. */
  spec: ContainerJson;
  status: ContainerStatusJson | undefined;
  name: string;
  image: string;
  ready: boolean;
  restartCount: number;
  state: string;
  stateReason: string | null;
  started: boolean;
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: { running?: object; waiting?: { reason?: string }; terminated?: { reason?: string } };
}

function containerViews(
  specs: (ContainerJson & { image: string })[] = [],
  statuses: (ContainerStatus & ContainerStatusJson)[] = [],
): ContainerView[] {
  const byName = new Map(statuses.map((s) => [s.name, s]));
  return specs.map((c) => {
    const s = byName.get(c.name);
    const st = s?.state ?? {};
    const state = st.running ? 'Running' : st.waiting ? 'Waiting' : st.terminated ? 'Terminated' : 'Unknown';
    return {
      spec: c,
      status: s,
      name: c.name,
      image: c.image,
      ready: Boolean(s?.ready),
      restartCount: s?.restartCount ?? 0,
      state,
      stateReason: st.waiting?.reason ?? st.terminated?.reason ?? null,
      started: Boolean(s?.started),
    };
  });
}

export const podView = {
  statusText: (p: StoredObject) => podDisplay(p).text,
  status: (p: StoredObject) => podDisplay(p).status,
  phase: (p: StoredObject): string => p.status?.phase ?? 'Pending',
  ready: podReady,
  restarts: podRestarts,
  ip: (p: StoredObject): string | null => p.status?.podIP ?? null,
  age: (p: StoredObject) => age(p.metadata.creationTimestamp),
  containers: (p: StoredObject) => containerViews(p.spec?.containers, p.status?.containerStatuses),
  initContainers: (p: StoredObject) => containerViews(p.spec?.initContainers, p.status?.initContainerStatuses),
  nodeName: (p: StoredObject): string | null => p.spec?.nodeName ?? null,
};

/** The Events about a pod (by its uid), oldest first. */
export function eventsOfPod(deps: ModelDeps, viewer: Viewer, pod: StoredObject): StoredObject[] {
  authorize(viewer, 'read', pod.metadata.namespace);
  const events = cacheOf(deps, 'Event');
  const uid = pod.metadata.uid;
  if (!uid) return [];
  const out = events.byIndex('involved', uid);
  const when = (e: StoredObject) => String(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '');
  return out.sort((a, b) => (when(a) < when(b) ? -1 : when(a) > when(b) ? 1 : 0));
}
