// Nodes: lookups, lists and the node views kubectl shows.
import type { StoredObject } from '../../common/k8s/object.js';
import { allOf, cacheOf, nameAndLabels, type ModelDeps } from './common.js';
import { age } from './pod-status.js';
import { pageOf, runQuery, sortFor, type Direction, type Page, type SortSpec } from './query.js';
import { authorize, type Viewer } from '../../common/authz.js';

export interface NodeOrderInput {
  field: 'NAME' | 'CREATED_AT' | 'STATUS';
  direction: Direction;
}

export interface NodeListArgs {
  filter?: { name?: string | null; labelSelector?: string | null; ready?: boolean | null } | null;
  orderBy?: NodeOrderInput | null;
  first?: number | null;
  after?: string | null;
}

/**
 * The STATUS order, healthiest first: the Ready condition (Ready, NotReady, Unknown), and within each, schedulable
 * before cordoned (,SchedulingDisabled) — as `kubectl get nodes` shows the text.
 */
const READY_RANK: Record<string, number> = { Ready: 0, NotReady: 1, Unknown: 2 };
const statusRank = (n: StoredObject): string => {
  const [ready, ...rest] = nodeView.statusText(n).split(',');
  return String((READY_RANK[ready] ?? 3) * 2 + (rest.includes('SchedulingDisabled') ? 1 : 0));
};
const sortByStatus: SortSpec = { id: 'STATUS', key: statusRank, volatile: true };

export function getNode(deps: ModelDeps, viewer: Viewer, name: string): StoredObject | null {
  authorize(viewer, 'read');
  return cacheOf(deps, 'Node').get(undefined, name) ?? null;
}

export function listNodes(deps: ModelDeps, viewer: Viewer, args: NodeListArgs): Page {
  authorize(viewer, 'read');
  const cache = cacheOf(deps, 'Node');
  const named = nameAndLabels(args.filter);
  const ready = args.filter?.ready;
  const predicate = allOf(
    named.predicate,
    ready === null || ready === undefined ? undefined : (n) => nodeView.ready(n) === ready,
  );
  const sort = sortFor(args.orderBy?.field, sortByStatus);
  return pageOf(runQuery({ cache, selections: named.selections, predicate, sort }), args);
}

const readyCondition = (n: StoredObject) =>
  ((n.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === 'Ready');

export const nodeView = {
  ready: (n: StoredObject) => readyCondition(n)?.status === 'True',
  unschedulable: (n: StoredObject) => Boolean(n.spec?.unschedulable),
  statusText: (n: StoredObject) => {
    const c = readyCondition(n);
    const s = c ? (c.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
    return n.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
  },
  roles: (n: StoredObject) => {
    const roles = new Set<string>();
    for (const [k, v] of Object.entries(n.metadata.labels ?? {})) {
      if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length)
        roles.add(k.slice('node-role.kubernetes.io/'.length));
      else if (k === 'kubernetes.io/role' && v) roles.add(v);
    }
    return [...roles].sort();
  },
  capacity: (n: StoredObject): Record<string, string> => n.status?.capacity ?? {},
  allocatable: (n: StoredObject): Record<string, string> => n.status?.allocatable ?? {},
  internalIP: (n: StoredObject): string | null =>
    ((n.status?.addresses ?? []) as { type: string; address: string }[]).find((a) => a.type === 'InternalIP')
      ?.address ?? null,
  kubeletVersion: (n: StoredObject): string | null => n.status?.nodeInfo?.kubeletVersion ?? null,
  age: (n: StoredObject) => age(n.metadata.creationTimestamp),
};
