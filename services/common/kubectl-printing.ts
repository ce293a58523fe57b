// What `kubectl get` prints for pods and ages, ported from kubectl's printers. Shared by the sandbox's Tables and the
// workloads subgraph (production code never imports the sandbox; both import this).

/** The parts of a pod these functions read. */
export interface PodLike {
  metadata: { deletionTimestamp?: string | Date };
  // Pod spec and status are open-ended Kubernetes JSON; the functions below read optional paths of them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
}
type KubeObject = PodLike;

export interface ContainerStatusLike {
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
