// Projects: namespaces, grouped into workspaces by the kubesphere.io/workspace label.
import type { StoredObject } from '../../common/k8s/object.js';
import { allOf, cacheOf, nameAndLabels, WORKSPACE_LABEL, type ModelDeps } from './common.js';
import { pageOf, runQuery, sortFor, type Page, type Selection } from './query.js';
import type { Viewer } from '../../common/authz.js';
import { authorize, authorizeList, authorizeWorkspaceScope, visibleNamespaces } from '../../common/authz.js';
import type { NamedOrderInput } from './workloads.js';

export type ProjectStatusEnum = 'ACTIVE' | 'TERMINATING';

export interface ProjectListArgs {
  workspace?: string | null;
  filter?: { name?: string | null; labelSelector?: string | null; status?: ProjectStatusEnum[] | null } | null;
  orderBy?: NamedOrderInput | null;
  first?: number | null;
  after?: string | null;
}

export function getProject(deps: ModelDeps, viewer: Viewer, name: string): StoredObject | null {
  authorize(viewer, 'read', name);
  return cacheOf(deps, 'Namespace').get(undefined, name) ?? null;
}

export function listProjects(deps: ModelDeps, viewer: Viewer, args: ProjectListArgs): Page {
  authorizeList(viewer);
  const cache = cacheOf(deps, 'Namespace');
  const named = nameAndLabels(args.filter);
  const selections: Selection[] = [...named.selections];
  if (args.workspace !== null && args.workspace !== undefined) {
    authorizeWorkspaceScope(viewer, args.workspace);
    selections.push({ index: 'label', values: [`${WORKSPACE_LABEL}=${args.workspace}`] });
  }
  const status = args.filter?.status;
  if (status) selections.push({ index: 'status', values: status });
  const visible = visibleNamespaces(viewer);
  if (visible !== 'all') selections.push({ index: 'all', values: [''] });
  const predicate = allOf(named.predicate, visible === 'all' ? undefined : (o) => visible.has(o.metadata.name));
  return pageOf(runQuery({ cache, selections, predicate, sort: sortFor(args.orderBy?.field) }), args);
}

const phaseOf = (ns: StoredObject): string =>
  ns.status?.phase ?? (ns.metadata.deletionTimestamp ? 'Terminating' : 'Active');
/** The phase as the ProjectStatus enum: a namespace being deleted is TERMINATING whatever its status says yet. */
const statusOf = (ns: StoredObject): ProjectStatusEnum =>
  ns.metadata.deletionTimestamp || phaseOf(ns) === 'Terminating' ? 'TERMINATING' : 'ACTIVE';

/** The computed index the namespace cache keeps: by ProjectStatus. */
export const projectStatusIndex = (ns: StoredObject): string[] => [statusOf(ns)];

export const projectView = {
  workspaceName: (ns: StoredObject): string | null => ns.metadata.labels?.[WORKSPACE_LABEL] ?? null,
  phase: phaseOf,
  status: statusOf,
};

/** The projects (namespaces labelled with the workspace) a viewer may see, by name. */
export function projectsOfWorkspace(deps: ModelDeps, viewer: Viewer, workspace: string): StoredObject[] {
  authorizeList(viewer);
  const cache = cacheOf(deps, 'Namespace');
  const visible = visibleNamespaces(viewer);
  return cache
    .indexKeys('label', `${WORKSPACE_LABEL}=${workspace}`)
    .sort()
    .map((k) => cache.getByKey(k)!)
    .filter((ns) => ns && (visible === 'all' || visible.has(ns.metadata.name)));
}
