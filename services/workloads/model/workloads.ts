// Workloads: Deployment, StatefulSet, DaemonSet, Job, CronJob — lookups, lists, status and their pods' owners.
import { badUserInput } from '../../common/errors.js';
import type { StoredObject } from '../../common/k8s/object.js';
import type { KindName } from '../clients/kinds.js';
import { cacheOf, nameAndLabels, namespaceSelection, type ModelDeps } from './common.js';
import {
  compareEntries,
  pageOf,
  runQuery,
  sortFor,
  type Direction,
  type Entry,
  type Page,
  type Selection,
  type SortSpec,
} from './query.js';
import { formatSpecSelector, isDns1123Label, isDns1123Subdomain } from './selectors.js';
import { authorize, authorizeList, type Viewer } from '../../common/authz.js';

export type WorkloadKindEnum = 'DEPLOYMENT' | 'STATEFUL_SET' | 'DAEMON_SET' | 'JOB' | 'CRON_JOB';
export type WorkloadStatusEnum = 'RUNNING' | 'UPDATING' | 'STOPPED';

export const WORKLOAD_KINDS: Record<WorkloadKindEnum, { kind: KindName; apiVersion: string }> = {
  DEPLOYMENT: { kind: 'Deployment', apiVersion: 'apps/v1' },
  STATEFUL_SET: { kind: 'StatefulSet', apiVersion: 'apps/v1' },
  DAEMON_SET: { kind: 'DaemonSet', apiVersion: 'apps/v1' },
  JOB: { kind: 'Job', apiVersion: 'batch/v1' },
  CRON_JOB: { kind: 'CronJob', apiVersion: 'batch/v1' },
};
const ENUM_OF_KIND: Record<string, WorkloadKindEnum> = Object.fromEntries(
  Object.entries(WORKLOAD_KINDS).map(([e, k]) => [k.kind, e as WorkloadKindEnum]),
);

export const workloadKindOf = (o: StoredObject): WorkloadKindEnum => ENUM_OF_KIND[o.kind ?? ''];
export const isWorkload = (o: StoredObject | undefined): o is StoredObject => Boolean(o && ENUM_OF_KIND[o.kind ?? '']);

export interface WorkloadRefInput {
  namespace: string;
  kind: WorkloadKindEnum;
  name: string;
}

export interface WorkloadFilterInput {
  name?: string | null;
  labelSelector?: string | null;
  status?: WorkloadStatusEnum[] | null;
  owner?: WorkloadRefInput | null;
}

export interface NamedOrderInput {
  field: 'NAME' | 'CREATED_AT';
  direction: Direction;
}

export interface WorkloadOrderInput {
  field: 'NAME' | 'CREATED_AT' | 'STATUS';
  direction: Direction;
}

export interface WorkloadListArgs {
  namespace?: string | null;
  workspace?: string | null;
  kind?: WorkloadKindEnum | null;
  filter?: WorkloadFilterInput | null;
  orderBy?: WorkloadOrderInput | null;
  first?: number | null;
  after?: string | null;
}

/** The STATUS order: RUNNING, UPDATING, STOPPED (the enum's order). */
const STATUS_ORDER: WorkloadStatusEnum[] = ['RUNNING', 'UPDATING', 'STOPPED'];
const STATUS_RANK = Object.fromEntries(STATUS_ORDER.map((s, i) => [s, String(i)])) as Record<
  WorkloadStatusEnum,
  string
>;
const sortByStatus: SortSpec = { id: 'STATUS', key: (o) => STATUS_RANK[workloadStatus(o)], volatile: true };

/** The computed index every workload cache keeps: by status enum (so a status filter is a bucket lookup). */
export const workloadStatusIndex = (o: StoredObject): string[] => [workloadStatus(o)];

/** A WorkloadRef argument checked: namespace a DNS-1123 label, name a DNS-1123 subdomain (BAD_USER_INPUT otherwise). */
export function validateWorkloadRef(ref: WorkloadRefInput, argument: string): void {
  if (!WORKLOAD_KINDS[ref.kind]) throw badUserInput(`unknown workload kind ${String(ref.kind)}`, { argument });
  if (typeof ref.namespace !== 'string' || !isDns1123Label(ref.namespace))
    throw badUserInput(`${argument}.namespace ${JSON.stringify(ref.namespace)} is not a valid namespace name`, {
      argument,
    });
  if (typeof ref.name !== 'string' || !isDns1123Subdomain(ref.name))
    throw badUserInput(`${argument}.name ${JSON.stringify(ref.name)} is not a valid object name`, { argument });
}

/**
 * The selection of the objects a workload owns directly (the owner index, by the workload's uid): the ReplicaSets of
 * a Deployment, the Jobs of a CronJob. An owner that does not exist selects nothing; the caller must be able to read
 * the owner's project.
 */
export function ownedBySelection(
  deps: ModelDeps,
  viewer: Viewer,
  ref: WorkloadRefInput,
  argument = 'filter.owner',
): Selection {
  validateWorkloadRef(ref, argument);
  const uid = getWorkload(deps, viewer, ref)?.metadata.uid;
  return { index: 'owner', values: uid ? [uid] : [] };
}

/** A workload from the cache (null when absent). */
export function getWorkload(deps: ModelDeps, viewer: Viewer, ref: WorkloadRefInput): StoredObject | null {
  authorize(viewer, 'read', ref.namespace);
  const k = WORKLOAD_KINDS[ref.kind];
  if (!k) throw badUserInput(`unknown workload kind ${String(ref.kind)}`);
  return cacheOf(deps, k.kind).get(ref.namespace, ref.name) ?? null;
}

export function listWorkloads(deps: ModelDeps, viewer: Viewer, args: WorkloadListArgs): Page {
  authorizeList(viewer, args.namespace);
  const kinds = args.kind ? [args.kind] : (Object.keys(WORKLOAD_KINDS) as WorkloadKindEnum[]);
  const f = args.filter ?? {};
  const named = nameAndLabels(f);
  const selections: Selection[] = [
    ...namespaceSelection(deps, viewer, args.namespace, args.workspace),
    ...named.selections,
  ];
  // An empty status list is no status filter (as it always was for workloads).
  if (f.status?.length) selections.push({ index: 'status', values: f.status });
  if (f.owner) selections.push(ownedBySelection(deps, viewer, f.owner));
  const predicate = named.predicate;
  const sort = sortFor(args.orderBy?.field, sortByStatus);
  let entries: Entry[] = [];
  for (const kind of kinds) {
    const cache = cacheOf(deps, WORKLOAD_KINDS[kind].kind);
    const found = runQuery({ cache, selections, predicate, sort });
    // Two kinds may share namespace and name: the kind joins the tie-break (and so the cursor), after the namespace
    // (a separator below every name character, so namespaces keep their own order: shop < shop-staging).
    entries = entries.concat(kinds.length > 1 ? found.map((e) => ({ ...e, ns: `${e.ns}\u0000${kind}` })) : found);
  }
  if (kinds.length > 1) entries.sort(compareEntries);
  return pageOf(entries, args);
}

/** RUNNING / UPDATING / STOPPED, as KubeSphere's workload list shows them. */
export function workloadStatus(o: StoredObject): WorkloadStatusEnum {
  const s = o.status ?? {};
  const stale = (o.metadata.generation ?? 0) > (s.observedGeneration ?? 0);
  switch (o.kind) {
    case 'Deployment':
    case 'StatefulSet': {
      const desired: number = o.spec?.replicas ?? 1;
      if (desired === 0 && !(s.replicas > 0)) return 'STOPPED';
      if (
        stale ||
        (s.updatedReplicas ?? 0) < desired ||
        (s.readyReplicas ?? 0) < desired ||
        (s.replicas ?? 0) > desired
      )
        return 'UPDATING';
      return 'RUNNING';
    }
    case 'DaemonSet': {
      const desired: number = s.desiredNumberScheduled ?? 0;
      if (desired === 0) return 'STOPPED';
      if (stale || (s.updatedNumberScheduled ?? 0) < desired || (s.numberReady ?? 0) < desired) return 'UPDATING';
      return 'RUNNING';
    }
    case 'Job': {
      const finished = ((s.conditions ?? []) as { type: string; status: string }[]).some(
        (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      if (finished || o.spec?.suspend) return 'STOPPED';
      return 'RUNNING';
    }
    case 'CronJob':
      return o.spec?.suspend ? 'STOPPED' : 'RUNNING';
    default:
      return 'RUNNING';
  }
}

export interface ReplicaCounts {
  replicas: number | null;
  readyReplicas: number | null;
  availableReplicas: number | null;
  updatedReplicas: number | null;
}

export function replicaCounts(o: StoredObject): ReplicaCounts {
  const s = o.status ?? {};
  switch (o.kind) {
    case 'Deployment':
    case 'StatefulSet':
      return {
        replicas: o.spec?.replicas ?? 1,
        readyReplicas: s.readyReplicas ?? 0,
        availableReplicas: s.availableReplicas ?? 0,
        updatedReplicas: s.updatedReplicas ?? 0,
      };
    case 'DaemonSet':
      return {
        replicas: s.desiredNumberScheduled ?? 0,
        readyReplicas: s.numberReady ?? 0,
        availableReplicas: s.numberAvailable ?? 0,
        updatedReplicas: s.updatedNumberScheduled ?? 0,
      };
    case 'Job':
      return {
        replicas: o.spec?.parallelism ?? 1,
        readyReplicas: s.ready ?? 0,
        availableReplicas: null,
        updatedReplicas: null,
      };
    default:
      return { replicas: null, readyReplicas: null, availableReplicas: null, updatedReplicas: null };
  }
}

export function workloadSelector(o: StoredObject): string | null {
  const sel = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.selector : o.spec?.selector;
  return sel ? formatSpecSelector(sel) : null;
}

/** The uids that own a workload's pods directly: its ReplicaSets (Deployment), its Jobs (CronJob), or itself. */
export function podOwnerUids(deps: ModelDeps, o: StoredObject): string[] {
  const uid = o.metadata.uid;
  if (!uid) return [];
  if (o.kind === 'Deployment')
    return cacheOf(deps, 'ReplicaSet')
      .byIndex('owner', uid)
      .map((rs) => rs.metadata.uid ?? '')
      .filter(Boolean);
  if (o.kind === 'CronJob')
    return cacheOf(deps, 'Job')
      .byIndex('owner', uid)
      .map((job) => job.metadata.uid ?? '')
      .filter(Boolean);
  return [uid];
}

const controllerOf = (o: StoredObject) =>
  (o.metadata.ownerReferences ?? []).find((r) => r.controller) ?? o.metadata.ownerReferences?.[0];

/** The workload a pod belongs to: its controller, through its ReplicaSet for Deployments; null for bare pods. */
export function ownerWorkloadOfPod(deps: ModelDeps, pod: StoredObject): StoredObject | null {
  const ref = controllerOf(pod);
  if (!ref) return null;
  const ns = pod.metadata.namespace;
  if (ref.kind === 'ReplicaSet') {
    const rs = cacheOf(deps, 'ReplicaSet').get(ns, ref.name);
    const rsRef = rs && controllerOf(rs);
    if (rsRef?.kind !== 'Deployment') return null;
    const d = cacheOf(deps, 'Deployment').get(ns, rsRef.name);
    return d && d.metadata.uid === rsRef.uid ? d : null;
  }
  const kind = ENUM_OF_KIND[ref.kind];
  if (!kind) return null;
  const o = cacheOf(deps, WORKLOAD_KINDS[kind].kind).get(ns, ref.name);
  return o && o.metadata.uid === ref.uid ? o : null;
}
