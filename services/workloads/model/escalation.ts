// What a caller may make kubegraph apply on their behalf. kubegraph writes with its own credentials, so the API
// server's RBAC escalation checks judge kubegraph, not the tenant: the rules here are that check, for the tenant.
//
// - platform admins: anything.
// - below project admin (operators; viewers may not write at all): no RBAC objects (Role, RoleBinding, ClusterRole,
//   ClusterRoleBinding) and no service-account token Secrets (a token of any service account of the project, to use
//   outside kubegraph with whatever that account was granted).
// - project admins (and workspace admins, who are project admins of their workspace's projects): Roles and
//   RoleBindings in their project, as long as nothing granted goes beyond what a project admin can do through
//   kubegraph (KubeSphere's escalation rule: one binds only rights one has). A project admin's rights, as RBAC rules:
//   the verbs get/list/watch/create/update/patch/delete/deletecollection on the namespaced resources of the project,
//   impersonation of its service accounts (they can run pods as any of them anyway), reading the namespace itself. Not
//   included, so refused in a Role or in the role a RoleBinding references: writes to `namespaces` (a RoleBinding in a
//   namespace grants them on that namespace object: its labels decide its workspace and its Pod Security level),
//   wildcard resources of the core group with a write verb (they include `namespaces`), any other verb (`*`, escalate,
//   bind, impersonate of users or groups, approve, sign, use) and nonResourceURLs. A RoleBinding must reference a role
//   that exists (in the cluster, or as a document of the same YAML): a binding to a missing role would take whatever
//   rights a role of that name is given later. ClusterRoles (KubeSphere's admin, edit, view) may be referenced when
//   their rules fit; cluster-admin does not.
import { forbiddenError } from '../../common/errors.js';
import { isPathSegmentName } from '../../common/k8s/names.js';
import { allowed, isPlatformAdmin, type Viewer } from '../../common/authz.js';
import type { StoredObject } from '../../common/k8s/object.js';
import { KubeApiError } from '../clients/kube-rest.js';
import type { ModelDeps } from './common.js';
import { kubeCall } from './errors.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs?: string[];
  nonResourceURLs?: string[];
}

const PROJECT_VERBS = new Set(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']);
const READ_VERBS = new Set(['get', 'list', 'watch']);

const groupOf = (apiVersion: string | undefined) =>
  apiVersion?.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

/** Why a rule goes beyond a project admin's rights (undefined: it does not). */
export function ruleBeyondProjectAdmin(rule: PolicyRule): string | undefined {
  if (rule.nonResourceURLs?.length) return `nonResourceURLs ${rule.nonResourceURLs.join(', ')}`;
  const verbs = rule.verbs ?? [];
  const groups = rule.apiGroups ?? [];
  const resources = rule.resources ?? [];
  const core = groups.includes('') || groups.includes('*');
  const writes = verbs.some((v) => !READ_VERBS.has(v));
  for (const v of verbs) {
    if (v === 'impersonate' && core && groups.every((g) => g === '') && resources.every((r) => r === 'serviceaccounts'))
      continue;
    if (!PROJECT_VERBS.has(v)) return `verb ${JSON.stringify(v)}`;
  }
  if (
    writes &&
    core &&
    resources.some((r) => r === '*' || r === 'namespaces' || r.startsWith('namespaces/') || r === '*/*')
  ) {
    return `${verbs.filter((v) => !READ_VERBS.has(v)).join(', ')} on ${resources.includes('*') ? 'every core resource (namespaces included)' : 'namespaces'}`;
  }
  return undefined;
}

function rulesBeyond(rules: PolicyRule[] | undefined): string[] {
  return (rules ?? []).map(ruleBeyondProjectAdmin).filter((r): r is string => r !== undefined);
}

/** The 1-based position, kind and name of a document, for messages. */
export const docLabel = (index: number, o: StoredObject) => `document ${index} (${o.kind} ${o.metadata.name})`;

/**
 * Refuses a document the viewer may not have kubegraph apply (see the module comment). `docs` are all documents of
 * the YAML (a RoleBinding may reference a Role defined next to it). Runs before any write or dry run.
 */
export async function checkEscalation(
  deps: ModelDeps,
  viewer: Viewer,
  index: number,
  o: StoredObject,
  docs: readonly StoredObject[],
): Promise<void> {
  if (isPlatformAdmin(viewer)) return;
  const ns = o.metadata.namespace;
  const isRbac = groupOf(o.apiVersion) === RBAC_GROUP;
  const isTokenSecret = groupOf(o.apiVersion) === '' && o.kind === 'Secret' && o.type === SA_TOKEN_TYPE;
  if (!isRbac && !isTokenSecret) return;
  const what = docLabel(index, o);
  // Cluster-scoped RBAC kinds never get here: applying a cluster-scoped object is for platform admins only.
  if (ns === undefined || !allowed(viewer, 'admin', ns)) {
    throw forbiddenError(
      `${what}: ${viewer.username} may not apply ${isRbac ? 'RBAC objects (roles and role bindings)' : 'service-account token Secrets'}${ns ? ` in project ${ns}` : ''}: only project admins may`,
    );
  }
  if (!isRbac) return;
  if (o.kind === 'Role') {
    const beyond = rulesBeyond(o.rules as PolicyRule[] | undefined);
    if (beyond.length)
      throw forbiddenError(`${what}: a Role may not grant more than a project admin has: ${beyond.join('; ')}`);
    return;
  }
  if (o.kind !== 'RoleBinding') return;
  const ref = (o.roleRef ?? {}) as { apiGroup?: string; kind?: string; name?: string };
  if (
    ref.apiGroup !== RBAC_GROUP ||
    (ref.kind !== 'Role' && ref.kind !== 'ClusterRole') ||
    typeof ref.name !== 'string' ||
    !ref.name
  ) {
    throw forbiddenError(`${what}: roleRef must name a Role or ClusterRole of ${RBAC_GROUP}`);
  }
  const rules = await referencedRules(deps, ns, ref.kind, ref.name, docs);
  if (rules === undefined) {
    throw forbiddenError(
      `${what}: ${ref.kind} ${ref.name} does not exist${ref.kind === 'Role' ? ` in project ${ns}` : ''}: a binding may only reference an existing role (it would take whatever rights a role of that name gets later)`,
    );
  }
  const beyond = rulesBeyond(rules);
  if (beyond.length) {
    throw forbiddenError(
      `${what}: ${viewer.username} may not bind ${ref.kind} ${ref.name}: it grants more than a project admin has (${beyond.join('; ')})`,
    );
  }
}

/** The rules of the role a binding references: a Role of the same YAML first, else the cluster's; undefined if none. */
async function referencedRules(
  deps: ModelDeps,
  namespace: string,
  kind: 'Role' | 'ClusterRole',
  name: string,
  docs: readonly StoredObject[],
): Promise<PolicyRule[] | undefined> {
  const local = docs.find(
    (d) =>
      groupOf(d.apiVersion) === RBAC_GROUP &&
      d.kind === kind &&
      d.metadata.name === name &&
      (kind === 'ClusterRole' || d.metadata.namespace === namespace),
  );
  if (local) return (local.rules as PolicyRule[] | undefined) ?? [];
  // Role names are path segments (they may hold ':' and capitals); '.' and '..' would walk the path even encoded.
  if (!isPathSegmentName(name)) return undefined;
  const path =
    kind === 'Role'
      ? `/apis/${RBAC_GROUP}/v1/namespaces/${encodeURIComponent(namespace)}/roles/${encodeURIComponent(name)}`
      : `/apis/${RBAC_GROUP}/v1/clusterroles/${encodeURIComponent(name)}`;
  const role = (await kubeCall(async () => {
    try {
      return await deps.kube.rawRequest('GET', path);
    } catch (e) {
      if (e instanceof KubeApiError && e.statusCode === 404) return undefined;
      throw e;
    }
  })) as { rules?: PolicyRule[] } | undefined;
  return role ? (role.rules ?? []) : undefined;
}
