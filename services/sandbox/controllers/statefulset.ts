// The StatefulSet controller (statefulset-controller): stable pod names <set>-<ordinal>, ordered (OrderedReady) or
// parallel creation, scale-down from the highest ordinal, PVCs from volumeClaimTemplates, ControllerRevisions and
// rolling updates from the highest ordinal down to the partition.
import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors.js';
import type { KObject, KPod, KStorageClass, KWorkload, PodTemplateSpec, Volume, WorkloadStatus } from '../types.js';
import { nsKey, splitKey, type ControllerContext } from './base.js';
import { recordEvent } from './events.js';
import { localPathVolume } from './pvc-binder.js';
import type { ResourceType } from '../registry.js';
import { POD, WorkloadController } from './workload-controller.js';
import { claimObjects, controlledBy, podFromTemplate } from './workload-util.js';
import { isPodReady, msUntilAvailable } from './workload-util.js';
import { omitZero, writeStatus } from './workload-util.js';
import { CONTROLLER_REVISION_HASH, listRevisions, pruneRevisions, templateRevision } from './workload-util.js';

const SOURCE = { component: 'statefulset-controller' };
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** The label a StatefulSet's ControllerRevisions carry their hash in. */
const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

const revisionOfPod = (p: KPod) => p.metadata.labels?.[CONTROLLER_REVISION_HASH];
const isTerminating = (p: KPod) => Boolean(p.metadata.deletionTimestamp);
const isFailed = (p: KPod) => p.status?.phase === 'Failed';
const isSucceeded = (p: KPod) => p.status?.phase === 'Succeeded';
const isRunningAndReady = (p: KPod) => p.status?.phase === 'Running' && isPodReady(p);

export class StatefulSetController extends WorkloadController {
  constructor(ctx: ControllerContext) {
    super(ctx, { group: 'apps', plural: 'statefulsets', kind: 'StatefulSet' }, POD, SOURCE);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const found = this.store.get(this.ownRt, namespace, name);
    if (!found) return;
    const set: KWorkload = structuredClone(found);
    const pods = claimObjects(this.store, this.childRt, set);

    // Revisions: the update revision is the current template's; the current one is what the pods were made from.
    const { template, revision: updateRevision } = templateRevision(this.store, set, REVISION_HASH_LABEL);
    const revisions = listRevisions(this.store, set);
    const currentRevision = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? updateRevision;
    const currentTemplate: PodTemplateSpec = currentRevision.data?.spec?.template ?? template;

    if (!set.metadata.deletionTimestamp)
      this.updateSet(
        set,
        pods,
        currentRevision.metadata.name!,
        currentTemplate,
        updateRevision.metadata.name!,
        template,
      );

    const after = controlledBy(this.store, this.childRt, set);
    const status = this.computeStatus(set, after, currentRevision.metadata.name!, updateRevision.metadata.name!);
    writeStatus(this.store, this.ownRt, set, status);

    const live = new Set<string>([status.currentRevision!, status.updateRevision!]);
    for (const p of after) {
      const r = revisionOfPod(p);
      if (r) live.add(r);
    }
    pruneRevisions(this.store, set, live, set.spec?.revisionHistoryLimit ?? 10);
  }

  private ordinalOf(set: KObject, pod: KPod): number {
    const m = /-(\d+)$/.exec(pod.metadata.name!);
    if (!m || pod.metadata.name !== `${set.metadata.name}-${m[1]}`) return -1;
    return Number(m[1]);
  }

  private newPod(set: KWorkload, template: PodTemplateSpec, revision: string, ordinal: number): KPod {
    const name = `${set.metadata.name}-${ordinal}`;
    const pod = podFromTemplate(set, template, { name });
    pod.metadata.labels = {
      ...pod.metadata.labels,
      [CONTROLLER_REVISION_HASH]: revision,
      [POD_NAME_LABEL]: name,
      [POD_INDEX_LABEL]: String(ordinal),
    };
    pod.spec = { ...pod.spec, hostname: name };
    if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
    const claims = set.spec?.volumeClaimTemplates ?? [];
    if (claims.length) {
      const volumes: Volume[] = (pod.spec.volumes ?? []).filter(
        (v) => !claims.some((c) => c.metadata?.name === v.name),
      );
      for (const c of claims) {
        volumes.push({ name: c.metadata.name!, persistentVolumeClaim: { claimName: `${c.metadata.name}-${name}` } });
      }
      pod.spec.volumes = volumes;
    }
    return pod;
  }

  /** Creates the PVCs a pod needs that do not exist yet, bound at once (as if a provisioner had answered). */
  private createClaims(set: KWorkload, podName: string): void {
    const rt = this.store.type('', 'persistentvolumeclaims');
    for (const c of set.spec?.volumeClaimTemplates ?? []) {
      const name = `${c.metadata.name}-${podName}`;
      if (this.store.get(rt, set.metadata.namespace, name)) continue;
      const spec = structuredClone(c.spec ?? {});
      spec.volumeName ??= `pvc-${randomUUID()}`;
      spec.volumeMode ??= 'Filesystem';
      const retention = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted;
      const claim: KObject = {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: set.metadata.namespace,
          labels: { ...(c.metadata.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) },
          ...(c.metadata.annotations ? { annotations: { ...c.metadata.annotations } } : {}),
          ...(retention === 'Delete'
            ? {
                ownerReferences: [
                  {
                    apiVersion: set.apiVersion,
                    kind: set.kind,
                    name: set.metadata.name!,
                    uid: set.metadata.uid!,
                    blockOwnerDeletion: true,
                  },
                ],
              }
            : {}),
        },
        spec,
      };
      const created = this.createRecorded(
        rt,
        set,
        claim,
        `create Claim ${name} for Pod ${podName} in StatefulSet ${set.metadata.name} failed error: `,
        `create Claim ${name} Pod ${podName} in StatefulSet ${set.metadata.name} success`,
      );
      if (!created) continue;
      if (!created.status?.phase || created.status.phase === 'Pending') {
        this.provisionVolume(created);
        this.store.update(
          rt,
          {
            ...created,
            status: {
              phase: 'Bound',
              accessModes: spec.accessModes ?? ['ReadWriteOnce'],
              capacity: { storage: spec.resources?.requests?.storage ?? '1Gi' },
            },
          },
          { subresource: 'status' },
        );
      }
    }
  }

  /** The PersistentVolume a claim bound at once names, as the default class's provisioner would have made it. */
  private provisionVolume(claim: KObject): void {
    const pvRT = this.store.type('', 'persistentvolumes');
    const name = claim.spec?.volumeName as string;
    if (this.store.get(pvRT, undefined, name)) return;
    const classes = this.store.list(this.store.type('storage.k8s.io', 'storageclasses'));
    const className: string | undefined =
      claim.spec?.storageClassName ??
      classes.find((c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')?.metadata
        .name;
    const sc: KStorageClass | undefined = classes.find((c) => c.metadata.name === className);
    const provisioner = sc?.provisioner ?? 'rancher.io/local-path';
    const ns = claim.metadata.namespace!;
    const pv = this.store.create(
      pvRT,
      localPathVolume(claim, {
        name,
        provisioner,
        reclaimPolicy: sc?.reclaimPolicy,
        storageClassName: className,
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: ns,
          name: claim.metadata.name,
          uid: claim.metadata.uid,
          resourceVersion: claim.metadata.resourceVersion,
        },
      }),
    );
    this.store.update(pvRT, { ...pv, status: { phase: 'Bound' } }, { subresource: 'status' });
  }

  /**
   * Creates a pod or a claim of the set with the controller's events (SuccessfulCreate, or FailedCreate with the
   * error after `failed`); undefined when it exists already.
   */
  private createRecorded(
    rt: ResourceType,
    set: KWorkload,
    obj: KObject,
    failed: string,
    succeeded: string,
  ): KObject | undefined {
    let created: KObject;
    try {
      created = this.store.create(rt, obj);
    } catch (e) {
      if (e instanceof ApiError && e.code === 409) return undefined;
      const message = e instanceof Error ? e.message : String(e);
      recordEvent(this.store, set, 'Warning', 'FailedCreate', `${failed}${message}`, SOURCE);
      throw e;
    }
    recordEvent(this.store, set, 'Normal', 'SuccessfulCreate', succeeded, SOURCE);
    return created;
  }

  private createPod(set: KWorkload, pod: KPod): void {
    this.createClaims(set, pod.metadata.name!);
    const what = `Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name}`;
    this.createRecorded(this.childRt, set, pod, `create ${what} failed error: `, `create ${what} successful`);
  }

  private deletePod(set: KObject, pod: KObject): void {
    this.deleteChild(set, pod, `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
  }

  /** One step of the real updateStatefulSet: create/replace, condemn, then roll, stopping where OrderedReady must wait. */
  private updateSet(
    set: KWorkload,
    pods: KPod[],
    currentRev: string,
    currentTemplate: PodTemplateSpec,
    updateRev: string,
    updateTemplate: PodTemplateSpec,
  ): void {
    const key = nsKey(set.metadata.namespace, set.metadata.name!);
    const start = set.spec?.ordinals?.start ?? 0;
    const count = set.spec?.replicas ?? 1;
    const monotonic = (set.spec?.podManagementPolicy ?? 'OrderedReady') !== 'Parallel';
    const minReadySeconds = set.spec?.minReadySeconds ?? 0;
    const strategy = set.spec?.updateStrategy?.type ?? 'RollingUpdate';
    const partition = strategy === 'RollingUpdate' ? (set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
    const replicas: (KPod | undefined)[] = new Array(count).fill(undefined);
    const condemned: KPod[] = [];
    for (const p of pods) {
      const ord = this.ordinalOf(set, p);
      if (ord < 0) continue;
      if (ord >= start && ord < start + count) replicas[ord - start] = p;
      else condemned.push(p);
    }
    condemned.sort((a, b) => this.ordinalOf(set, b) - this.ordinalOf(set, a));
    // Missing ordinals below the partition get a pod of the current revision, every other one the update's.
    const versioned = (ord: number) =>
      strategy === 'RollingUpdate' && ord < start + partition
        ? this.newPod(set, currentTemplate, currentRev, ord)
        : this.newPod(set, updateTemplate, updateRev, ord);
    const healthy = (p: KPod) => isRunningAndReady(p) && !isTerminating(p);
    const unhealthy = [...replicas, ...condemned].filter((p): p is KPod => p !== undefined && !healthy(p));
    const firstUnhealthy = unhealthy.sort((a, b) => this.ordinalOf(set, a) - this.ordinalOf(set, b))[0];

    for (let i = 0; i < count; i++) {
      const ord = start + i;
      let pod = replicas[i];
      if (pod && (isFailed(pod) || isSucceeded(pod)) && !isTerminating(pod)) {
        recordEvent(
          this.store,
          set,
          'Warning',
          'RecreatingFailedPod',
          `StatefulSet ${set.metadata.namespace}/${set.metadata.name} is recreating failed Pod ${pod.metadata.name}`,
          SOURCE,
        );
        this.deletePod(set, pod);
        if (monotonic) return;
        continue;
      }
      if (!pod) {
        pod = versioned(ord);
        this.createPod(set, pod);
        if (monotonic) return;
        continue;
      }
      if (isTerminating(pod) && monotonic) return;
      if (!isRunningAndReady(pod) && monotonic) return;
      const wait = msUntilAvailable(pod, minReadySeconds);
      if (wait > 0 && monotonic) {
        if (wait !== Infinity) this.enqueueAfter(key, wait + 5);
        return;
      }
    }

    // Scale down from the highest ordinal.
    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      if (!isRunningAndReady(pod) && monotonic && pod !== firstUnhealthy) return;
      this.deletePod(set, pod);
      if (monotonic) return;
    }

    if (strategy === 'OnDelete') return;
    // Rolling update from the highest ordinal down to the partition, one pod at a time.
    for (let i = count - 1; i >= partition; i--) {
      const pod = replicas[i];
      if (!pod) return;
      if (revisionOfPod(pod) !== updateRev && !isTerminating(pod)) {
        this.deletePod(set, pod);
        return;
      }
      if (!healthy(pod) || msUntilAvailable(pod, minReadySeconds) > 0) return;
    }
  }

  private computeStatus(set: KWorkload, pods: KPod[], currentRev: string, updateRev: string): WorkloadStatus {
    const minReadySeconds = set.spec?.minReadySeconds ?? 0;
    let [replicas, ready, available, current, updated] = [0, 0, 0, 0, 0];
    for (const p of pods) {
      if (this.ordinalOf(set, p) < 0) continue;
      replicas++;
      if (isRunningAndReady(p)) {
        ready++;
        if (msUntilAvailable(p, minReadySeconds) === 0) available++;
      }
      if (!isTerminating(p)) {
        if (revisionOfPod(p) === currentRev) current++;
        if (revisionOfPod(p) === updateRev) updated++;
      }
    }
    const want = set.spec?.replicas ?? 1;
    let currentRevision = currentRev;
    // A finished rolling update makes the update revision the current one.
    if (
      (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' &&
      updated === want &&
      ready === want &&
      replicas === want
    ) {
      current = updated;
      currentRevision = updateRev;
    }
    const status: WorkloadStatus = omitZero(
      {
        observedGeneration: set.metadata.generation,
        replicas,
        readyReplicas: ready,
        currentReplicas: current,
        updatedReplicas: updated,
        currentRevision,
        updateRevision: updateRev,
        collisionCount: set.status?.collisionCount ?? 0,
        availableReplicas: available,
      },
      ['readyReplicas', 'currentReplicas', 'updatedReplicas'],
    );
    return status;
  }
}
