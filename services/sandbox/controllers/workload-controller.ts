// What the ReplicaSet, Deployment, StatefulSet and DaemonSet controllers share: the kind they own and the kind they
// make, which store events wake which of their objects, and creating and deleting what they make with the events
// the real controllers record.
import { ApiError } from '../errors.js';
import type { StoreEvent } from '../store.js';
import type { KObject } from '../types.js';
import { Controller, isEventOf, nsKey, selfKeys, type ControllerContext } from './base.js';
import { recordEvent } from './events.js';
import { controllerKeys, controllerRefOf, isNotFound, selectorMatcher } from './workload-util.js';

export interface KindRef {
  group: string;
  plural: string;
  kind: string;
}

export const POD: KindRef = { group: '', plural: 'pods', kind: 'Pod' };

export abstract class WorkloadController extends Controller {
  constructor(
    ctx: ControllerContext,
    private readonly own: KindRef,
    private readonly child: KindRef,
    /** The component named in the events this controller records. */
    protected readonly source: { component: string },
  ) {
    super(ctx);
  }

  protected get ownRt() {
    return this.store.type(this.own.group, this.own.plural);
  }

  protected get childRt() {
    return this.store.type(this.child.group, this.child.plural);
  }

  protected override initialKeys(): string[] {
    return this.keysOfAll(this.ownRt);
  }

  protected keysFor(ev: StoreEvent): string[] {
    if (isEventOf(ev, this.own.group, this.own.kind)) return selfKeys(ev);
    if (isEventOf(ev, this.child.group, this.child.kind)) return this.childKeys(ev);
    return this.otherKeys(ev);
  }

  /** A child changed: its controllers before and after the change (a child can change hands). */
  protected childKeys(ev: StoreEvent): string[] {
    return controllerKeys(ev, this.own.kind);
  }

  /** Events of other kinds that concern this controller's objects (none unless a controller says so). */
  protected otherKeys(_ev: StoreEvent): string[] {
    return [];
  }

  /** The child's controllers, plus, for an orphan, every owner whose selector matches it (it may adopt it). */
  protected adoptingKeys(ev: StoreEvent, opts: { skipDeleting: boolean }): string[] {
    const { object } = ev;
    const keys = new Set(controllerKeys(ev, this.own.kind));
    if (controllerRefOf(object) || ev.type === 'DELETED') return [...keys];
    if (opts.skipDeleting && object.metadata.deletionTimestamp) return [...keys];
    for (const owner of this.store.list(this.ownRt, object.metadata.namespace)) {
      if (selectorMatcher(owner.spec?.selector)(object.metadata.labels))
        keys.add(nsKey(owner.metadata.namespace, owner.metadata.name!));
    }
    return [...keys];
  }

  /**
   * Creates a child as the ReplicaSet and DaemonSet controllers create pods: SuccessfulCreate, or FailedCreate and a
   * retry in 2 s (not for a terminating namespace, which will never take it). Returns the refusal, if any.
   */
  protected createChild(owner: KObject, child: KObject): ApiError | undefined {
    try {
      const created = this.store.create(this.childRt, child);
      recordEvent(
        this.store,
        owner,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${created.metadata.name}`,
        this.source,
      );
      return undefined;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      recordEvent(this.store, owner, 'Warning', 'FailedCreate', `Error creating: ${e.message}`, this.source);
      if (!/being terminated/.test(e.message))
        this.enqueueAfter(nsKey(owner.metadata.namespace, owner.metadata.name!), 2000);
      return e;
    }
  }

  /** Deletes a child and records SuccessfulDelete with `message`; a child already gone is no event. */
  protected deleteChild(owner: KObject, child: KObject, message: string): void {
    try {
      this.store.delete(this.childRt, child.metadata.namespace, child.metadata.name!);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    recordEvent(this.store, owner, 'Normal', 'SuccessfulDelete', message, this.source);
  }
}
