// What a chart may make kubegraph apply for its caller. helm runs with kubegraph's credentials, so a chart is a way to
// apply anything; every object it renders (hooks included) is held to the rules the workloads subgraph's applyYaml
// enforces for the caller's role (services/workloads/model/apply.ts and escalation.ts), before helm touches the cluster:
// - platform admins: anything;
// - everyone else: namespaced kinds only (no cluster-scoped kind: Namespace, ClusterRole, CRD, …), each in the
//   release's namespace; a kind the cluster does not know is refused (its scope cannot be told);
// - RBAC objects (Role, RoleBinding) and service-account token Secrets only for project admins (operators may not), and
//   then no Role or bound role granting more than a project admin has (escalation.ts' ruleBeyondProjectAdmin, imported
//   read-only). escalation.ts' checkEscalation itself reads roles through the workloads subgraph's client, so the
//   RoleBinding lookup is adapted here onto this subgraph's client.
import { allowed, isPlatformAdmin, type Viewer } from '../../common/authz.js';
import { forbiddenError } from '../../common/errors.js';
import { isPathSegmentName } from '../../common/k8s/names.js';
import {
  RBAC_GROUP,
  SA_TOKEN_TYPE,
  ruleBeyondProjectAdmin,
  type PolicyRule,
} from '../../workloads/model/escalation.js';
import type { AppsKubeClient } from '../clients/kube.js';
import { manifestObjects } from './release-index.js';

export interface RenderedObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
  [field: string]: unknown;
}

/** An object a chart may not apply for the viewer, and why. */
export interface Offence {
  kind: string;
  name: string;
  namespace: string | null;
  reason: string;
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');
const label = (o: Offence) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** The objects of a rendered release: its manifest and its hooks' manifests. */
export function renderedObjects(manifest: string, hookManifests: readonly string[]): RenderedObject[] {
  return [manifest, ...hookManifests].flatMap((m) => manifestObjects(m) as RenderedObject[]);
}

/**
 * The objects the viewer may not have kubegraph apply (or delete) in release namespace `namespace`; empty: all pass.
 * Asks discovery for the scope of each kind, and the cluster for roles a RoleBinding references.
 */
export async function offences(
  kube: AppsKubeClient,
  viewer: Viewer,
  namespace: string,
  objects: readonly RenderedObject[],
): Promise<Offence[]> {
  if (isPlatformAdmin(viewer)) return [];
  const discovery = kube.discovery();
  const out: Offence[] = [];
  for (const o of objects) {
    const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
    const kind = typeof o.kind === 'string' ? o.kind : '';
    const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
    const ns = typeof o.metadata?.namespace === 'string' && o.metadata.namespace ? o.metadata.namespace : undefined;
    const offence = (reason: string) => out.push({ kind: kind || '(no kind)', name, namespace: ns ?? null, reason });
    if (!apiVersion || !kind || !name) {
      offence('an object without apiVersion, kind or name');
      continue;
    }
    const namespaced = await discovery.namespaced(apiVersion, kind);
    if (namespaced === undefined) {
      offence(`the cluster has no kind ${kind} in ${apiVersion}, so its scope cannot be told`);
      continue;
    }
    if (!namespaced) {
      offence('a cluster-scoped object: only platform admins may install those');
      continue;
    }
    if (ns !== undefined && ns !== namespace) {
      offence(`an object in namespace ${ns}, not the release's namespace ${namespace}`);
      continue;
    }
    const reason = await escalation(kube, viewer, namespace, apiVersion, kind, o, objects);
    if (reason) offence(reason);
  }
  return out;
}

/** Why an RBAC object or token Secret goes beyond the viewer (undefined: it does not, or it is neither). */
async function escalation(
  kube: AppsKubeClient,
  viewer: Viewer,
  namespace: string,
  apiVersion: string,
  kind: string,
  o: RenderedObject,
  objects: readonly RenderedObject[],
): Promise<string | undefined> {
  const isRbac = groupOf(apiVersion) === RBAC_GROUP;
  const isTokenSecret = groupOf(apiVersion) === '' && kind === 'Secret' && o.type === SA_TOKEN_TYPE;
  if (!isRbac && !isTokenSecret) return undefined;
  if (!allowed(viewer, 'admin', namespace)) {
    return `${isRbac ? 'an RBAC object (roles and role bindings)' : 'a service-account token Secret'}: only project admins may install those`;
  }
  if (!isRbac) return undefined;
  if (kind === 'Role') {
    const beyond = rulesBeyond(o.rules as PolicyRule[] | undefined);
    return beyond.length ? `a Role granting more than a project admin has: ${beyond.join('; ')}` : undefined;
  }
  if (kind !== 'RoleBinding') return undefined;
  const ref = (o.roleRef ?? {}) as { apiGroup?: string; kind?: string; name?: string };
  if (ref.apiGroup !== RBAC_GROUP || (ref.kind !== 'Role' && ref.kind !== 'ClusterRole') || !ref.name) {
    return `roleRef must name a Role or ClusterRole of ${RBAC_GROUP}`;
  }
  const local = objects.find(
    (d) =>
      typeof d.apiVersion === 'string' &&
      groupOf(d.apiVersion) === RBAC_GROUP &&
      d.kind === ref.kind &&
      d.metadata?.name === ref.name,
  );
  let rules: PolicyRule[] | undefined;
  if (local) rules = (local.rules as PolicyRule[] | undefined) ?? [];
  else if (isPathSegmentName(ref.name)) {
    const role = await kube.metadata(
      `${RBAC_GROUP}/v1`,
      ref.kind,
      ref.kind === 'Role' ? namespace : undefined,
      ref.name,
    );
    rules = role ? ((role.rules as PolicyRule[] | undefined) ?? []) : undefined;
  }
  if (rules === undefined) return `binds ${ref.kind} ${ref.name}, which does not exist`;
  const beyond = rulesBeyond(rules);
  return beyond.length
    ? `binds ${ref.kind} ${ref.name}, which grants more than a project admin has (${beyond.join('; ')})`
    : undefined;
}

function rulesBeyond(rules: PolicyRule[] | undefined): string[] {
  return (rules ?? []).map(ruleBeyondProjectAdmin).filter((r): r is string => r !== undefined);
}

/** FORBIDDEN naming every offending object (message and extensions.objects), or nothing when there is none. */
export function refuseOffences(viewer: Viewer, what: string, found: readonly Offence[]): void {
  if (!found.length) return;
  const shown = found.slice(0, 20).map((o) => `${label(o)} (${o.reason})`);
  const more = found.length > shown.length ? `; and ${found.length - shown.length} more` : '';
  const err = forbiddenError(`${viewer.username} may not ${what}: ${shown.join('; ')}${more}`);
  err.extensions.objects = found.map((o) => ({ ...o }));
  throw err;
}
