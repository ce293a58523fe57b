// Per-kind defaulting, admission and validation, as the real kube-apiserver applies them on create and update:
// the defaults a client sees in `kubectl get -o yaml`, the allocations (Service cluster IPs and node ports), and
// the 422 Invalid answers with the real messages for the most common mistakes.
//
// defaults/messages.ts: the causes' wording; defaults/pods.ts: pods and pod templates; defaults/workloads.ts:
// Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs; defaults/services.ts: Services and their
// allocations; defaults/config.ts: Secrets, ConfigMaps, Namespaces, volumes and Pods' hooks.
import type { Store } from './store.js';
import {
  deploymentHooks,
  replicaSetHooks,
  statefulSetHooks,
  daemonSetHooks,
  jobHooks,
  cronJobHooks,
} from './defaults/workloads.js';
import { serviceHooks } from './defaults/services.js';
import { secretHooks, configMapHooks, namespaceHooks, pvcHooks, pvHooks, podHooks } from './defaults/config.js';

/** Registers the per-kind defaults and validation on a store (`store.hooks`, keyed `${group}/${kind}`). */
export function installKindHooks(store: Store): void {
  const h = store.hooks;
  h.set('/Pod', podHooks);
  h.set('/Service', serviceHooks(store));
  h.set('/Namespace', namespaceHooks);
  h.set('/Secret', secretHooks);
  h.set('/ConfigMap', configMapHooks);
  h.set('/ServiceAccount', {});
  h.set('/PersistentVolumeClaim', pvcHooks);
  h.set('/PersistentVolume', pvHooks);
  h.set('apps/Deployment', deploymentHooks);
  h.set('apps/ReplicaSet', replicaSetHooks);
  h.set('apps/StatefulSet', statefulSetHooks);
  h.set('apps/DaemonSet', daemonSetHooks);
  h.set('batch/Job', jobHooks);
  h.set('batch/CronJob', cronJobHooks);
}
