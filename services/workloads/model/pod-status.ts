// What `kubectl get pods` shows: STATUS, READY, RESTARTS, AGE. Ported from the real printer (and kept in step with
// the sandbox's copy in services/sandbox/table.ts, which production code must not import).
import type { KubeObject } from '../clients/kube.js';

export type PodStatusEnum =
  | 'RUNNING' | 'PENDING' | 'CONTAINER_CREATING' | 'SUCCEEDED' | 'COMPLETED' | 'FAILED' | 'ERROR'
  | 'CRASH_LOOP_BACK_OFF' | 'IMAGE_PULL_BACK_OFF' | 'TERMINATING' | 'UNKNOWN';

interface ContainerStatusLike {
  name?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; running?: object; terminated?: { reason?: string; signal?: number; exitCode?: number; finishedAt?: string } };
  lastState?: { terminated?: { finishedAt?: string } };
}

const conditionTrue = (o: KubeObject, type: string) => ((o.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === type && c.status === 'True');

/** The STATUS column text of `kubectl get pods`. */
export function podStatusText(pod: KubeObject): string {
  const status = pod.status ?? {};
  let reason: string = status.reason || status.phase || 'Pending';
  if (((status.conditions ?? []) as { type: string; reason?: string }[]).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';
  const init: ContainerStatusLike[] = status.initContainerStatuses ?? [];
  const initSpecs: { restartPolicy?: string }[] = pod.spec?.initContainers ?? [];
  let initializing = false;
  for (let i = 0; i < init.length; i++) {
    const c = init[i];
    if (c.state?.terminated?.exitCode === 0) continue;
    if (c.started && initSpecs[i]?.restartPolicy === 'Always') continue; // a running sidecar
    if (c.state?.terminated) {
      const t = c.state.terminated;
      reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${initSpecs.length}`;
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const containers: ContainerStatusLike[] = status.containerStatuses ?? [];
    for (let i = containers.length - 1; i >= 0; i--) {
      const c = containers[i];
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }
  if (pod.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

/** kubectl's STATUS text onto the PodStatus enum. */
export function podStatusEnum(text: string): PodStatusEnum {
  switch (text) {
    case 'Running': return 'RUNNING';
    case 'Pending': case 'SchedulingGated': case 'NotReady': return 'PENDING';
    case 'ContainerCreating': case 'PodInitializing': return 'CONTAINER_CREATING';
    case 'Succeeded': return 'SUCCEEDED';
    case 'Completed': return 'COMPLETED';
    case 'Failed': case 'Evicted': return 'FAILED';
    case 'Error': case 'OOMKilled': case 'ContainerCannotRun': case 'CreateContainerError': case 'CreateContainerConfigError': case 'RunContainerError': return 'ERROR';
    case 'CrashLoopBackOff': return 'CRASH_LOOP_BACK_OFF';
    case 'ImagePullBackOff': case 'ErrImagePull': case 'InvalidImageName': case 'ErrImageNeverPull': return 'IMAGE_PULL_BACK_OFF';
    case 'Terminating': return 'TERMINATING';
    case 'Unknown': return 'UNKNOWN';
  }
  if (text.startsWith('Init:')) {
    const rest = text.slice(5);
    if (/^\d+\/\d+$/.test(rest)) return 'PENDING';
    const inner = podStatusEnum(rest);
    return inner === 'UNKNOWN' ? 'ERROR' : inner;
  }
  if (text.startsWith('Signal:') || text.startsWith('ExitCode:')) return 'ERROR';
  return 'UNKNOWN';
}

const displayCache = new WeakMap<KubeObject, { text: string; status: PodStatusEnum }>();

/** Status text and enum of a pod object, computed once per object version (cache objects are replaced on change). */
export function podDisplay(pod: KubeObject): { text: string; status: PodStatusEnum } {
  let d = displayCache.get(pod);
  if (!d) {
    const text = podStatusText(pod);
    d = { text, status: podStatusEnum(text) };
    displayCache.set(pod, d);
  }
  return d;
}

/** READY: "ready/total" over the containers and restartable init containers (sidecars). */
export function podReady(p: KubeObject): string {
  const sidecarNames = new Set(((p.spec?.initContainers ?? []) as { name: string; restartPolicy?: string }[]).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const statuses: ContainerStatusLike[] = [...(p.status?.containerStatuses ?? []), ...((p.status?.initContainerStatuses ?? []) as ContainerStatusLike[]).filter((c) => sidecarNames.has(c.name ?? ''))];
  return `${statuses.filter((c) => c.ready).length}/${(p.spec?.containers ?? []).length + sidecarNames.size}`;
}

export function podRestarts(p: KubeObject): number {
  const statuses: ContainerStatusLike[] = [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])];
  return statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

/** Go's `duration.HumanDuration`: the AGE column's "45s", "3m20s", "5h", "12d". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const d = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return d === 0 ? `${y}y` : `${y}y${d}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export function age(timestamp: string | undefined): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(Date.now() - t);
}
