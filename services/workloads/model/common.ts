// Shared pieces of the model: the dependencies, cache access with the sync check, metadata views.
import { stringify } from 'yaml';
import { forbiddenError, upstreamUnavailable } from '../../common/errors.js';
import type { AccountsClient } from '../clients/accounts.js';
import type { CustomObjectCaches } from '../clients/custom-objects.js';
import type { CacheReader } from '../clients/indexed-cache.js';
import type { StoredObject } from '../../common/k8s/object.js';
import { KINDS, sanitize, type KindName } from '../clients/kinds.js';
import type { KubeClient } from '../clients/kube.js';
import { SERVICE } from './errors.js';
import { labelsMatch, parseLabelSelector, type LabelRequirement } from './selectors.js';
import type { Selection } from './query.js';
import { authorizeWorkspaceScope, visibleNamespaces, type Viewer } from '../../common/authz.js';
import { WORKSPACE_LABEL } from '../../common/k8s/labels.js';

// Defined once in services/common/k8s/labels.ts; re-exported for the model's modules that take it from here.
export { WORKSPACE_LABEL };

export interface ModelDeps {
  kube: KubeClient;
  /** The objects of CRDs, from informers started on demand. */
  customObjects: CustomObjectCaches;
  /** Workspaces and project creators (unset: development without accounts, every caller is the admin). */
  accounts?: AccountsClient;
}

/**
 * The cache of a kind; before its first LIST completed, reads fail with UPSTREAM_UNAVAILABLE instead of lying. An
 * optional kind the API server refuses to list fails with FORBIDDEN (403) or UPSTREAM_UNAVAILABLE (404: not served).
 */
export function cacheOf(deps: ModelDeps, kind: KindName): CacheReader {
  const refused = deps.kube.unavailable(kind);
  if (refused?.status === 403)
    throw forbiddenError(`the workloads service may not list ${kind} objects in this cluster: ${refused.message}`);
  if (refused?.status === 404)
    throw upstreamUnavailable(
      SERVICE,
      `the Kubernetes API does not serve ${kind} (${KINDS[kind].apiVersion}): ${refused.message}`,
    );
  if (!deps.kube.isSynced(kind))
    throw upstreamUnavailable(SERVICE, `the ${kind} cache has not synced with the Kubernetes API yet`);
  return deps.kube.caches[kind];
}

export interface OwnerRefView {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
}

export const labelsOf = (o: StoredObject): Record<string, string> => o.metadata.labels ?? {};
export const annotationsOf = (o: StoredObject): Record<string, string> => o.metadata.annotations ?? {};
export const ownersOf = (o: StoredObject): OwnerRefView[] =>
  (o.metadata.ownerReferences ?? []).map((r) => ({
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: r.name,
    uid: r.uid,
    controller: Boolean(r.controller),
  }));

/**
 * The object as `kubectl get -o yaml` shows it (managed fields left out, as kubectl does by default). A Secret shows
 * its keys with empty values: the values are never returned (the caches do not even hold them).
 */
export function yamlOf(o: StoredObject): string {
  const safe = o.kind === 'Secret' ? sanitize('Secret', o) : o;
  const { managedFields: _managed, ...metadata } = safe.metadata;
  return stringify({ ...safe, metadata });
}

/** The object as JSON for generic results (managed fields left out; a Secret without its values). */
export function jsonOf(o: StoredObject): StoredObject {
  const safe = o.kind === 'Secret' ? sanitize('Secret', o) : o;
  const { managedFields: _managed, ...metadata } = safe.metadata;
  return { ...safe, metadata: metadata as StoredObject['metadata'] };
}

/**
 * A label selector as index selections (equality and `in` and `exists` requirements) plus the requirements no index
 * answers (!=, notin, !key, gt, lt), checked per candidate.
 */
export function labelSelections(selector: string | null | undefined): {
  selections: Selection[];
  rest: LabelRequirement[];
} {
  if (selector === null || selector === undefined) return { selections: [], rest: [] };
  const reqs = parseLabelSelector(selector);
  const selections: Selection[] = [];
  const rest: LabelRequirement[] = [];
  for (const r of reqs) {
    if (r.op === '=') selections.push({ index: 'label', values: [`${r.key}=${r.values[0]}`] });
    else if (r.op === 'in') selections.push({ index: 'label', values: r.values.map((v) => `${r.key}=${v}`) });
    else if (r.op === 'exists') selections.push({ index: 'labelKey', values: [r.key] });
    else rest.push(r);
  }
  return { selections, rest };
}

/** The namespace selection for a `namespace` / `workspace` argument and what the viewer may see; undefined: all. */
export function namespaceSelection(
  deps: ModelDeps,
  viewer: Viewer,
  namespace?: string | null,
  workspace?: string | null,
): Selection[] {
  const out: Selection[] = [];
  if (namespace !== null && namespace !== undefined) out.push({ index: 'namespace', values: [namespace] });
  if (workspace !== null && workspace !== undefined) {
    authorizeWorkspaceScope(viewer, workspace);
    out.push({ index: 'namespace', values: namespacesOfWorkspace(deps, workspace) });
  }
  const visible = visibleNamespaces(viewer);
  if (visible !== 'all') out.push({ index: 'namespace', values: [...visible] });
  return out;
}

export function namespacesOfWorkspace(deps: ModelDeps, workspace: string): string[] {
  const ns = cacheOf(deps, 'Namespace');
  return ns.indexKeys('label', `${WORKSPACE_LABEL}=${workspace}`);
}

export const nameContains = (needle: string | null | undefined) => {
  if (!needle) return undefined;
  const lower = needle.toLowerCase();
  return (o: StoredObject) => o.metadata.name.toLowerCase().includes(lower);
};

export const labelPredicate = (rest: LabelRequirement[]) =>
  rest.length ? (o: StoredObject) => labelsMatch(rest, o.metadata.labels) : undefined;

/**
 * The name and label parts of a list's filter: index selections for what the label selector's indexes answer, and one
 * predicate for the name substring and the other label requirements (undefined when there are none).
 */
export function nameAndLabels(filter: { name?: string | null; labelSelector?: string | null } | null | undefined): {
  selections: Selection[];
  predicate: ((o: StoredObject) => boolean) | undefined;
} {
  const labels = labelSelections(filter?.labelSelector);
  return { selections: labels.selections, predicate: allOf(nameContains(filter?.name), labelPredicate(labels.rest)) };
}

/** Combines optional predicates into one (undefined when none). */
export function allOf(
  ...preds: (((o: StoredObject) => boolean) | undefined)[]
): ((o: StoredObject) => boolean) | undefined {
  const ps = preds.filter((p): p is (o: StoredObject) => boolean => Boolean(p));
  if (!ps.length) return undefined;
  if (ps.length === 1) return ps[0];
  return (o) => ps.every((p) => p(o));
}
