// The persistent volume controller and a dynamic provisioner in one: a pending PVC is bound to a matching
// Available PV, or (with a StorageClass, named or the default one) to a freshly provisioned PV; both become Bound.
// WaitForFirstConsumer classes provision once a scheduled pod uses the claim. Released claims free their volume
// (Delete reclaim policy deletes it, Retain leaves it Released).
import { ApiError } from '../errors.js';
import type { StoreEvent } from '../store.js';
import type { KObject, KStorageClass } from '../types.js';
import { Controller, nsKey, splitKey, type ControllerContext } from './base.js';
import { recordEvent } from './events.js';
import { parseQuantity, quantityOf } from '../../common/k8s/quantity.js';

const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
const SOURCE = { component: 'persistentvolume-controller' };
const ZERO = parseQuantity('0');

export class PvcBinder extends Controller {
  private readonly pending = new Set<string>(); // pvc keys not yet bound
  /** Claims used by scheduled pods (for WaitForFirstConsumer): pvc key -> node. */
  private readonly consumers = new Map<string, string>();

  constructor(ctx: ControllerContext) {
    super(ctx);
  }

  protected override initialKeys(): string[] {
    const keys = this.store
      .list(this.store.type('', 'persistentvolumeclaims'))
      .map((c) => `pvc:${nsKey(c.metadata.namespace, c.metadata.name!)}`);
    for (const pv of this.store.list(this.store.type('', 'persistentvolumes'))) keys.push(`pv:${pv.metadata.name}`);
    for (const pod of this.store.list(this.store.type('', 'pods'))) this.notePod(pod);
    return keys;
  }

  private notePod(pod: KObject): string[] {
    if (!pod.spec?.nodeName) return [];
    const keys: string[] = [];
    for (const v of pod.spec?.volumes ?? []) {
      const claim = v?.persistentVolumeClaim?.claimName;
      if (!claim) continue;
      const key = nsKey(pod.metadata.namespace, claim);
      if (!this.consumers.has(key)) this.consumers.set(key, pod.spec.nodeName);
      if (this.pending.has(key)) keys.push(`pvc:${key}`);
    }
    return keys;
  }

  protected keysFor(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    if (rt.group === 'storage.k8s.io' && rt.kind === 'StorageClass') return [...this.pending].map((k) => `pvc:${k}`);
    if (rt.group !== '') return [];
    if (rt.kind === 'PersistentVolumeClaim') {
      const key = nsKey(object.metadata.namespace, object.metadata.name!);
      if (ev.type === 'DELETED') {
        this.pending.delete(key);
        this.consumers.delete(key);
        return object.spec?.volumeName ? [`released:${object.spec.volumeName}`] : [];
      }
      if (object.status?.phase !== 'Bound') this.pending.add(key);
      else this.pending.delete(key);
      return [`pvc:${key}`];
    }
    if (rt.kind === 'PersistentVolume') {
      if (ev.type === 'DELETED') return [];
      const keys = [`pv:${object.metadata.name}`];
      if (ev.type === 'ADDED' && this.pending.size) keys.push(...[...this.pending].map((k) => `pvc:${k}`));
      return keys;
    }
    if (rt.kind === 'Pod' && ev.type !== 'DELETED' && this.pending.size) return this.notePod(object);
    return [];
  }

  protected reconcile(key: string): void {
    const i = key.indexOf(':');
    const kind = key.slice(0, i);
    const rest = key.slice(i + 1);
    if (kind === 'pvc') this.syncClaim(rest);
    else if (kind === 'pv') this.syncVolume(rest);
    else if (kind === 'released') this.release(rest);
  }

  private get pvcRT() {
    return this.store.type('', 'persistentvolumeclaims');
  }

  private get pvRT() {
    return this.store.type('', 'persistentvolumes');
  }

  /** A new static PV is Available; a PV whose claim went away is Released (or deleted by its reclaim policy). */
  private syncVolume(name: string): void {
    const pv = this.store.get(this.pvRT, undefined, name);
    if (!pv || pv.metadata.deletionTimestamp) return;
    const ref = pv.spec?.claimRef;
    if (!ref && pv.status?.phase === 'Pending') {
      this.store.update(this.pvRT, { ...pv, status: { ...pv.status, phase: 'Available' } }, { subresource: 'status' });
    } else if (ref && pv.status?.phase !== 'Bound' && pv.status?.phase !== 'Released') {
      // Pre-bound: the claim's sync binds it.
      const claim = this.store.get(this.pvcRT, ref.namespace, ref.name);
      if (claim) this.enqueue(`pvc:${nsKey(ref.namespace, ref.name)}`);
      else if (pv.status?.phase === 'Pending')
        this.store.update(
          this.pvRT,
          { ...pv, status: { ...pv.status, phase: 'Available' } },
          { subresource: 'status' },
        );
    }
  }

  private release(pvName: string): void {
    const pv = this.store.get(this.pvRT, undefined, pvName);
    if (!pv || pv.metadata.deletionTimestamp) return;
    if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
      try {
        this.store.delete(this.pvRT, undefined, pvName);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
      return;
    }
    this.store.update(
      this.pvRT,
      { ...pv, status: { ...(pv.status ?? {}), phase: 'Released' } },
      { subresource: 'status' },
    );
  }

  private syncClaim(key: string): void {
    const [ns, name] = splitKey(key);
    const pvc = this.store.get(this.pvcRT, ns, name);
    if (!pvc || pvc.metadata.deletionTimestamp) return;
    if (pvc.status?.phase === 'Bound') return;
    // Already pointing at a volume (pre-bound or half-bound): finish binding it.
    if (pvc.spec?.volumeName) {
      const pv = this.store.get(this.pvRT, undefined, pvc.spec.volumeName);
      if (pv) this.bind(pvc, pv);
      return;
    }
    const classes = this.store.list(this.store.type('storage.k8s.io', 'storageclasses'));
    let className: string | undefined = pvc.spec?.storageClassName;
    if (className === undefined || className === null) {
      className = classes.find((c) => c.metadata.annotations?.[DEFAULT_CLASS] === 'true')?.metadata.name;
    }
    // Static binding first: an Available PV of the class that is big enough.
    // Compared exactly, as the PV controller compares quantities (Cmp); a missing or malformed size counts as zero.
    const storage = (q: unknown) => quantityOf(q) ?? ZERO;
    const want = storage(pvc.spec?.resources?.requests?.storage);
    const modes: string[] = pvc.spec?.accessModes ?? [];
    const candidates = this.store
      .list(this.pvRT)
      .filter(
        (pv) =>
          !pv.metadata.deletionTimestamp &&
          pv.status?.phase === 'Available' &&
          !pv.spec?.claimRef &&
          (pv.spec?.storageClassName ?? '') === (className ?? '') &&
          storage(pv.spec?.capacity?.storage).cmp(want) >= 0 &&
          modes.every((m) => (pv.spec?.accessModes ?? []).includes(m)),
      )
      .sort((a, b) => storage(a.spec?.capacity?.storage).cmp(storage(b.spec?.capacity?.storage)));
    if (candidates.length) {
      this.bind(pvc, candidates[0]);
      return;
    }
    if (!className) {
      this.warnOnce(
        pvc,
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
      );
      return;
    }
    const sc = classes.find((c) => c.metadata.name === className);
    if (!sc) {
      this.warnOnce(pvc, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    if (sc.volumeBindingMode === 'WaitForFirstConsumer' && !this.consumers.has(key)) {
      this.warnOnce(pvc, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
      return;
    }
    this.provision(pvc, sc);
  }

  private warnOnce(pvc: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    recordEvent(this.store, pvc, type, reason, message, SOURCE);
  }

  private provision(pvc: KObject, sc: KStorageClass): void {
    const ns = pvc.metadata.namespace!;
    const name = `pvc-${pvc.metadata.uid}`;
    const provisioner = sc.provisioner ?? 'rancher.io/local-path';
    recordEvent(
      this.store,
      pvc,
      'Normal',
      'Provisioning',
      `External provisioner is provisioning volume for claim "${ns}/${pvc.metadata.name}"`,
      { component: provisioner },
    );
    const node = this.consumers.get(nsKey(ns, pvc.metadata.name!));
    let pv = this.store.get(this.pvRT, undefined, name);
    if (!pv) {
      pv = this.store.create(
        this.pvRT,
        localPathVolume(pvc, {
          name,
          provisioner,
          reclaimPolicy: sc.reclaimPolicy,
          storageClassName: sc.metadata.name,
          node,
        }),
      );
      recordEvent(this.store, pvc, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${name}`, {
        component: provisioner,
      });
    }
    this.bind(this.store.mustGet(this.pvcRT, ns, pvc.metadata.name!), pv, provisioner);
  }

  private bind(pvc: KObject, pv: KObject, provisioner?: string): void {
    const pvName = pv.metadata.name!;
    const claimRef = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      name: pvc.metadata.name,
      namespace: pvc.metadata.namespace,
      uid: pvc.metadata.uid,
      resourceVersion: pvc.metadata.resourceVersion,
    };
    // The volume side.
    let current = this.store.get(this.pvRT, undefined, pvName)!;
    if (current.spec?.claimRef?.uid !== pvc.metadata.uid) {
      current = this.store.update(this.pvRT, {
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...(current.metadata.annotations ?? {}), 'pv.kubernetes.io/bound-by-controller': 'yes' },
        },
        spec: { ...current.spec, claimRef },
      });
    }
    if (current.status?.phase !== 'Bound') {
      this.store.update(
        this.pvRT,
        { ...current, status: { ...(current.status ?? {}), phase: 'Bound' } },
        { subresource: 'status' },
      );
    }
    // The claim side.
    const annotations: Record<string, string> = {
      ...(pvc.metadata.annotations ?? {}),
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
    };
    if (provisioner) {
      annotations['volume.beta.kubernetes.io/storage-provisioner'] = provisioner;
      annotations['volume.kubernetes.io/storage-provisioner'] = provisioner;
    }
    // (No pvc-protection finalizer: nothing here would remove it, and namespace deletion must not hang on it.)
    let claim = this.store.mustGet(this.pvcRT, pvc.metadata.namespace, pvc.metadata.name!);
    claim = this.store.update(this.pvcRT, {
      ...claim,
      metadata: { ...claim.metadata, annotations },
      spec: {
        ...claim.spec,
        volumeName: pvName,
        storageClassName: claim.spec?.storageClassName ?? current.spec?.storageClassName,
      },
    });
    const status: KObject['status'] = {
      ...(claim.status ?? {}),
      phase: 'Bound',
      accessModes: current.spec?.accessModes ?? claim.spec?.accessModes,
      capacity: current.spec?.capacity ?? claim.spec?.resources?.requests,
    };
    this.store.update(this.pvcRT, { ...claim, status }, { subresource: 'status' });
  }
}

/**
 * The PersistentVolume local-path-provisioner makes for a claim: a hostPath directory named after the volume and the
 * claim, pinned to the pod's node when one chose it, bound already when `claimRef` is given (the StatefulSet
 * controller's claims, bound at once).
 */
export function localPathVolume(
  claim: KObject,
  o: {
    name: string;
    provisioner: string;
    reclaimPolicy?: string;
    storageClassName?: string;
    node?: string;
    claimRef?: Record<string, unknown>;
  },
): KObject {
  const { name, node } = o;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      annotations: {
        'pv.kubernetes.io/provisioned-by': o.provisioner,
        ...(node ? { 'local.path.provisioner/selected-node': node } : {}),
      },
    },
    spec: {
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
      hostPath: {
        path: `/var/local-path-provisioner/${name}_${claim.metadata.namespace}_${claim.metadata.name}`,
        type: 'DirectoryOrCreate',
      },
      persistentVolumeReclaimPolicy: o.reclaimPolicy ?? 'Delete',
      ...(o.storageClassName ? { storageClassName: o.storageClassName } : {}),
      volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
      ...(node
        ? {
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
                ],
              },
            },
          }
        : {}),
      ...(o.claimRef ? { claimRef: o.claimRef } : {}),
    },
  };
}
