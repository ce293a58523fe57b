// The Deployment controller (kube-controller-manager's deployment-controller), following the real sync loop:
// ReplicaSets named <deployment>-<pod-template-hash>, revisions, proportional scaling, RollingUpdate and Recreate,
// rollback by template (an old ReplicaSet is reused with a new revision), pause, history cleanup, and the status
// and conditions `kubectl rollout status` reads.
import { ApiError } from '../errors.js';
import type { StoreEvent } from '../store.js';
import type { Condition, KObject, KWorkload, WorkloadStatus } from '../types.js';
import { nsKey, splitKey, type ControllerContext } from './base.js';
import { WorkloadController } from './workload-controller.js';
import { recordEvent } from './events.js';
import {
  claimObjects,
  computeHash,
  controllerRefOf,
  isControlledBy,
  isPodTerminal,
  POD_TEMPLATE_HASH,
  rfc3339,
  setCondition,
  templatesEqualIgnoringHash,
  writeStatus,
} from './workload-util.js';
import {
  byCreation,
  calculateStatus,
  DESIRED_REPLICAS,
  deploymentComplete,
  MAX_REPLICAS,
  maxSurge,
  maxUnavailable,
  NOT_COPIED,
  progressing,
  type RS,
  replicasOf,
  REVISION,
  REVISION_HISTORY,
  revisionOf,
  sum,
} from './deployment-util.js';

export { REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS } from './deployment-util.js';

const SOURCE = { component: 'deployment-controller' };

export class DeploymentController extends WorkloadController {
  /** The progress mark (lastUpdateTime) each deployment's deadline check is already set for. */
  private readonly deadlineChecks = new Map<string, number>();

  constructor(ctx: ControllerContext) {
    super(
      ctx,
      { group: 'apps', plural: 'deployments', kind: 'Deployment' },
      { group: 'apps', plural: 'replicasets', kind: 'ReplicaSet' },
      SOURCE,
    );
  }

  /** An orphan ReplicaSet may be adopted by a Deployment whose selector matches it. */
  protected override childKeys(ev: StoreEvent): string[] {
    return this.adoptingKeys(ev, { skipDeleting: false });
  }

  protected override otherKeys(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    // Recreate waits for the old pods to be gone.
    if (rt.group === '' && rt.kind === 'Pod' && ev.type === 'DELETED') {
      const ref = controllerRefOf(object);
      if (ref?.kind !== 'ReplicaSet') return [];
      const rs = this.store.get(this.childRt, object.metadata.namespace, ref.name);
      const dref = rs && controllerRefOf(rs);
      if (dref?.kind !== 'Deployment') return [];
      const d = this.store.get(this.ownRt, object.metadata.namespace, dref.name);
      return d?.spec?.strategy?.type === 'Recreate' ? [nsKey(d.metadata.namespace, d.metadata.name!)] : [];
    }
    return [];
  }

  // ------------------------------------------------------------------ sync

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const found = this.store.get(this.ownRt, namespace, name);
    if (!found) return;
    const d = structuredClone(found);
    const rsList = claimObjects(this.store, this.childRt, d).map((rs) => structuredClone(rs));
    if (d.metadata.deletionTimestamp) {
      this.syncStatusOnly(d, rsList);
      return;
    }
    this.checkPausedConditions(d);
    if (d.spec?.paused) {
      this.sync(d, rsList);
      return;
    }
    if (this.isScalingEvent(d, rsList)) {
      this.sync(d, rsList);
      return;
    }
    if (d.spec?.strategy?.type === 'Recreate') this.rolloutRecreate(d, rsList);
    else this.rolloutRolling(d, rsList);
  }

  /** Splits the ReplicaSets into the new one (template equal to the deployment's) and the old ones. */
  private findNewRS(d: KWorkload, rsList: RS[]): { newRS?: RS; oldRSs: RS[] } {
    const sorted = [...rsList].sort(byCreation);
    const newRS = sorted.find((rs) => templatesEqualIgnoringHash(rs.spec?.template, d.spec?.template));
    return { newRS, oldRSs: sorted.filter((rs) => rs !== newRS) };
  }

  /**
   * getAllReplicaSetsAndSyncRevision: the new ReplicaSet (created if asked) with its revision set above every old
   * one, and the deployment's revision annotation in step with it.
   */
  private getAllRSs(d: KWorkload, rsList: RS[], create: boolean): { newRS?: RS; oldRSs: RS[] } {
    const { newRS: existing, oldRSs } = this.findNewRS(d, rsList);
    const maxOld = oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const newRevision = String(maxOld + 1);
    let newRS = existing;
    if (existing) {
      const copy = structuredClone(existing);
      let changed = this.setNewRSAnnotations(d, copy, newRevision, true);
      if ((copy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0)) {
        (copy.spec ??= {}).minReadySeconds = d.spec?.minReadySeconds ?? 0;
        changed = true;
      }
      if (changed) newRS = this.store.update(this.childRt, copy);
      newRS = structuredClone(newRS!);
      // Later steps of this sync see the updated object.
      const i = rsList.indexOf(existing);
      if (i >= 0) rsList[i] = newRS;
      const j = oldRSs.indexOf(existing);
      if (j >= 0) oldRSs.splice(j, 1);
      this.setDeploymentRevision(d, newRS.metadata.annotations?.[REVISION] ?? newRevision);
      if (!d.status?.conditions?.some((c) => c.type === 'Progressing')) {
        this.setDCondition(
          d,
          'Progressing',
          'True',
          'FoundNewReplicaSet',
          `Found new replica set "${newRS.metadata.name}"`,
        );
        this.flushStatus(d);
      }
    } else if (create) {
      newRS = this.createNewRS(d, oldRSs, newRevision);
    }
    return { newRS, oldRSs };
  }

  private createNewRS(d: KWorkload, oldRSs: RS[], newRevision: string): RS {
    const template = structuredClone(d.spec?.template ?? {});
    const hash = computeHash(d.spec?.template, d.status?.collisionCount);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const selector = structuredClone(d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const rs: KObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...(template.metadata.labels ?? {}) },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: d.metadata.name!,
            uid: d.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    const all = [...oldRSs];
    const count = this.newRSNewReplicas(d, all, rs);
    rs.spec.replicas = count;
    this.setNewRSAnnotations(d, rs, newRevision, false);
    let created: RS;
    try {
      created = this.store.create(this.childRt, rs);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409 && e.reason === 'AlreadyExists')) throw e;
      const existing = this.store.get(this.childRt, d.metadata.namespace, rs.metadata.name!);
      if (
        existing &&
        isControlledBy(existing, d) &&
        templatesEqualIgnoringHash(existing.spec?.template, d.spec?.template)
      ) {
        // Ours already (a stale view): the next sync finds it.
        throw new ApiError(409, 'Conflict', 'new replica set exists already');
      }
      // A hash collision: count it so the next hash differs.
      this.store.update(
        this.ownRt,
        {
          ...this.store.mustGet(this.ownRt, d.metadata.namespace, d.metadata.name!),
          status: {
            ...(d.status ?? {}),
            collisionCount: (d.status?.collisionCount ?? 0) + 1,
          },
        },
        { subresource: 'status' },
      );
      throw new ApiError(409, 'Conflict', 'replica set name collision');
    }
    if (count > 0) {
      recordEvent(
        this.store,
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata.name} from 0 to ${count}`,
        SOURCE,
      );
    }
    this.setDeploymentRevision(d, newRevision);
    this.setDCondition(
      d,
      'Progressing',
      'True',
      'NewReplicaSetCreated',
      `Created new replica set "${created.metadata.name}"`,
    );
    this.flushStatus(d);
    return structuredClone(created);
  }

  /** Copies the deployment's annotations and sets revision, desired and max replicas; says whether anything changed. */
  private setNewRSAnnotations(d: KWorkload, rs: RS, newRevision: string, exists: boolean): boolean {
    const before = JSON.stringify(rs.metadata.annotations ?? {});
    const ann: Record<string, string> = { ...(rs.metadata.annotations ?? {}) };
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) ann[k] = v;
    const old = ann[REVISION];
    if (!old || Number(old) < Number(newRevision)) {
      ann[REVISION] = newRevision;
      if (old && exists) ann[REVISION_HISTORY] = ann[REVISION_HISTORY] ? `${ann[REVISION_HISTORY]},${old}` : old;
    }
    if (!exists) {
      ann[DESIRED_REPLICAS] = String(replicasOf(d));
      ann[MAX_REPLICAS] = String(replicasOf(d) + maxSurge(d));
    }
    rs.metadata.annotations = ann;
    return JSON.stringify(ann) !== before;
  }

  /** Writes the revision annotation on the deployment itself (a metadata update: no new generation). */
  private setDeploymentRevision(d: KWorkload, revision: string): void {
    if (d.metadata.annotations?.[REVISION] === revision) return;
    const cur = structuredClone(this.store.mustGet(this.ownRt, d.metadata.namespace, d.metadata.name!));
    if (cur.metadata.uid !== d.metadata.uid) throw new ApiError(409, 'Conflict', 'deployment was replaced');
    cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [REVISION]: revision };
    const updated = this.store.update(this.ownRt, cur);
    d.metadata = structuredClone(updated.metadata);
  }

  private setDCondition(d: KWorkload, type: string, status: string, reason: string, message: string): void {
    const now = rfc3339(Date.now());
    d.status ??= {};
    d.status.conditions = setCondition(d.status.conditions ?? [], {
      type,
      status,
      lastUpdateTime: now,
      lastTransitionTime: now,
      reason,
      message,
    });
  }

  private flushStatus(d: KWorkload): void {
    const updated = writeStatus(this.store, this.ownRt, d, d.status ?? {});
    if (updated) d.metadata = structuredClone(updated.metadata);
  }

  private newRSNewReplicas(d: KWorkload, allRSs: RS[], newRS: RS): number {
    if (d.spec?.strategy?.type === 'Recreate') return replicasOf(d);
    const current = sum(allRSs, replicasOf) + (allRSs.includes(newRS) ? 0 : replicasOf(newRS));
    const maxTotal = replicasOf(d) + maxSurge(d);
    if (current >= maxTotal) return replicasOf(newRS);
    const up = Math.min(maxTotal - current, replicasOf(d) - replicasOf(newRS));
    return replicasOf(newRS) + Math.max(0, up);
  }

  /** Scales a ReplicaSet (and its desired/max annotations), with the ScalingReplicaSet event; returns the new object. */
  private scaleRS(rs: RS, to: number, d: KWorkload, rsList?: RS[]): RS {
    const from = replicasOf(rs);
    const ann = rs.metadata.annotations ?? {};
    const desired = String(replicasOf(d));
    const max = String(replicasOf(d) + maxSurge(d));
    if (from === to && ann[DESIRED_REPLICAS] === desired && ann[MAX_REPLICAS] === max) return rs;
    const copy = structuredClone(rs);
    (copy.spec ??= {}).replicas = to;
    copy.metadata.annotations = { ...ann, [DESIRED_REPLICAS]: desired, [MAX_REPLICAS]: max };
    const updated = structuredClone(this.store.update(this.childRt, copy));
    if (from !== to) {
      const dir = to > from ? 'up' : 'down';
      recordEvent(
        this.store,
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${dir} replica set ${rs.metadata.name} from ${from} to ${to}`,
        SOURCE,
      );
    }
    if (rsList) {
      const i = rsList.findIndex((x) => x.metadata.uid === rs.metadata.uid);
      if (i >= 0) rsList[i] = updated;
    }
    return updated;
  }

  // ------------------------------------------------------------------ pause and scaling

  private checkPausedConditions(d: KWorkload): void {
    const cond = d.status?.conditions?.find((c) => c.type === 'Progressing');
    if (cond?.reason === 'ProgressDeadlineExceeded') return;
    const paused = Boolean(d.spec?.paused);
    if (paused && cond?.reason !== 'DeploymentPaused') {
      this.setDCondition(d, 'Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
      this.flushStatus(d);
    } else if (!paused && cond?.reason === 'DeploymentPaused') {
      this.setDCondition(d, 'Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
      this.flushStatus(d);
    }
  }

  private isScalingEvent(d: KWorkload, rsList: RS[]): boolean {
    const { newRS, oldRSs } = this.getAllRSs(d, rsList, false);
    for (const rs of [...oldRSs, ...(newRS ? [newRS] : [])]) {
      if (replicasOf(rs) <= 0) continue;
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      if (desired === undefined) continue;
      if (Number(desired) !== replicasOf(d)) return true;
    }
    return false;
  }

  /** Scaling only (no rollout): for paused deployments and replica count changes. */
  private sync(d: KWorkload, rsList: RS[]): void {
    let { newRS, oldRSs } = this.getAllRSs(d, rsList, false);
    ({ newRS, oldRSs } = this.scale(d, newRS, oldRSs));
    if (d.spec?.paused) this.cleanup(d, oldRSs);
    this.syncDeploymentStatus(d, [...oldRSs, ...(newRS ? [newRS] : [])], newRS);
  }

  private scale(d: KWorkload, newRS: RS | undefined, oldRSs: RS[]): { newRS?: RS; oldRSs: RS[] } {
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    const replace = (rs: RS) => {
      if (newRS && rs.metadata.uid === newRS.metadata.uid) newRS = rs;
      else oldRSs = oldRSs.map((o) => (o.metadata.uid === rs.metadata.uid ? rs : o));
    };
    const active = all.filter((rs) => replicasOf(rs) > 0);
    // FindActiveOrLatest
    let activeOrLatest: RS | undefined;
    if (active.length === 1) activeOrLatest = active[0];
    else if (active.length === 0) activeOrLatest = newRS ?? [...oldRSs].sort(byCreation).at(-1);
    if (activeOrLatest) {
      if (
        replicasOf(activeOrLatest) !== replicasOf(d) ||
        activeOrLatest.metadata.annotations?.[DESIRED_REPLICAS] !== String(replicasOf(d))
      ) {
        replace(this.scaleRS(activeOrLatest, replicasOf(d), d));
      }
      return { newRS, oldRSs };
    }
    // A saturated new ReplicaSet: the old ones go.
    if (
      newRS &&
      replicasOf(newRS) === replicasOf(d) &&
      newRS.metadata.annotations?.[DESIRED_REPLICAS] === String(replicasOf(d)) &&
      (newRS.status?.availableReplicas ?? 0) === replicasOf(d)
    ) {
      for (const rs of oldRSs.filter((o) => replicasOf(o) > 0)) replace(this.scaleRS(rs, 0, d));
      return { newRS, oldRSs };
    }
    if (d.spec?.strategy?.type === 'Recreate') return { newRS, oldRSs };
    // Proportional scaling of every active ReplicaSet.
    const allReplicas = sum(active, replicasOf);
    const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
    const toAdd = allowed - allReplicas;
    const sorted = [...active].sort((a, b) => {
      if (replicasOf(a) !== replicasOf(b)) return replicasOf(b) - replicasOf(a);
      return toAdd > 0 ? byCreation(b, a) : byCreation(a, b);
    });
    const sizes = new Map<string, number>();
    let added = 0;
    for (const rs of sorted) {
      let proportion = 0;
      if (toAdd !== 0 && replicasOf(rs) !== 0 && toAdd !== added) {
        const fraction = this.rsFraction(rs, d);
        const left = toAdd - added;
        proportion = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
      }
      sizes.set(rs.metadata.uid!, replicasOf(rs) + proportion);
      added += proportion;
    }
    if (toAdd !== 0 && sorted.length) {
      const first = sorted[0].metadata.uid!;
      sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
    }
    for (const rs of sorted) replace(this.scaleRS(rs, Math.max(0, sizes.get(rs.metadata.uid!)!), d));
    return { newRS, oldRSs };
  }

  private rsFraction(rs: RS, d: KWorkload): number {
    if (replicasOf(d) === 0) return -replicasOf(rs);
    const maxReplicas = replicasOf(d) + maxSurge(d);
    const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? NaN);
    const before = Number.isNaN(annotated) ? (d.status?.replicas ?? 0) : annotated;
    if (!before) return 0;
    return Math.round((replicasOf(rs) * maxReplicas) / before) - replicasOf(rs);
  }

  // ------------------------------------------------------------------ strategies

  private rolloutRolling(d: KWorkload, rsList: RS[]): void {
    const { newRS, oldRSs } = this.getAllRSs(d, rsList, true);
    const all = [...oldRSs, newRS!];
    // reconcileNewReplicaSet
    if (replicasOf(newRS) !== replicasOf(d)) {
      const target = replicasOf(newRS) > replicasOf(d) ? replicasOf(d) : this.newRSNewReplicas(d, all, newRS!);
      if (target !== replicasOf(newRS)) {
        const scaled = this.scaleRS(newRS!, target, d, all);
        this.syncRolloutStatus(d, all, scaled);
        return;
      }
    }
    // reconcileOldReplicaSets
    if (this.reconcileOldRSs(d, all, newRS!)) {
      this.syncRolloutStatus(d, all, all[all.length - 1]);
      return;
    }
    if (deploymentComplete(d, d.status ?? {})) this.cleanup(d, all.slice(0, -1));
    this.syncRolloutStatus(d, all, all[all.length - 1]);
  }

  /** Scales old ReplicaSets down as far as maxUnavailable allows; `all` is updated in place (new RS last). */
  private reconcileOldRSs(d: KWorkload, all: RS[], newRS: RS): boolean {
    const old = () => all.slice(0, -1);
    if (sum(old(), replicasOf) === 0) return false;
    const allPods = sum(all, replicasOf);
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    // Unhealthy old replicas go first, without counting against availability.
    let cleaned = 0;
    for (const rs of [...old()].sort(byCreation)) {
      if (cleaned >= maxScaledDown) break;
      if (replicasOf(rs) === 0) continue;
      const unhealthy = replicasOf(rs) - (rs.status?.availableReplicas ?? 0);
      if (unhealthy <= 0) continue;
      const n = Math.min(maxScaledDown - cleaned, unhealthy);
      this.scaleRS(rs, replicasOf(rs) - n, d, all);
      cleaned += n;
    }
    // Then available ones, as long as minAvailable stays met.
    const availablePods = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    let scaled = 0;
    if (availablePods > minAvailable) {
      const total = availablePods - minAvailable;
      for (const rs of [...old()].sort(byCreation)) {
        if (scaled >= total) break;
        const current = all.find((x) => x.metadata.uid === rs.metadata.uid)!;
        if (replicasOf(current) === 0) continue;
        const n = Math.min(replicasOf(current), total - scaled);
        this.scaleRS(current, replicasOf(current) - n, d, all);
        scaled += n;
      }
    }
    return cleaned + scaled > 0;
  }

  private rolloutRecreate(d: KWorkload, rsList: RS[]): void {
    let { newRS, oldRSs } = this.getAllRSs(d, rsList, false);
    let all = [...oldRSs, ...(newRS ? [newRS] : [])];
    let scaledDown = false;
    for (const rs of oldRSs.filter((o) => replicasOf(o) > 0)) {
      this.scaleRS(rs, 0, d, all);
      scaledDown = true;
    }
    if (scaledDown) {
      this.syncRolloutStatus(d, all, newRS && all.find((x) => x.metadata.uid === newRS!.metadata.uid));
      return;
    }
    if (this.oldPodsRunning(d, newRS, oldRSs)) {
      this.syncRolloutStatus(d, all, newRS);
      return;
    }
    if (!newRS) {
      ({ newRS, oldRSs } = this.getAllRSs(d, rsList, true));
      all = [...oldRSs, newRS!];
    }
    if (replicasOf(newRS) !== replicasOf(d)) this.scaleRS(newRS!, replicasOf(d), d, all);
    newRS = all.find((x) => x.metadata.uid === newRS!.metadata.uid);
    if (deploymentComplete(d, d.status ?? {})) this.cleanup(d, oldRSs);
    this.syncRolloutStatus(d, all, newRS);
  }

  /** Whether any pod of an old ReplicaSet still exists and has not finished (terminating ones included). */
  private oldPodsRunning(d: KWorkload, newRS: RS | undefined, oldRSs: RS[]): boolean {
    if (oldRSs.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
    const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    return this.store.list(this.store.type('', 'pods'), d.metadata.namespace).some((p) => {
      const ref = controllerRefOf(p);
      return ref !== undefined && oldUids.has(ref.uid) && ref.uid !== newRS?.metadata.uid && !isPodTerminal(p);
    });
  }

  /** Deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private cleanup(d: KWorkload, oldRSs: RS[]): void {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0) continue;
      if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        this.store.delete(this.childRt, rs.metadata.namespace, rs.metadata.name!, { propagationPolicy: 'Background' });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
  }

  // ------------------------------------------------------------------ status

  private syncDeploymentStatus(d: KWorkload, all: RS[], newRS: RS | undefined): void {
    d.status = calculateStatus(d, all, newRS);
    this.flushStatus(d);
  }

  private syncStatusOnly(d: KWorkload, rsList: RS[]): void {
    const { newRS, oldRSs } = this.getAllRSs(d, rsList, false);
    this.syncDeploymentStatus(d, [...oldRSs, ...(newRS ? [newRS] : [])], newRS);
  }

  private syncRolloutStatus(d: KWorkload, all: RS[], newRS: RS | undefined): void {
    // The freshest ReplicaSets: scaling this round changed their spec, and their status may have moved.
    const fresh: RS[] = all.map((rs) => this.store.get(this.childRt, rs.metadata.namespace, rs.metadata.name!) ?? rs);
    const freshNew = newRS && fresh.find((rs) => rs.metadata.uid === newRS.metadata.uid);
    const oldStatus: WorkloadStatus = d.status ?? {};
    const status = calculateStatus(d, fresh, freshNew);
    const deadline = d.spec?.progressDeadlineSeconds ?? 600;
    const cond = status.conditions.find((c) => c.type === 'Progressing');
    const isComplete =
      (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && cond?.reason === 'NewReplicaSetAvailable';
    const now = rfc3339(Date.now());
    const key = nsKey(d.metadata.namespace, d.metadata.name!);
    if (!isComplete && !d.spec?.paused) {
      const name = freshNew?.metadata.name ?? '';
      if (deploymentComplete(d, status)) {
        status.conditions = setCondition(status.conditions, {
          type: 'Progressing',
          status: 'True',
          lastUpdateTime: now,
          lastTransitionTime: now,
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${name}" has successfully progressed.`,
        });
      } else if (progressing(oldStatus, status)) {
        // Every sign of progress refreshes lastUpdateTime (the progress deadline counts from it).
        const next: Condition = {
          type: 'Progressing',
          status: 'True',
          lastUpdateTime: now,
          lastTransitionTime: now,
          reason: 'ReplicaSetUpdated',
          message: `ReplicaSet "${name}" is progressing.`,
        };
        if (cond?.status === 'True') next.lastTransitionTime = cond.lastTransitionTime;
        status.conditions = [...status.conditions.filter((c) => c.type !== 'Progressing'), next];
      } else if (
        cond &&
        !['ProgressDeadlineExceeded', 'NewReplicaSetAvailable'].includes(cond.reason ?? '') &&
        cond.status !== 'Unknown'
      ) {
        const since = Date.parse(cond.lastUpdateTime ?? '');
        const left = since + deadline * 1000 - Date.now();
        if (left <= 0) {
          status.conditions = setCondition(status.conditions, {
            type: 'Progressing',
            status: 'False',
            lastUpdateTime: now,
            lastTransitionTime: now,
            reason: 'ProgressDeadlineExceeded',
            message: `ReplicaSet "${name}" has timed out progressing.`,
          });
          recordEvent(
            this.store,
            d,
            'Warning',
            'ProgressDeadlineExceeded',
            `Deployment "${d.metadata.name}" has timed out progressing.`,
            SOURCE,
          );
        } else if (this.deadlineChecks.get(key) !== since) {
          // One wake-up per progress mark, to see whether the deadline passed.
          this.deadlineChecks.set(key, since);
          this.enqueueAfter(key, left + 10);
        }
      }
    }
    // ReplicaFailure mirrors the ReplicaSets'.
    const failure = fresh.map((rs) => rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure')).find(Boolean);
    if (failure) {
      status.conditions = setCondition(status.conditions, { ...failure, lastUpdateTime: now });
    } else {
      status.conditions = status.conditions.filter((c) => c.type !== 'ReplicaFailure');
    }
    d.status = status;
    this.flushStatus(d);
  }
}
