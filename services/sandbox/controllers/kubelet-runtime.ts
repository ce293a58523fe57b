// The kubelet's per-pod and per-container run state, and what the container runtime would answer: normalized image
// names, container IDs, pod IPs, and which containers crash, fail to pull or run forever.
import type { Container, ContainerState, KNode, KObject, KPod } from '../types.js';

type Stage = 'waiting' | 'pulling' | 'errImagePull' | 'pullBackOff' | 'creating' | 'running' | 'crashBackOff' | 'done';

export interface ContainerRun {
  name: string;
  init: boolean;
  sidecar: boolean;
  image: string;
  stage: Stage;
  /** When the current stage's next step is due (ms since epoch); Infinity when nothing is scheduled. */
  due: number;
  restartCount: number;
  /** Consecutive failed runs (the back-off exponent) and failed pulls. */
  failures: number;
  pullFailures: number;
  everStarted: boolean;
  containerID?: string;
  startedAt?: string;
  readyAt: number;
  exitCode?: number;
  state: ContainerState;
  lastState: ContainerState;
}

export interface PodRun {
  uid: string;
  node: string;
  nodeIndex: number;
  slot: number;
  podIP: string;
  hostIP: string;
  startTime: string;
  containers: ContainerRun[];
  /** Bumped to cancel the pending wake-up timer. */
  token: number;
  done: boolean;
  terminatingUntil?: number;
}

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** `nginx` → `docker.io/library/nginx:latest`, as containerd reports images. */
export function normalizeImage(image: string): string {
  let name = image;
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0) name = `docker.io/library/${name}`;
  else if (!first.includes('.') && !first.includes(':') && first !== 'localhost') name = `docker.io/${name}`;
  const last = name.slice(name.lastIndexOf('/') + 1);
  if (!last.includes(':') && !name.includes('@')) name += ':latest';
  return name;
}

export function hashHex(s: string, len = 64): string {
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; out.length < len; round++) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ round, 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, len);
}

export const randomHex = (n: number) => {
  let s = '';
  while (s.length < n)
    s += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return s.slice(0, n);
};

export const isBadImage = (image: string) => /doesnotexist|invalid-registry/.test(image) || /:nonexistent$/.test(image);
export const commandOf = (c: Partial<Container> | undefined) =>
  [...(c?.command ?? []), ...(c?.args ?? [])].map(String).join(' ');
export const isCrashing = (c: Partial<Container> | undefined) =>
  String(c?.image ?? '').includes('crash') || /\bexit 1\b/.test(commandOf(c));
export const LONG_RUNNING = /\bsleep\b|tail -f|while true|infinity|\bserve\b|--server/;

export function sameExceptStatus(a: KObject, b: KObject): boolean {
  const strip = (o: KObject) => {
    const { resourceVersion: _rv, ...meta } = o.metadata;
    return JSON.stringify([meta, o.spec]);
  };
  return strip(a) === strip(b);
}

export function isReady(node: KNode): boolean {
  const conditions = node.status?.conditions ?? [];
  // A node nobody has reported on yet counts as ready (the node lifecycle controller fills its status in).
  if (!conditions.length) return true;
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

export function isTerminalPhase(pod: KPod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Unique per node: 10.244.<node>.2-254, then 10.245.<node>.x and up for very full nodes. */
export function podIPFor(nodeIndex: number, slot: number): string {
  return `10.${244 + Math.floor(slot / 253)}.${nodeIndex}.${(slot % 253) + 2}`;
}

export function fmtSecs(s: number): string {
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  const r = s % 60;
  return r ? `${m}m${r}s` : `${m}m0s`;
}
