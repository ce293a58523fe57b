// The actions: each validates its input, writes through the Kubernetes client, then waits (bounded) until the
// cache has seen the write, so that the object it returns — read from the cache — includes the change.
import { parseAllDocuments } from 'yaml';
import { badUserInput, notFoundError } from '../../common/errors.js';
import { KINDS, type KindName, type KubeObject } from '../clients/kube.js';
import { cacheOf, WORKSPACE_LABEL, type ModelDeps } from './common.js';
import { kubeCall } from './errors.js';
import { isDns1123Label, isValidLabelValue } from './selectors.js';
import { authorize, type Viewer } from './viewer.js';
import { WORKLOAD_KINDS, type WorkloadKindEnum } from './workloads.js';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

function requireName(what: string, name: string): void {
  if (!isDns1123Label(name)) {
    throw badUserInput(`invalid ${what} name ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters`, { argument: 'name' });
  }
}

/** Waits for the cache to see a write; the object from the cache, or (after the bounded wait) the one the API returned. */
async function seen(deps: ModelDeps, kind: KindName, written: KubeObject): Promise<KubeObject> {
  const { namespace, name, resourceVersion } = written.metadata;
  await deps.kube.waitForVersion(kind, namespace, name, resourceVersion);
  return deps.kube.caches[kind].get(namespace, name) ?? written;
}

export async function createProject(deps: ModelDeps, viewer: Viewer, workspace: string, name: string): Promise<KubeObject> {
  authorize(viewer, 'create', name);
  requireName('project', name);
  if (!workspace || !isValidLabelValue(workspace)) throw badUserInput(`invalid workspace name ${JSON.stringify(workspace)}`, { argument: 'workspace' });
  const created = await kubeCall(() => deps.kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [WORKSPACE_LABEL]: workspace } } }));
  return seen(deps, 'Namespace', created);
}

export async function deleteProject(deps: ModelDeps, viewer: Viewer, name: string): Promise<boolean> {
  authorize(viewer, 'delete', name);
  requireName('project', name);
  const ns = cacheOf(deps, 'Namespace').get(undefined, name);
  const res = await kubeCall(() => deps.kube.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  // Namespaces finalize: the cache sees Terminating (or the namespace gone) before this returns.
  if (res?.metadata?.resourceVersion) await deps.kube.waitForVersion('Namespace', undefined, name, res.metadata.resourceVersion);
  else if (ns) await deps.kube.waitForVersion('Namespace', undefined, name, undefined, { gone: true });
  return true;
}

export interface AppliedRef {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
}

/** Server-side apply of every document (field manager kubegraph); the documents are checked before any is sent. */
export async function applyYaml(deps: ModelDeps, viewer: Viewer, namespace: string | null | undefined, yaml: string): Promise<AppliedRef[]> {
  if (namespace !== null && namespace !== undefined) requireName('namespace', namespace);
  const docs: KubeObject[] = [];
  for (const [i, doc] of parseAllDocuments(yaml).entries()) {
    if (doc.errors.length) throw badUserInput(`document ${i + 1}: invalid YAML: ${doc.errors[0].message}`, { argument: 'yaml' });
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // an empty document (a trailing ---)
    if (typeof value !== 'object' || Array.isArray(value)) throw badUserInput(`document ${i + 1}: expected a Kubernetes object`, { argument: 'yaml' });
    const o = value as Partial<KubeObject>;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || !o.metadata || typeof o.metadata.name !== 'string' || !o.metadata.name) {
      throw badUserInput(`document ${i + 1}: apiVersion, kind and metadata.name are required`, { argument: 'yaml' });
    }
    if (o.kind.endsWith('List')) throw badUserInput(`document ${i + 1}: lists are not supported; give one document per object`, { argument: 'yaml' });
    docs.push(o as KubeObject);
  }
  if (!docs.length) throw badUserInput('the YAML holds no object', { argument: 'yaml' });
  for (const o of docs) {
    const namespaced = await kubeCall(() => deps.kube.namespaced(o.apiVersion!, o.kind!));
    if (namespaced === undefined) throw badUserInput(`no kind ${o.kind} in ${o.apiVersion} on this cluster`, { argument: 'yaml' });
    if (namespaced) {
      o.metadata.namespace ??= namespace ?? 'default';
      if (namespace && o.metadata.namespace !== namespace) throw badUserInput(`${o.kind} ${o.metadata.name}: namespace ${o.metadata.namespace} does not match the namespace argument ${namespace}`, { argument: 'yaml' });
    } else delete o.metadata.namespace;
    authorize(viewer, 'update', o.metadata.namespace);
  }
  const out: AppliedRef[] = [];
  for (const o of docs) {
    const applied = await kubeCall(() => deps.kube.apply(o));
    const kind = (applied.kind ?? o.kind) as string;
    if (kind in KINDS && (applied.apiVersion ?? o.apiVersion) === KINDS[kind as KindName].apiVersion) await seen(deps, kind as KindName, applied);
    out.push({ apiVersion: applied.apiVersion ?? o.apiVersion!, kind, namespace: applied.metadata?.namespace ?? null, name: applied.metadata?.name ?? o.metadata.name });
  }
  return out;
}

function workloadTarget(deps: ModelDeps, namespace: string, kind: WorkloadKindEnum, name: string) {
  const k = WORKLOAD_KINDS[kind];
  if (!k) throw badUserInput(`unknown workload kind ${String(kind)}`, { argument: 'kind' });
  const current = cacheOf(deps, k.kind).get(namespace, name);
  if (!current) throw notFoundError(`${k.kind} ${namespace}/${name} not found`);
  return { ...k, current };
}

export async function scaleWorkload(deps: ModelDeps, viewer: Viewer, namespace: string, kind: WorkloadKindEnum, name: string, replicas: number): Promise<KubeObject> {
  authorize(viewer, 'update', namespace);
  if (!Number.isInteger(replicas) || replicas < 0) throw badUserInput(`replicas must be an integer >= 0, got ${replicas}`, { argument: 'replicas' });
  if (kind !== 'DEPLOYMENT' && kind !== 'STATEFUL_SET') throw badUserInput(`only Deployments and StatefulSets scale; ${kind} does not`, { argument: 'kind' });
  const t = workloadTarget(deps, namespace, kind, name);
  const patched = await kubeCall(() => deps.kube.mergePatch({ apiVersion: t.apiVersion, kind: t.kind, metadata: { name, namespace }, spec: { replicas } }));
  return seen(deps, t.kind, patched);
}

/** `kubectl rollout restart`: a new restartedAt annotation on the pod template makes the controller roll every pod. */
export async function restartWorkload(deps: ModelDeps, viewer: Viewer, namespace: string, kind: WorkloadKindEnum, name: string): Promise<KubeObject> {
  authorize(viewer, 'update', namespace);
  if (kind !== 'DEPLOYMENT' && kind !== 'STATEFUL_SET' && kind !== 'DAEMON_SET') throw badUserInput(`only Deployments, StatefulSets and DaemonSets restart; ${kind} does not`, { argument: 'kind' });
  const t = workloadTarget(deps, namespace, kind, name);
  const patch = { apiVersion: t.apiVersion, kind: t.kind, metadata: { name, namespace }, spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString() } } } } };
  const patched = await kubeCall(() => deps.kube.mergePatch(patch));
  return seen(deps, t.kind, patched);
}

export async function deletePod(deps: ModelDeps, viewer: Viewer, namespace: string, name: string): Promise<boolean> {
  authorize(viewer, 'delete', namespace);
  const res = await kubeCall(() => deps.kube.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace } }));
  // Graceful deletion: the cache sees the pod Terminating (deletionTimestamp) or gone.
  if (res?.metadata?.resourceVersion) await deps.kube.waitForVersion('Pod', namespace, name, res.metadata.resourceVersion, { gone: true });
  else await deps.kube.waitForVersion('Pod', namespace, name, undefined, { gone: true });
  return true;
}
