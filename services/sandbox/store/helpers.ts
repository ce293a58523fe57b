// Plain functions of the Store: keys, timestamps, watch scopes, random name suffixes and pod update checks.
import type { ResourceType } from '../registry.js';
import type { KObject } from '../types.js';
import type { Watcher } from './types.js';

export const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
export const keyOf = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name);
export const typeKey = (rt: ResourceType) => `${rt.group}/${rt.plural}`;

export function significantPodUpdate(pod: KObject, old: KObject): boolean {
  const images = (o: KObject) =>
    JSON.stringify(
      [...(o.spec?.initContainers ?? []), ...(o.spec?.containers ?? []), ...(o.spec?.ephemeralContainers ?? [])].map(
        (c: { name?: string; image?: string }) => [c.name, c.image],
      ),
    );
  const seccomp = (o: KObject) =>
    JSON.stringify(
      Object.entries(o.metadata.annotations ?? {}).filter(
        ([k]) =>
          k.startsWith('seccomp.security.alpha.kubernetes.io/') ||
          k.startsWith('container.seccomp.security.alpha.kubernetes.io/'),
      ),
    );
  return images(pod) !== images(old) || seccomp(pod) !== seccomp(old);
}

/** Whether an object is in a watcher's selection (namespace and selector). A plain function, not a closure made per
 * event and watcher: offer() runs once per event per watcher. */
export function inScope(w: Watcher, o: KObject | undefined): boolean {
  return (
    o !== undefined &&
    (!w.opts.namespace || !w.rt.namespaced || o.metadata.namespace === w.opts.namespace) &&
    (!w.opts.matcher || w.opts.matcher(o))
  );
}

export function withoutMeta(o: KObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export function isTerminal(pod: KObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

const ALPHANUM = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUM[Math.floor(Math.random() * ALPHANUM.length)];
  return s;
}
