// What every simulated controller shares: a de-duplicating work queue fed by store events, processed
// asynchronously (as a real controller reconciles after its informer fires), with retry on failure.
import { ApiError } from '../errors.js';
import type { ResourceType } from '../registry.js';
import type { Store, StoreEvent } from '../store.js';
import type { KObject } from '../types.js';

export interface Clock {
  /**
   * Milliseconds of simulated delay for a step (pulling an image, starting a container...): the controller's
   * default for it, scaled by the sandbox's speed setting (tests run faster than the demo).
   */
  delay(step: string, defaultMs: number): number;
}

export interface ControllerContext {
  store: Store;
  clock: Clock;
  /** Timers a controller sets are tracked so `stop()` cancels them all. */
  setTimer(fn: () => void, ms: number): void;
}

export abstract class Controller {
  private readonly queue = new Set<string>();
  private scheduled = false;
  private unsubscribe?: () => void;
  private stopped = false;

  constructor(protected readonly ctx: ControllerContext) {}

  protected get store(): Store {
    return this.ctx.store;
  }

  /** Maps a store event to the keys this controller must reconcile (e.g. the owning Deployment). */
  protected abstract keysFor(ev: StoreEvent): string[];

  /** Brings the world in line with the object named by key; throws to be retried. */
  protected abstract reconcile(key: string): void;

  /** The keys of every object of a type: what most controllers reconcile once at start. */
  protected keysOfAll(rt: ResourceType): string[] {
    return this.store.list(rt).map(keyOf);
  }

  /** Keys to reconcile once at start (usually every object of the watched kind). */
  protected initialKeys(): string[] {
    return [];
  }

  start(): void {
    this.unsubscribe = this.store.subscribe((ev) => {
      for (const k of this.keysFor(ev)) this.enqueue(k);
    });
    for (const k of this.initialKeys()) this.enqueue(k);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.queue.clear();
  }

  enqueue(key: string): void {
    if (this.stopped) return;
    this.queue.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Reconciles the key again after a delay (e.g. to move a pod to its next lifecycle step). */
  enqueueAfter(key: string, ms: number): void {
    this.ctx.setTimer(() => this.enqueue(key), ms);
  }

  private drain(): void {
    this.scheduled = false;
    const keys = [...this.queue];
    this.queue.clear();
    for (const k of keys) {
      if (this.stopped) return;
      try {
        this.reconcile(k);
      } catch (e) {
        // Conflicts and vanished objects are normal races between controllers: retry shortly.
        if (e instanceof ApiError && (e.code === 409 || e.code === 404)) this.enqueueAfter(k, 20);
        else {
          console.error(`[sandbox] ${this.constructor.name} failed on ${k}:`, e);
          this.enqueueAfter(k, 500);
        }
      }
    }
  }
}

export const nsKey = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name);
export const keyOf = (o: KObject) => nsKey(o.metadata.namespace, o.metadata.name!);

/** Whether a store event is about objects of `group`/`kind`. */
export const isEventOf = (ev: StoreEvent, group: string, kind: string) => ev.rt.group === group && ev.rt.kind === kind;

/** The event's own object to reconcile, unless it was deleted (its dependents go through garbage collection). */
export const selfKeys = (ev: StoreEvent): string[] => (ev.type === 'DELETED' ? [] : [keyOf(ev.object)]);

export const splitKey = (key: string): [string | undefined, string] => {
  const i = key.indexOf('/');
  return i < 0 ? [undefined, key] : [key.slice(0, i), key.slice(i + 1)];
};

/** A context whose timers are tracked, so that stopping a cluster (or a test) cancels every pending step. */
export function createControllerContext(
  store: Store,
  delay: Clock['delay'],
): { ctx: ControllerContext; cancelTimers(): void } {
  const timers = new Set<NodeJS.Timeout>();
  const ctx: ControllerContext = {
    store,
    clock: { delay },
    setTimer(fn, ms) {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
  };
  return {
    ctx,
    cancelTimers() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
