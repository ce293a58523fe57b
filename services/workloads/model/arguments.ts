// The one gate every entry point of the workloads model passes: the names, namespaces, kinds and apiVersions among its
// arguments are checked (services/common/k8s/names.ts) before the model runs, so a value that would walk the API path
// ("..", "a/../..", "v1/../../api") is BAD_USER_INPUT naming its argument and never reaches the client. The table
// must classify every function of the model (the compiler enforces it), so a new query or mutation cannot skip it.
import {
  nameRuleOf,
  validateName,
  validateNamespace,
  validateObjectRef,
  type NameRule,
} from '../../common/k8s/names.js';
import { KINDS, type KindName } from '../clients/kinds.js';
import type { buildWorkloadsModel } from './index.js';

/** An optional namespace argument (absent or null: all namespaces the viewer may see). */
function optionalNamespace(value: unknown, argument = 'namespace'): void {
  if (value !== undefined && value !== null) validateNamespace(value, argument);
}

/** The name rule of a kind of the informer registry. */
export const ruleOf = (kind: KindName): NameRule => nameRuleOf(KINDS[kind].apiVersion, kind);

const WORKLOAD_KIND: Record<string, KindName> = {
  DEPLOYMENT: 'Deployment',
  STATEFUL_SET: 'StatefulSet',
  DAEMON_SET: 'DaemonSet',
  JOB: 'Job',
  CRON_JOB: 'CronJob',
};

/** A namespace and a name of a registry kind. */
export function namespacedName(kind: KindName, namespace: unknown, name: unknown): void {
  validateNamespace(namespace);
  validateName(ruleOf(kind), name);
}

/** A workload reference (namespace, kind enum, name); an unknown kind is left to the model, which names it. */
export function workloadRef(ref: { namespace?: unknown; kind?: unknown; name?: unknown }): void {
  validateNamespace(ref.namespace);
  validateName(ruleOf(WORKLOAD_KIND[String(ref.kind)] ?? 'Deployment'), ref.name);
}

/** Any object by apiVersion, kind, namespace and name (deleteResource, setLabels, setAnnotations). */
export function genericRef(ref: { apiVersion: unknown; kind: unknown; namespace?: unknown; name: unknown }): void {
  validateObjectRef(ref);
}

/** The arguments of list queries and subscriptions: the namespace, and a workload name when one is given. */
export function listArgs(args: { namespace?: unknown; kind?: unknown; name?: unknown } | null | undefined): void {
  optionalNamespace(args?.namespace);
  if (args?.name !== undefined && args.name !== null)
    validateName(ruleOf(WORKLOAD_KIND[String(args.kind)] ?? 'Deployment'), args.name);
}

/** A checker gets the arguments of the model function it guards. */
type Checker<F> = F extends (...args: infer A) => unknown ? (...args: A) => void : never;
type FunctionKeys<M> = { [K in keyof M]: M[K] extends (...args: never[]) => unknown ? K : never }[keyof M];

/**
 * For each model function: its checker, or why it needs none — `none` (no name, namespace, kind or apiVersion from
 * the caller: objects from the caches, views of them, filters), `model` (the model checks them itself, after
 * authorizing, as the authorization matrix expects of createProject's name).
 */
export type ArgumentChecks<M> = { [K in FunctionKeys<M>]: Checker<M[K]> | 'none' | 'model' };

/** The model with every function preceded by its checker. */
export function guarded<M extends object>(model: M, checks: ArgumentChecks<M>): M {
  const out = { ...model } as Record<string, unknown>;
  for (const [key, check] of Object.entries(checks) as [string, unknown][]) {
    const fn = out[key];
    if (typeof check !== 'function' || typeof fn !== 'function') continue;
    out[key] = (...args: unknown[]) => {
      (check as (...a: unknown[]) => void)(...args);
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
  }
  return out as M;
}

/** The checks of the workloads model, one per function. */
export const WORKLOADS_MODEL_CHECKS: ArgumentChecks<ReturnType<typeof buildWorkloadsModel>> = {
  // ---- reads
  pods: (_viewer, args) => listArgs(args),
  pod: (_viewer, namespace, name) => namespacedName('Pod', namespace, name),
  podsOfNode: 'none',
  podsOfProject: 'none',
  podsOfWorkload: 'none',
  podEvents: 'none',
  podOwner: 'none',
  podNode: 'none',
  nodes: 'none',
  node: (_viewer, name) => validateName(ruleOf('Node'), name),
  projects: 'none',
  project: (_viewer, name) => validateName(ruleOf('Namespace'), name),
  projectsOfWorkspace: 'none',
  workloads: (_viewer, args) => listArgs(args),
  workload: (_viewer, ref) => workloadRef(ref),
  workloadsOfProject: 'none',
  resources: (_viewer, _kind, args) => listArgs(args),
  resource: (_viewer, kind, namespace, name) => {
    optionalNamespace(namespace);
    validateName(ruleOf(kind), name);
  },
  events: (_viewer, args) => listArgs(args),
  podsOfService: 'none',
  serviceEndpoints: 'none',
  nodeAllocated: 'none',
  servicesOfPod: 'none',
  replicaSetsOfDeployment: 'none',
  secretValues: 'none',
  crdObjects: (_viewer, _crd, args) => listArgs(args),
  revisionOf: 'none',
  phaseOf: 'none',
  crdVersion: 'none',
  // ---- live
  subscribePods: (_viewer, args) => listArgs(args),
  subscribeWorkloads: (_viewer, args) => listArgs(args),
  subscribeEvents: (_viewer, args) => listArgs(args),
  liveSubscribers: 'none',
  // ---- writes
  createProject: 'model',
  deleteProject: (_viewer, name) => validateName(ruleOf('Namespace'), name),
  applyYaml: (_viewer, namespace) => optionalNamespace(namespace),
  scaleWorkload: (_viewer, ref) => workloadRef(ref),
  restartWorkload: (_viewer, ref) => workloadRef(ref),
  deletePod: (_viewer, namespace, name) => namespacedName('Pod', namespace, name),
  rollbackDeployment: (_viewer, namespace, name) => namespacedName('Deployment', namespace, name),
  pauseRollout: (_viewer, namespace, name) => namespacedName('Deployment', namespace, name),
  resumeRollout: (_viewer, namespace, name) => namespacedName('Deployment', namespace, name),
  deleteResource: (_viewer, ref) => genericRef(ref),
  setLabels: (_viewer, ref) => genericRef(ref),
  setAnnotations: (_viewer, ref) => genericRef(ref),
  suspendCronJob: (_viewer, namespace, name) => namespacedName('CronJob', namespace, name),
  resumeCronJob: (_viewer, namespace, name) => namespacedName('CronJob', namespace, name),
  triggerCronJob: (_viewer, namespace, name) => namespacedName('CronJob', namespace, name),
  cordonNode: (_viewer, name) => validateName(ruleOf('Node'), name),
  uncordonNode: (_viewer, name) => validateName(ruleOf('Node'), name),
};
