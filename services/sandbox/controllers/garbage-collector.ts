// The garbage collector: follows ownerReferences. When an owner is gone its dependents are deleted (background
// cascade) unless another live owner remains; an owner being deleted in the foreground (`foregroundDeletion`
// finalizer) has its dependents deleted first (in the foreground too) and goes once no dependent with
// blockOwnerDeletion remains; an `orphan` finalizer strips the ownerReference from the dependents first.
// Indexed by uid (object and owner → dependents), so it scales to many thousands of objects.
import { ApiError } from '../errors.js';
import type { ResourceType } from '../registry.js';
import type { StoreEvent } from '../store.js';
import type { KObject, OwnerReference } from '../types.js';
import { Controller, type ControllerContext } from './base.js';

interface Ref {
  group: string;
  plural: string;
  namespace?: string;
  name: string;
}

const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

export class GarbageCollector extends Controller {
  private readonly objects = new Map<string, Ref>(); // uid -> where it is
  private readonly dependents = new Map<string, Set<string>>(); // owner uid -> dependent uids
  private readonly owners = new Map<string, string[]>(); // dependent uid -> owner uids

  constructor(ctx: ControllerContext) {
    super(ctx);
  }

  /** Dependents of an owner currently known (for tests and debugging). */
  dependentsOf(uid: string): string[] {
    return [...(this.dependents.get(uid) ?? [])];
  }

  protected override initialKeys(): string[] {
    const keys: string[] = [];
    const seen = new Set<string>();
    for (const rt of this.store.registry.all()) {
      const tk = `${rt.group}/${rt.plural}`;
      if (seen.has(tk) || isEvent(rt)) continue;
      seen.add(tk);
      for (const o of this.store.list(rt)) {
        this.track(rt, o);
        if (o.metadata.ownerReferences?.length || this.finalizing(o)) keys.push(o.metadata.uid!);
      }
    }
    return keys;
  }

  private finalizing(o: KObject): boolean {
    const f = o.metadata.finalizers ?? [];
    return Boolean(o.metadata.deletionTimestamp) && (f.includes(FOREGROUND) || f.includes(ORPHAN));
  }

  private track(rt: ResourceType, o: KObject): void {
    const uid = o.metadata.uid!;
    this.objects.set(uid, {
      group: rt.group,
      plural: rt.plural,
      namespace: o.metadata.namespace,
      name: o.metadata.name!,
    });
    this.setOwners(
      uid,
      (o.metadata.ownerReferences ?? []).map((r) => r.uid),
    );
  }

  private setOwners(uid: string, next: string[]): void {
    const before = this.owners.get(uid) ?? [];
    if (before.length === next.length && before.every((u, i) => u === next[i])) return;
    for (const o of before) {
      const set = this.dependents.get(o);
      set?.delete(uid);
      if (set && !set.size) this.dependents.delete(o);
    }
    for (const o of next) {
      let set = this.dependents.get(o);
      if (!set) this.dependents.set(o, (set = new Set()));
      set.add(uid);
    }
    if (next.length) this.owners.set(uid, next);
    else this.owners.delete(uid);
  }

  protected keysFor(ev: StoreEvent): string[] {
    if (isEvent(ev.rt)) return [];
    const o = ev.object;
    const uid = o.metadata.uid!;
    const ownerUids = (o.metadata.ownerReferences ?? []).map((r) => r.uid);
    if (ev.type === 'DELETED') {
      const hadDependents = this.dependents.has(uid);
      this.objects.delete(uid);
      this.setOwners(uid, []);
      // Its dependents lose an owner; its owners (maybe waiting in the foreground) lose a dependent.
      return [...(hadDependents ? [uid] : []), ...ownerUids];
    }
    this.track(ev.rt, o);
    const keys: string[] = [];
    if (this.finalizing(o)) keys.push(uid);
    if (ev.type === 'ADDED' && ownerUids.length) keys.push(uid);
    else if (
      ev.type === 'MODIFIED' &&
      JSON.stringify(ev.old?.metadata.ownerReferences) !== JSON.stringify(o.metadata.ownerReferences) &&
      ownerUids.length
    )
      keys.push(uid);
    if (
      o.metadata.deletionTimestamp ||
      (ev.old && JSON.stringify(ev.old.metadata.ownerReferences) !== JSON.stringify(o.metadata.ownerReferences))
    ) {
      keys.push(...ownerUids, ...(ev.old?.metadata.ownerReferences ?? []).map((r) => r.uid));
    }
    return keys;
  }

  private getRef(ref: Ref): KObject | undefined {
    return this.store.get(this.store.type(ref.group, ref.plural), ref.namespace, ref.name);
  }

  private rtOf(ref: Ref): ResourceType {
    return this.store.type(ref.group, ref.plural);
  }

  protected reconcile(uid: string): void {
    const ref = this.objects.get(uid);
    if (!ref) {
      this.ownerGone(uid);
      return;
    }
    const obj = this.getRef(ref);
    if (!obj || obj.metadata.uid !== uid) return;
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && finalizers.includes(ORPHAN)) {
      this.orphanDependents(uid);
      this.removeFinalizer(ref, uid, ORPHAN);
      return;
    }
    if (obj.metadata.deletionTimestamp && finalizers.includes(FOREGROUND)) {
      this.deleteInForeground(ref, uid);
      return;
    }
    this.checkDangling(ref, obj);
  }

  /** The owner is gone: delete dependents left without a live owner, unlink the others. */
  private ownerGone(uid: string): void {
    for (const dep of [...(this.dependents.get(uid) ?? [])]) {
      const dref = this.objects.get(dep);
      if (!dref) continue;
      const d = this.getRef(dref);
      if (!d || d.metadata.uid !== dep) continue;
      const refs = d.metadata.ownerReferences ?? [];
      const alive = refs.filter((r) => r.uid !== uid && this.objects.has(r.uid));
      if (!alive.length) {
        if (!d.metadata.deletionTimestamp) this.deleteQuietly(dref, { propagationPolicy: 'Background' });
      } else {
        this.setOwnerRefs(
          dref,
          d,
          refs.filter((r) => r.uid !== uid),
        );
      }
    }
  }

  private deleteInForeground(ref: Ref, uid: string): void {
    let blocking = 0;
    for (const dep of [...(this.dependents.get(uid) ?? [])]) {
      const dref = this.objects.get(dep);
      if (!dref) continue;
      const d = this.getRef(dref);
      if (!d || d.metadata.uid !== dep) continue;
      if (!d.metadata.deletionTimestamp) this.deleteQuietly(dref, { propagationPolicy: 'Foreground' });
      const still = this.getRef(dref);
      if (
        still &&
        still.metadata.uid === dep &&
        (still.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion)
      )
        blocking++;
    }
    if (!blocking) this.removeFinalizer(ref, uid, FOREGROUND);
  }

  private orphanDependents(uid: string): void {
    for (const dep of [...(this.dependents.get(uid) ?? [])]) {
      const dref = this.objects.get(dep);
      if (!dref) continue;
      const d = this.getRef(dref);
      if (!d || d.metadata.uid !== dep) continue;
      this.setOwnerRefs(
        dref,
        d,
        (d.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid),
      );
    }
  }

  /** A dependent whose owners (of known kinds) do not exist is deleted, as the real collector does. */
  private checkDangling(ref: Ref, obj: KObject): void {
    const refs = obj.metadata.ownerReferences ?? [];
    if (!refs.length) return;
    const dangling = refs.filter((r) => !this.objects.has(r.uid) && this.store.registry.byKind(r.apiVersion, r.kind));
    if (!dangling.length) return;
    if (dangling.length === refs.length) {
      if (!obj.metadata.deletionTimestamp) this.deleteQuietly(ref, { propagationPolicy: 'Background' });
      return;
    }
    this.setOwnerRefs(
      ref,
      obj,
      refs.filter((r) => !dangling.includes(r)),
    );
  }

  private setOwnerRefs(ref: Ref, obj: KObject, refs: OwnerReference[]): void {
    const metadata = { ...obj.metadata };
    if (refs.length) metadata.ownerReferences = refs;
    else delete metadata.ownerReferences;
    this.store.update(this.rtOf(ref), { ...obj, metadata });
  }

  private removeFinalizer(ref: Ref, uid: string, finalizer: string): void {
    const obj = this.getRef(ref);
    if (!obj || obj.metadata.uid !== uid || !(obj.metadata.finalizers ?? []).includes(finalizer)) return;
    const finalizers = obj.metadata.finalizers!.filter((f) => f !== finalizer);
    const metadata = { ...obj.metadata };
    if (finalizers.length) metadata.finalizers = finalizers;
    else delete metadata.finalizers;
    this.store.update(this.rtOf(ref), { ...obj, metadata });
  }

  private deleteQuietly(ref: Ref, opts: { propagationPolicy: 'Background' | 'Foreground' }): void {
    try {
      this.store.delete(this.rtOf(ref), ref.namespace, ref.name, opts);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
}

function isEvent(rt: ResourceType): boolean {
  return (rt.group === '' && rt.kind === 'Event') || (rt.group === 'events.k8s.io' && rt.kind === 'Event');
}
