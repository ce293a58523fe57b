// Request paths from checked parts only: every name, namespace, kind and apiVersion that becomes part of a path passes
// its Kubernetes rule (services/common/k8s/names.ts) first, and client-node's KubernetesObjectApi builds its paths the
// same way (CheckedObjectApi).
import * as k8s from '@kubernetes/client-node';
import {
  apiVersionProblems,
  dns1123LabelProblems,
  isResourceName,
  kindProblems,
  objectNameProblems,
  parseApiVersion,
} from '../../common/k8s/names.js';
import { KINDS, type KindName } from './kinds.js';

/**
 * A value refused before it could become part of a request path (a name, namespace, kind or apiVersion that is not
 * one by Kubernetes' rules, or a discovery document naming a resource that is not one segment). `field` says which.
 */
export class UnsafeRequestPathError extends Error {
  constructor(
    readonly field: 'apiVersion' | 'kind' | 'namespace' | 'name' | 'resource',
    value: unknown,
    problems: string[],
  ) {
    super(
      `invalid ${field} ${JSON.stringify(typeof value === 'string' && value.length > 80 ? `${value.slice(0, 80)}…` : value)}: ${problems.join('; ')}`,
    );
  }
}

/** Checks a value with a names-module rule; the value, or UnsafeRequestPathError. */
function checked(field: UnsafeRequestPathError['field'], value: unknown, problems: (v: string) => string[]): string {
  if (typeof value !== 'string') throw new UnsafeRequestPathError(field, value, ['must be a string']);
  const p = problems(value);
  if (p.length) throw new UnsafeRequestPathError(field, value, p);
  return value;
}

/** The `/namespaces/<ns>` part of a path, the namespace checked and encoded ('' without one). */
const namespaceSegment = (namespace: string | undefined) =>
  namespace === undefined
    ? ''
    : `/namespaces/${encodeURIComponent(checked('namespace', namespace, dns1123LabelProblems))}`;

/** The collection path of a namespaced kind within one namespace. */
export function namespacedPath(kind: KindName, namespace: string): string {
  const path = KINDS[kind].path;
  const cut = path.lastIndexOf('/');
  return `${path.slice(0, cut)}${namespaceSegment(namespace)}${path.slice(cut)}`;
}

/** The path of one object of a registry kind: namespace and name checked (the name by its kind's rule) and encoded. */
export function objectPath(kind: KindName, namespace: string | undefined, name: string): string {
  const collection = KINDS[kind].path.slice(KINDS[kind].path.lastIndexOf('/'));
  const base = KINDS[kind].path.slice(0, -collection.length);
  return `${base}${namespaceSegment(namespace)}${collection}/${encodeURIComponent(checked('name', name, (n) => objectNameProblems(KINDS[kind].apiVersion, kind, n)))}`;
}

/**
 * client-node's KubernetesObjectApi, with its paths built from checked parts only. The original splices apiVersion
 * unencoded into `/apis/<apiVersion>` (discovery and writes), takes the first discovery entry of a kind (possibly a
 * subresource) and its name as given, and encodes names with encodeURIComponent, which leaves '.' and '..' to URL
 * normalisation: `pods/..` became the namespace itself. Here the apiVersion must be `version` or `group/version`
 * (each part a DNS name, encoded), discovery is read only at `/api/<v>` or `/apis/<g>/<v>`, the resource is the
 * served collection of the kind (one lowercase segment), and the namespace and name pass their kind's rules.
 */
export class CheckedObjectApi extends k8s.KubernetesObjectApi {
  static make(kc: k8s.KubeConfig): CheckedObjectApi {
    const api = kc.makeApiClient(CheckedObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  protected override apiVersionPath(apiVersion: string): string {
    checked('apiVersion', apiVersion, apiVersionProblems);
    const gv = parseApiVersion(apiVersion)!;
    return gv.group
      ? `/apis/${encodeURIComponent(gv.group)}/${encodeURIComponent(gv.version)}`
      : `/api/${encodeURIComponent(gv.version)}`;
  }

  protected override async resource(
    apiVersion: string,
    kind: string,
    options?: k8s.Configuration,
  ): Promise<k8s.V1APIResource | undefined> {
    checked('apiVersion', apiVersion, apiVersionProblems);
    checked('kind', kind, kindProblems);
    const found = await super.resource(apiVersion, kind, options);
    if (!found) return undefined;
    // The collection, not a subresource of the same kind (`pods/status` is kind Pod too).
    const r = found.name.includes('/')
      ? this.apiVersionResourceCache[apiVersion]?.resources.find((x) => x.kind === kind && !x.name.includes('/'))
      : found;
    if (!r) return undefined;
    checked('resource', r.name, (n) => (isResourceName(n) ? [] : ['a resource must be one lowercase DNS-1123 label']));
    return r;
  }

  protected override async specUriPath(
    spec: k8s.KubernetesObject,
    action: 'create' | 'delete' | 'patch' | 'read' | 'list' | 'replace',
  ): Promise<string> {
    const apiVersion = checked('apiVersion', spec.apiVersion, apiVersionProblems);
    const kind = checked('kind', spec.kind, kindProblems);
    const resource = await this.resource(apiVersion, kind);
    if (!resource) throw new Error(`Unrecognized API version and kind: ${apiVersion} ${kind}`);
    spec.metadata ??= {};
    if (resource.namespaced && !spec.metadata.namespace && action !== 'list')
      spec.metadata.namespace = this.defaultNamespace;
    const parts = [this.apiVersionPath(apiVersion)];
    if (resource.namespaced && spec.metadata.namespace !== undefined)
      parts.push(namespaceSegment(spec.metadata.namespace).slice(1));
    parts.push(encodeURIComponent(resource.name));
    if (action !== 'create' && action !== 'list')
      parts.push(
        encodeURIComponent(checked('name', spec.metadata.name, (n) => objectNameProblems(apiVersion, kind, n))),
      );
    // Not lower-cased as the original does: names of some kinds (RBAC) may hold capitals.
    return parts.join('/');
  }
}
