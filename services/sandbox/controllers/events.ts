// Records core/v1 Events as the real components do, folding repeats into a count like the event broadcaster.
import type { Store } from '../store.js';
import { timestamp } from '../store.js';
import type { KObject } from '../types.js';

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
  const name = `${involved.metadata.name}.${hash(`${involved.metadata.uid}|${reason}|${message}|${source.component}|${fieldPath ?? ''}`)}`;
  const at = timestamp();
  const existing = store.get(rt, namespace, name);
  try {
    if (existing) {
      store.update(rt, { ...existing, count: (existing.count ?? 1) + 1, lastTimestamp: at, involvedObject });
    } else {
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

function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
