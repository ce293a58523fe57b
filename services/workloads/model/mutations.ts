// The actions: each validates its input, writes through the Kubernetes client, then waits (bounded) until the
// cache has seen the write, so that the object it returns — read from the cache — includes the change.
import { randomBytes } from 'node:crypto';
import { badUserInput, forbiddenError, notFoundError } from '../../common/errors.js';
import type { StoredObject } from '../../common/k8s/object.js';
import { KINDS, type KindName } from '../clients/kinds.js';
import { cacheOf, jsonOf, WORKSPACE_LABEL, type ModelDeps } from './common.js';
import { CREATOR_ANNOTATION } from '../../common/tenancy.js';
import { kubeCall } from './errors.js';
import { replicaSetsOfDeployment, revisionOf } from './resources.js';
import { isDns1123Label, isValidLabelKey, isValidLabelValue } from './selectors.js';
import { authorize, authorizeWorkspace, isPlatformAdmin, type Viewer } from '../../common/authz.js';
import { WORKLOAD_KINDS, type WorkloadKindEnum } from './workloads.js';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

function requireName(what: string, name: string): void {
  if (!isDns1123Label(name)) {
    throw badUserInput(
      `invalid ${what} name ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters`,
      { argument: 'name' },
    );
  }
}

/** Waits for the cache to see a write; the object from the cache, or (after the bounded wait) the one the API returned. */
async function seen(deps: ModelDeps, kind: KindName, written: StoredObject): Promise<StoredObject> {
  const { namespace, name, resourceVersion } = written.metadata;
  await deps.kube.waitForVersion(kind, namespace, name, resourceVersion);
  return deps.kube.caches[kind].get(namespace, name) ?? written;
}

export async function createProject(
  deps: ModelDeps,
  viewer: Viewer,
  workspace: string,
  name: string,
  podSecurity?: string | null,
): Promise<StoredObject> {
  authorizeWorkspace(viewer, 'create', workspace);
  requireName('project', name);
  if (!workspace || !isValidLabelValue(workspace))
    throw badUserInput(`invalid workspace name ${JSON.stringify(workspace)}`, { argument: 'workspace' });
  const enforce = podSecurityLevel(viewer, podSecurity);
  // A namespace labelled with a workspace that does not exist would be nobody's (or a later workspace's) project.
  if (deps.accounts && !(await deps.accounts.workspaceExists(workspace)))
    throw notFoundError(`workspace ${workspace} not found`);
  const created = await kubeCall(() =>
    deps.kube.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: { [WORKSPACE_LABEL]: workspace, [PSA_ENFORCE_LABEL]: enforce },
        annotations: { [CREATOR_ANNOTATION]: viewer.username },
      },
    }),
  );
  // The creator becomes the project's admin, as in KubeSphere: granted on this namespace's uid. A project whose
  // creator could not be recorded is removed again rather than left without the admin its creator expects.
  if (deps.accounts && created.metadata.uid) {
    try {
      await deps.accounts.grantCreator(name, created.metadata.uid, viewer.username);
    } catch (e) {
      await deps.kube.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }).catch(() => undefined);
      throw e;
    }
  }
  return seen(deps, 'Namespace', created);
}

export const PSA_ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
const PSA_LEVELS = ['privileged', 'baseline', 'restricted'];

/**
 * The Pod Security Admission level a new project enforces: baseline unless asked otherwise. Objects are applied with
 * kubegraph's credentials, so the cluster's pod guard is what keeps tenants from privileged / host pods; anyone who may
 * create the project may ask for a stricter level, only platform admins for a weaker one (privileged).
 */
function podSecurityLevel(viewer: Viewer, asked: string | null | undefined): string {
  if (asked === null || asked === undefined) return 'baseline';
  if (!PSA_LEVELS.includes(asked))
    throw badUserInput(`podSecurity must be one of ${PSA_LEVELS.join(', ')}; got ${JSON.stringify(asked)}`, {
      argument: 'podSecurity',
    });
  if (asked === 'privileged' && !isPlatformAdmin(viewer))
    throw forbiddenError(
      `${viewer.username} may not create a project without pod security (privileged): only platform admins may`,
    );
  return asked;
}

export async function deleteProject(deps: ModelDeps, viewer: Viewer, name: string): Promise<boolean> {
  // Deleting a whole project is for its admins (and workspace admins), not its operators.
  authorize(viewer, 'admin', name);
  requireName('project', name);
  const ns = cacheOf(deps, 'Namespace').get(undefined, name);
  const res = await kubeCall(() => deps.kube.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  // Namespaces finalize: the cache sees Terminating (or the namespace gone) before this returns.
  if (res?.metadata?.resourceVersion)
    await deps.kube.waitForVersion('Namespace', undefined, name, res.metadata.resourceVersion);
  else if (ns) await deps.kube.waitForVersion('Namespace', undefined, name, undefined, { gone: true });
  return true;
}

// applyYaml lives in apply.ts (all or nothing, dry run, conflicts, escalation checks).

function workloadTarget(deps: ModelDeps, namespace: string, kind: WorkloadKindEnum, name: string) {
  const k = WORKLOAD_KINDS[kind];
  if (!k) throw badUserInput(`unknown workload kind ${String(kind)}`, { argument: 'kind' });
  const current = cacheOf(deps, k.kind).get(namespace, name);
  if (!current) throw notFoundError(`${k.kind} ${namespace}/${name} not found`);
  return { ...k, current };
}

export async function scaleWorkload(
  deps: ModelDeps,
  viewer: Viewer,
  namespace: string,
  kind: WorkloadKindEnum,
  name: string,
  replicas: number,
): Promise<StoredObject> {
  authorize(viewer, 'update', namespace);
  if (!Number.isInteger(replicas) || replicas < 0)
    throw badUserInput(`replicas must be an integer >= 0, got ${replicas}`, { argument: 'replicas' });
  if (kind !== 'DEPLOYMENT' && kind !== 'STATEFUL_SET')
    throw badUserInput(`only Deployments and StatefulSets scale; ${kind} does not`, { argument: 'kind' });
  const t = workloadTarget(deps, namespace, kind, name);
  const patched = await kubeCall(() =>
    deps.kube.mergePatch({ apiVersion: t.apiVersion, kind: t.kind, metadata: { name, namespace }, spec: { replicas } }),
  );
  return seen(deps, t.kind, patched);
}

/** `kubectl rollout restart`: a new restartedAt annotation on the pod template makes the controller roll every pod. */
export async function restartWorkload(
  deps: ModelDeps,
  viewer: Viewer,
  namespace: string,
  kind: WorkloadKindEnum,
  name: string,
): Promise<StoredObject> {
  authorize(viewer, 'update', namespace);
  if (kind !== 'DEPLOYMENT' && kind !== 'STATEFUL_SET' && kind !== 'DAEMON_SET')
    throw badUserInput(`only Deployments, StatefulSets and DaemonSets restart; ${kind} does not`, { argument: 'kind' });
  const t = workloadTarget(deps, namespace, kind, name);
  const patch = {
    apiVersion: t.apiVersion,
    kind: t.kind,
    metadata: { name, namespace },
    spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString() } } } },
  };
  const patched = await kubeCall(() => deps.kube.mergePatch(patch));
  return seen(deps, t.kind, patched);
}

export async function deletePod(deps: ModelDeps, viewer: Viewer, namespace: string, name: string): Promise<boolean> {
  authorize(viewer, 'delete', namespace);
  const res = await kubeCall(() => deps.kube.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace } }));
  // Graceful deletion: the cache sees the pod Terminating (deletionTimestamp) or gone.
  if (res?.metadata?.resourceVersion)
    await deps.kube.waitForVersion('Pod', namespace, name, res.metadata.resourceVersion, { gone: true });
  else await deps.kube.waitForVersion('Pod', namespace, name, undefined, { gone: true });
  return true;
}

// ---------------------------------------------------------------- rollouts, generic metadata, CronJobs, nodes

/** The cached object of a namespaced kind, or NOT_FOUND. */
function cachedOrNotFound(deps: ModelDeps, kind: 'Deployment' | 'CronJob', namespace: string, name: string) {
  const o = cacheOf(deps, kind).get(namespace, name);
  if (!o) throw notFoundError(`${kind} ${namespace}/${name} not found`);
  return o;
}

/**
 * `kubectl rollout undo --to-revision`: the pod template of the ReplicaSet carrying that revision (minus its
 * pod-template-hash label) replaces the Deployment's; the controller then reuses that ReplicaSet under a new revision.
 * No revision (or 0): the previous one. An unknown revision is BAD_USER_INPUT; a paused Deployment must be resumed first.
 */
export async function rollbackDeployment(
  deps: ModelDeps,
  viewer: Viewer,
  namespace: string,
  name: string,
  revision: number | null | undefined,
): Promise<StoredObject> {
  authorize(viewer, 'update', namespace);
  if (revision !== null && revision !== undefined && (!Number.isInteger(revision) || revision < 0))
    throw badUserInput(`revision must be an integer >= 0, got ${revision}`, { argument: 'revision' });
  const d = cachedOrNotFound(deps, 'Deployment', namespace, name);
  if (d.spec?.paused)
    throw badUserInput(`you cannot rollback a paused deployment; resume it first with resumeRollout`, {
      argument: 'name',
    });
  const history = replicaSetsOfDeployment(deps, viewer, d).filter((rs) => revisionOf(rs) > 0);
  let target: StoredObject | undefined;
  if (!revision) {
    const current = revisionOf(d) || Math.max(0, ...history.map(revisionOf));
    target = history.find((rs) => revisionOf(rs) < current);
    if (!target)
      throw badUserInput(`no rollout history found for deployment ${namespace}/${name}`, { argument: 'revision' });
  } else {
    target = history.find((rs) => revisionOf(rs) === revision);
    if (!target)
      throw badUserInput(`unable to find the specified revision ${revision} of deployment ${namespace}/${name}`, {
        argument: 'revision',
      });
  }
  const template = structuredClone(target.spec?.template ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (template.metadata?.labels) delete template.metadata.labels[POD_TEMPLATE_HASH];
  const patched = await kubeCall(() =>
    deps.kube.jsonPatch('Deployment', namespace, name, [{ op: 'replace', path: '/spec/template', value: template }]),
  );
  return seen(deps, 'Deployment', patched);
}

export const POD_TEMPLATE_HASH = 'pod-template-hash';

/** `kubectl rollout pause` / `resume`: spec.paused. */
export async function setRolloutPaused(
  deps: ModelDeps,
  viewer: Viewer,
  namespace: string,
  name: string,
  paused: boolean,
): Promise<StoredObject> {
  authorize(viewer, 'update', namespace);
  cachedOrNotFound(deps, 'Deployment', namespace, name);
  const patched = await kubeCall(() =>
    deps.kube.mergePatch({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: { paused },
    }),
  );
  return seen(deps, 'Deployment', patched);
}

/** The kind (through discovery) and the namespace an object of it needs. */
async function target(
  deps: ModelDeps,
  viewer: Viewer,
  action: 'update' | 'delete',
  apiVersion: string,
  kind: string,
  namespace: string | null | undefined,
  name: string,
) {
  if (!apiVersion || !kind) throw badUserInput('apiVersion and kind are required', { argument: 'kind' });
  if (!name) throw badUserInput('name is required', { argument: 'name' });
  const namespaced = await kubeCall(() => deps.kube.namespaced(apiVersion, kind));
  if (namespaced === undefined)
    throw badUserInput(`no kind ${kind} in ${apiVersion} on this cluster`, { argument: 'kind' });
  if (namespaced && !namespace)
    throw badUserInput(`${kind} is namespaced: give its namespace`, { argument: 'namespace' });
  const ns = namespaced ? namespace! : undefined;
  authorize(viewer, action, ns);
  const cached = kind in KINDS && KINDS[kind as KindName].apiVersion === apiVersion ? (kind as KindName) : undefined;
  return { ns, cached };
}

/** Deletes any object; true once the cache (for the cached kinds) no longer shows it, or shows it terminating. */
export async function deleteResource(
  deps: ModelDeps,
  viewer: Viewer,
  apiVersion: string,
  kind: string,
  namespace: string | null | undefined,
  name: string,
): Promise<boolean> {
  const t = await target(deps, viewer, 'delete', apiVersion, kind, namespace, name);
  const res = await kubeCall(() =>
    deps.kube.delete({ apiVersion, kind, metadata: { name, ...(t.ns ? { namespace: t.ns } : {}) } }),
  );
  if (t.cached) await deps.kube.waitForVersion(t.cached, t.ns, name, res?.metadata?.resourceVersion, { gone: true });
  return true;
}

const isRecord = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/**
 * Labels or annotations of any object by JSON merge patch: the given keys are set, a null value deletes its key, the
 * others stay. Keys (both) and values (labels) are validated first. Returns the object as JSON (a Secret without values).
 */
export async function setMetadataMap(
  deps: ModelDeps,
  viewer: Viewer,
  field: 'labels' | 'annotations',
  apiVersion: string,
  kind: string,
  namespace: string | null | undefined,
  name: string,
  values: unknown,
): Promise<StoredObject> {
  if (!isRecord(values))
    throw badUserInput(`${field} must be a JSON object of strings (null deletes a key)`, { argument: field });
  for (const [k, v] of Object.entries(values)) {
    if (!isValidLabelKey(k))
      throw badUserInput(
        `invalid ${field === 'labels' ? 'label' : 'annotation'} key ${JSON.stringify(k)}: a qualified name ([prefix/]name, name at most 63 characters of alphanumerics, '-', '_', '.')`,
        { argument: field },
      );
    if (v !== null && typeof v !== 'string')
      throw badUserInput(`the value of ${k} must be a string or null`, { argument: field });
    if (field === 'labels' && typeof v === 'string' && !isValidLabelValue(v))
      throw badUserInput(
        `invalid label value ${JSON.stringify(v)} for ${k}: at most 63 alphanumerics, '-', '_', '.', starting and ending with an alphanumeric`,
        { argument: field },
      );
  }
  const t = await target(deps, viewer, 'update', apiVersion, kind, namespace, name);
  const patched = await kubeCall(() =>
    deps.kube.mergePatch({
      apiVersion,
      kind,
      metadata: { name, ...(t.ns ? { namespace: t.ns } : {}), [field]: values },
    }),
  );
  return jsonOf(t.cached ? await seen(deps, t.cached, patched) : patched);
}

export async function setCronJobSuspended(
  deps: ModelDeps,
  viewer: Viewer,
  namespace: string,
  name: string,
  suspend: boolean,
): Promise<StoredObject> {
  authorize(viewer, 'update', namespace);
  cachedOrNotFound(deps, 'CronJob', namespace, name);
  const patched = await kubeCall(() =>
    deps.kube.mergePatch({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name, namespace }, spec: { suspend } }),
  );
  return seen(deps, 'CronJob', patched);
}

export const INSTANTIATE = 'cronjob.kubernetes.io/instantiate';

/** `kubectl create job <cj>-manual-xxxxx --from=cronjob/<cj>`: a Job from the jobTemplate, owned by the CronJob. */
export async function triggerCronJob(
  deps: ModelDeps,
  viewer: Viewer,
  namespace: string,
  name: string,
): Promise<StoredObject> {
  authorize(viewer, 'create', namespace);
  const cj = cachedOrNotFound(deps, 'CronJob', namespace, name);
  const tpl = (cj.spec?.jobTemplate ?? {}) as {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: unknown;
  };
  const suffix = Array.from(randomBytes(5), (b) => 'bcdfghjklmnpqrstvwxz2456789'[b % 27]).join('');
  const job: StoredObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${name.slice(0, 63 - '-manual-'.length - 5)}-manual-${suffix}`,
      namespace,
      ...(tpl.metadata?.labels ? { labels: tpl.metadata.labels } : {}),
      annotations: { ...(tpl.metadata?.annotations ?? {}), [INSTANTIATE]: 'manual' },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name, uid: cj.metadata.uid ?? '', controller: true },
      ],
    },
    spec: tpl.spec ?? {},
  };
  const created = await kubeCall(() => deps.kube.create(job));
  return seen(deps, 'Job', created);
}

/** `kubectl cordon` / `uncordon`: spec.unschedulable (removed on uncordon). */
export async function setNodeUnschedulable(
  deps: ModelDeps,
  viewer: Viewer,
  name: string,
  unschedulable: boolean,
): Promise<StoredObject> {
  authorize(viewer, 'update');
  if (!cacheOf(deps, 'Node').get(undefined, name)) throw notFoundError(`Node ${name} not found`);
  const patched = await kubeCall(() =>
    deps.kube.mergePatch({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      spec: { unschedulable: unschedulable ? true : null },
    }),
  );
  return seen(deps, 'Node', patched);
}
