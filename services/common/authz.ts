// Who is asking, and what they may do: the one authorization module every subgraph's model uses (DESIGN.md
// "Identity and authorization"), with KubeSphere's tenancy model. The viewer comes from the identity the gateway
// signs and forwards (services/common/identity.ts): platform role, workspace roles and project roles. Which workspace
// a project (namespace) belongs to is the cluster's answer (label kubesphere.io/workspace), given by the subgraph as
// the viewer's `tenancy`.
import { forbiddenError, unauthenticatedError } from './errors.js';

/** Namespace ↔ workspace, as the cluster labels them (each subgraph supplies its own view). */
export interface Tenancy {
  workspaceOf(namespace: string): string | undefined;
  namespacesOf(workspace: string): readonly string[];
  /** The uid of the namespace that exists under this name now (undefined: none, or not known yet). */
  uidOf?(namespace: string): string | undefined;
}

export interface Viewer {
  /** Empty for an anonymous caller (no token): only login-type operations accept one. */
  username: string;
  /** platform-admin | platform-regular (KubeSphere platform roles). */
  platformRole: string;
  /** Workspace → workspace-admin | workspace-regular | workspace-viewer. */
  workspaceRoles?: Readonly<Record<string, string>>;
  /** Project (namespace) → project-admin | project-operator | project-viewer. */
  projectRoles?: Readonly<Record<string, string>>;
  /**
   * Project (namespace) → the uid of the namespace each project role was granted on: a role counts only while that
   * namespace is the one under the name (a namespace deleted and created again starts with no members).
   */
  projectUids?: Readonly<Record<string, string>>;
  /** Set by the subgraph that checks this viewer. */
  tenancy?: Tenancy;
}

/** The development identity: what every request was before accounts, and what `npm start` tests can still use. */
export const DEV_VIEWER: Viewer = Object.freeze({ username: 'admin', platformRole: 'platform-admin' });

export const ANONYMOUS: Viewer = Object.freeze({ username: '', platformRole: '' });

/**
 * read; create / update / delete of a project's resources (workloads, pods, config); `admin`: what only project
 * admins do in a project (members, secret values, deleting the project).
 */
export type Action = 'read' | 'create' | 'update' | 'delete' | 'admin';

const PROJECT_ROLE_ACTIONS: Record<string, readonly Action[]> = {
  'project-admin': ['read', 'create', 'update', 'delete', 'admin'],
  'project-operator': ['read', 'create', 'update', 'delete'],
  'project-viewer': ['read'],
};
/** What a workspace role allows in every project of the workspace (workspace-regular: only projects one is in). */
const WORKSPACE_ROLE_PROJECT_ACTIONS: Record<string, readonly Action[]> = {
  'workspace-admin': ['read', 'create', 'update', 'delete', 'admin'],
  'workspace-viewer': ['read'],
  'workspace-regular': [],
};
/** What a workspace role allows on the workspace itself (create: new projects in it). */
const WORKSPACE_ROLE_ACTIONS: Record<string, readonly Action[]> = {
  'workspace-admin': ['read', 'create', 'update', 'delete', 'admin'],
  'workspace-regular': ['read', 'create'],
  'workspace-viewer': ['read'],
};

export const isPlatformAdmin = (v: Viewer) => v.platformRole === 'platform-admin';
export const isAnonymous = (v: Viewer) => v.username === '';

/**
 * The viewer's role in a project, if it was granted on the namespace that holds the name now. Without a uid on
 * either side (a subgraph with no namespace view) the name decides, as the identity was signed moments ago.
 */
export function projectRoleOf(viewer: Viewer, namespace: string): string | undefined {
  const role = viewer.projectRoles?.[namespace];
  if (role === undefined) return undefined;
  const granted = viewer.projectUids?.[namespace];
  const current = viewer.tenancy?.uidOf?.(namespace);
  if (granted !== undefined && current !== undefined && granted !== current) return undefined;
  // A namespace without a workspace label is the platform admins' alone, whatever was granted on it.
  if (current !== undefined && viewer.tenancy?.workspaceOf(namespace) === undefined) return undefined;
  return role;
}

/** Whether the viewer may do `action` in a namespace (cluster-scoped: platform admins only). */
export function allowed(viewer: Viewer, action: Action, namespace?: string): boolean {
  if (isAnonymous(viewer)) return false;
  if (isPlatformAdmin(viewer)) return true;
  if (namespace === undefined) return false;
  if (PROJECT_ROLE_ACTIONS[projectRoleOf(viewer, namespace) ?? '']?.includes(action)) return true;
  const workspace = viewer.tenancy?.workspaceOf(namespace);
  return (
    workspace !== undefined &&
    (WORKSPACE_ROLE_PROJECT_ACTIONS[viewer.workspaceRoles?.[workspace] ?? '']?.includes(action) ?? false)
  );
}

/** Throws UNAUTHENTICATED (anonymous) or FORBIDDEN unless `allowed`. */
export function authorize(viewer: Viewer, action: Action, namespace?: string): void {
  if (isAnonymous(viewer)) throw unauthenticatedError('sign in first: this needs an access token or an API token');
  if (!allowed(viewer, action, namespace)) {
    throw forbiddenError(
      `${viewer.username} may not ${action} ${namespace !== undefined ? `in project ${namespace}` : 'cluster resources'}`,
    );
  }
}

/**
 * A list: in one namespace, the viewer must be allowed to read there; across namespaces any signed-in viewer may ask
 * and the list is filtered through `visibleNamespaces`.
 */
export function authorizeList(viewer: Viewer, namespace?: string | null): void {
  if (namespace !== null && namespace !== undefined) authorize(viewer, 'read', namespace);
  else if (isAnonymous(viewer)) throw unauthenticatedError('sign in first: this needs an access token or an API token');
}

/** Workspace-level actions (create a project in it, manage its members). */
export function authorizeWorkspace(viewer: Viewer, action: Action, workspace: string): void {
  if (isAnonymous(viewer)) throw unauthenticatedError('sign in first: this needs an access token or an API token');
  if (isPlatformAdmin(viewer)) return;
  if (WORKSPACE_ROLE_ACTIONS[viewer.workspaceRoles?.[workspace] ?? '']?.includes(action)) return;
  throw forbiddenError(`${viewer.username} may not ${action} in workspace ${workspace}`);
}

/**
 * A `workspace:` argument (lists, subscriptions, metrics): FORBIDDEN unless the viewer belongs to the workspace (any
 * workspace role) or to one of its projects, exactly as a foreign `namespace:` is; the answer then covers the
 * projects of it the viewer may read. Decided from the identity and the namespace view alone: no upstream call.
 */
export function authorizeWorkspaceScope(viewer: Viewer, workspace: string): void {
  if (isAnonymous(viewer)) throw unauthenticatedError('sign in first: this needs an access token or an API token');
  if (isPlatformAdmin(viewer)) return;
  if (viewer.workspaceRoles?.[workspace] !== undefined) return;
  const inWorkspace = viewer.tenancy?.namespacesOf(workspace) ?? [];
  if (inWorkspace.some((ns) => projectRoleOf(viewer, ns) !== undefined)) return;
  throw forbiddenError(`${viewer.username} is no member of workspace ${workspace}`);
}

/** The namespaces whose objects a viewer may read ('all' for no restriction). Lists filter through it. */
export function visibleNamespaces(viewer: Viewer): 'all' | Set<string> {
  if (isAnonymous(viewer)) return new Set();
  if (isPlatformAdmin(viewer)) return 'all';
  const out = new Set(
    Object.keys(viewer.projectRoles ?? {}).filter((ns) =>
      PROJECT_ROLE_ACTIONS[projectRoleOf(viewer, ns) ?? '']?.includes('read'),
    ),
  );
  for (const [ws, role] of Object.entries(viewer.workspaceRoles ?? {})) {
    if (WORKSPACE_ROLE_PROJECT_ACTIONS[role]?.includes('read'))
      for (const ns of viewer.tenancy?.namespacesOf(ws) ?? []) out.add(ns);
  }
  return out;
}

/** The viewer as seen by a subgraph with its tenancy view. */
export const withTenancy = (viewer: Viewer, tenancy: Tenancy | undefined): Viewer =>
  tenancy ? { ...viewer, tenancy } : viewer;
