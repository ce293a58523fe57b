// The Store's vocabulary: watch events and sinks, list/watch/write/delete options, and per-kind hooks.
import type { StatusCause } from '../errors.js';
import type { Registry, ResourceType } from '../registry.js';
import type { KObject, WatchEventType } from '../types.js';
import type { Matcher } from '../selectors.js';
import type { Store } from '../store.js';

export interface StoreEvent {
  type: WatchEventType;
  rt: ResourceType;
  object: KObject;
  /** The object before this change, for MODIFIED and DELETED. */
  old?: KObject;
  rv: number;
  /** The serialized watch line (newline included) per event type, made once however many watchers receive it. */
  lines?: Partial<Record<WatchEventType, Buffer>>;
}

export type WatchSink = (type: WatchEventType, ev: StoreEvent) => void;

export interface WatchOptions {
  namespace?: string;
  matcher?: Matcher;
  /** '' or '0': synthetic ADDED for the current state first; a number: every change after it. */
  resourceVersion?: string;
}

export interface ListOptions {
  namespace?: string;
  matcher?: Matcher;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Options of create and update. */
export interface WriteOptions {
  dryRun?: boolean;
  /** The field manager of a client's write (not an apply): its fields are recorded in managedFields. */
  manager?: string;
  /** Collects the admission warnings for the client (the HTTP layer sends them as `Warning` headers). */
  warnings?: string[];
}
export interface KindHooks {
  /** Fills defaults on create (and on update for fields that must never be empty). */
  defaults?(obj: KObject, store: Store, old?: KObject): void;
  /** Field errors for an object about to be written. */
  validate?(obj: KObject, old?: KObject): StatusCause[];
}

export interface Watcher {
  rt: ResourceType;
  opts: WatchOptions;
  sink: WatchSink;
}

export interface Snapshot {
  rv: number;
  items: KObject[];
  at: number;
}
export interface StoreOptions {
  /** How many changes the store remembers for watches and continue tokens (etcd's compaction window). */
  historySize?: number;
  registry?: Registry;
}
