// The ReplicaSet controller (kube-controller-manager's replicaset-controller): keeps spec.replicas active pods,
// deleting the least valuable surplus pods first, and reports how many are ready and available.
import type { StoreEvent } from '../store.js';
import { timestamp } from '../store.js';
import type { Condition, KPod, KWorkload, WorkloadStatus } from '../types.js';
import { nsKey, splitKey, type ControllerContext } from './base.js';
import { POD, WorkloadController } from './workload-controller.js';
import {
  claimObjects,
  controlledBy,
  isPodActive,
  isPodReady,
  msUntilAvailable,
  omitZero,
  podCondition,
  podFromTemplate,
  setCondition,
  writeStatus,
} from './workload-util.js';

const SOURCE = { component: 'replicaset-controller' };
/** The real controller creates and deletes at most this many pods per sync. */
const BURST_REPLICAS = 500;

export class ReplicaSetController extends WorkloadController {
  constructor(ctx: ControllerContext) {
    super(ctx, { group: 'apps', plural: 'replicasets', kind: 'ReplicaSet' }, POD, SOURCE);
  }

  /** An orphan pod may be adopted by a ReplicaSet whose selector matches it (not while it is being deleted). */
  protected override childKeys(ev: StoreEvent): string[] {
    return this.adoptingKeys(ev, { skipDeleting: true });
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const rs: KWorkload | undefined = this.store.get(this.ownRt, namespace, name);
    if (!rs) return;
    let pods: KPod[] = claimObjects(this.store, this.childRt, rs);
    let failure: Condition | undefined;
    if (!rs.metadata.deletionTimestamp) {
      failure = this.manageReplicas(rs, pods.filter(isPodActive));
      pods = controlledBy(this.store, this.childRt, rs);
    }
    this.updateStatus(rs, pods, failure);
  }

  /** Creates or deletes pods to reach spec.replicas; returns a ReplicaFailure condition if creating failed. */
  private manageReplicas(rs: KWorkload, active: KPod[]): Condition | undefined {
    const want = rs.spec?.replicas ?? 1;
    const diff = active.length - want;
    if (diff < 0) {
      const count = Math.min(-diff, BURST_REPLICAS);
      for (let i = 0; i < count; i++) {
        const pod = podFromTemplate(rs, rs.spec?.template, { generateName: `${rs.metadata.name}-` });
        const refused = this.createChild(rs, pod);
        if (refused)
          return {
            type: 'ReplicaFailure',
            status: 'True',
            lastTransitionTime: timestamp(),
            reason: 'FailedCreate',
            message: refused.message,
          };
      }
    } else if (diff > 0) {
      for (const pod of podsToDelete(active, Math.min(diff, BURST_REPLICAS)))
        this.deleteChild(rs, pod, `Deleted pod: ${pod.metadata.name}`);
    }
    return undefined;
  }

  private updateStatus(rs: KWorkload, pods: KPod[], failure: Condition | undefined): void {
    const active = pods.filter(isPodActive);
    const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
    const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
    const now = Date.now();
    let ready = 0;
    let available = 0;
    let fullyLabeled = 0;
    let soonest = Infinity;
    for (const p of active) {
      const labels = p.metadata.labels ?? {};
      if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
      if (!isPodReady(p)) continue;
      ready++;
      const wait = msUntilAvailable(p, minReadySeconds, now);
      if (wait === 0) available++;
      else soonest = Math.min(soonest, wait);
    }
    // A ready pod becomes available minReadySeconds later: look again then.
    if (soonest !== Infinity) this.enqueueAfter(nsKey(rs.metadata.namespace, rs.metadata.name!), soonest + 5);
    let conditions = rs.status?.conditions ?? [];
    if (failure) conditions = setCondition(conditions, failure);
    else if (active.length === (rs.spec?.replicas ?? 1))
      conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    const status: WorkloadStatus = omitZero(
      {
        replicas: active.length,
        fullyLabeledReplicas: fullyLabeled,
        readyReplicas: ready,
        availableReplicas: available,
        observedGeneration: rs.metadata.generation,
      },
      ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'],
    );
    if (conditions.length) status.conditions = conditions;
    writeStatus(this.store, this.ownRt, rs, status);
  }
}

/**
 * The pods to delete when scaling down, least valuable first (controller.ActivePods ordering): unscheduled before
 * scheduled, pending before unknown before running, not ready before ready, more restarts first, newer first.
 */
export function podsToDelete(active: KPod[], count: number): KPod[] {
  const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
  const restarts = (p: KPod) =>
    (p.status?.containerStatuses ?? []).reduce((n, c) => Math.max(n, c.restartCount ?? 0), 0);
  const time = (s: string | undefined) => (s ? Date.parse(s) : 0);
  const ranked = [...active].sort((a, b) => {
    const sa = a.spec?.nodeName ? 1 : 0;
    const sb = b.spec?.nodeName ? 1 : 0;
    if (sa !== sb) return sa - sb;
    const pa = phaseRank[a.status?.phase ?? 'Pending'] ?? 0;
    const pb = phaseRank[b.status?.phase ?? 'Pending'] ?? 0;
    if (pa !== pb) return pa - pb;
    const ra = isPodReady(a) ? 1 : 0;
    const rb = isPodReady(b) ? 1 : 0;
    if (ra !== rb) return ra - rb;
    if (ra && rb) {
      // Ready for less time first.
      const ta = time(podCondition(a, 'Ready')?.lastTransitionTime);
      const tb = time(podCondition(b, 'Ready')?.lastTransitionTime);
      if (ta !== tb) return tb - ta;
    }
    const xa = restarts(a);
    const xb = restarts(b);
    if (xa !== xb) return xb - xa;
    const ca = time(a.metadata.creationTimestamp);
    const cb = time(b.metadata.creationTimestamp);
    if (ca !== cb) return cb - ca;
    return b.metadata.name!.localeCompare(a.metadata.name!);
  });
  return ranked.slice(0, count);
}
