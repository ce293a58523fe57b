// Records core/v1 Events as the real components do, folding repeats into a count like the event broadcaster.
import type { Store } from '../store.js';
import { timestamp } from '../store.js';
import type { KEvent, KObject } from '../types.js';

export interface EventSource {
  component: string; // e.g. 'kubelet', 'default-scheduler', 'deployment-controller'
  host?: string;
}

export function recordEvent(
  store: Store,
  involved: KObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  source: EventSource,
  fieldPath?: string,
): void {
  const rt = store.type('', 'events');
  const namespace = involved.metadata.namespace ?? 'default';
  if (!store.get(store.type('', 'namespaces'), undefined, namespace)) return;
  const involvedObject = {
    kind: involved.kind,
    namespace: involved.metadata.namespace,
    name: involved.metadata.name,
    uid: involved.metadata.uid,
    apiVersion: involved.apiVersion,
    resourceVersion: involved.metadata.resourceVersion,
    ...(fieldPath ? { fieldPath } : {}),
  };
  // Same object, reason, message and source: one Event whose count grows (as the real event correlator does).
  // The first occurrence is named `<object>.<creation time in hex nanoseconds>` like the real recorder, so lists
  // come out in time order; repeats find it again through the correlation key.
  const correlation = `${involved.metadata.uid}|${reason}|${message}|${source.component}|${fieldPath ?? ''}`;
  const names = namesOf(store);
  const at = timestamp();
  const known = names.get(correlation);
  const existing: KEvent | undefined = known ? store.get(rt, namespace, known) : undefined;
  const name = existing ? known! : `${involved.metadata.name}.${uniqueNanos().toString(16)}`;
  try {
    if (existing) {
      store.update(rt, { ...existing, count: (existing.count ?? 1) + 1, lastTimestamp: at, involvedObject });
    } else {
      names.set(correlation, name);
      store.create(rt, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject,
        reason,
        message,
        type,
        source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
        reportingComponent: source.component,
        reportingInstance: source.host ?? '',
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      });
    }
  } catch {
    // Events are best effort, as in Kubernetes: losing one never fails the action that caused it.
  }
}

const correlationNames = new WeakMap<Store, Map<string, string>>();
function namesOf(store: Store): Map<string, string> {
  let m = correlationNames.get(store);
  if (!m) {
    m = new Map();
    correlationNames.set(store, m);
    // Forget the names of deleted events (namespace deletion, TTL) so the map does not grow forever.
    store.subscribe((ev) => {
      if (ev.type === 'DELETED' && ev.rt.kind === 'Event' && ev.rt.group === '') {
        const o: KEvent = ev.object;
        m!.delete(
          `${o.involvedObject?.uid}|${o.reason}|${o.message}|${o.source?.component}|${o.involvedObject?.fieldPath ?? ''}`,
        );
      }
    });
  }
  return m;
}

let lastNanos = 0n;
/** Wall-clock nanoseconds, strictly increasing within the process (two events in one millisecond stay ordered). */
function uniqueNanos(): bigint {
  const now = BigInt(Date.now()) * 1_000_000n;
  lastNanos = now > lastNanos ? now : lastNanos + 1n;
  return lastNanos;
}
