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

export interface ContainerStatusLike {
  name?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string };
    running?: object;
    terminated?: { reason?: string; signal?: number; exitCode?: number; finishedAt?: string };
  };
  lastState?: { terminated?: { finishedAt?: string } };
}

const conditionTrue = (o: PodLike, type: string) =>
  ((o.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === type && c.status === 'True',
  );

/**
 * The STATUS and RESTARTS columns of `kubectl get pods`, computed in one pass as kubectl's printPod does: while the pod
 * initializes, RESTARTS counts the init containers up to the one running; once it is initialized, only the sidecars
 * (restartable init containers) and the main containers.
 */
function printPod(pod: PodLike): { reason: string; restarts: number; lastRestart?: string } {
  const status = pod.status ?? {};
  let reason: string = status.reason || status.phase || 'Pending';
  if (
    ((status.conditions ?? []) as { type: string; reason?: string }[]).some(
      (c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated',
    )
  )
    reason = 'SchedulingGated';
  const init: ContainerStatusLike[] = status.initContainerStatuses ?? [];
  const initSpecs: { name?: string; restartPolicy?: string }[] = pod.spec?.initContainers ?? [];
  const isSidecar = (name: string | undefined) =>
    initSpecs.some((s) => s.name === name && s.restartPolicy === 'Always');
  let restarts = 0;
  let sidecarRestarts = 0;
  // The latest finishedAt of a restarted container's previous run (ISO strings compare as times).
  let lastRestart: string | undefined;
  let lastSidecarRestart: string | undefined;
  const later = (a: string | undefined, c: ContainerStatusLike) => {
    const t = c.lastState?.terminated?.finishedAt;
    return t && (!a || t > a) ? t : a;
  };
  let initializing = false;
  for (let i = 0; i < init.length; i++) {
    const c = init[i];
    restarts += c.restartCount ?? 0;
    lastRestart = later(lastRestart, c);
    if (isSidecar(c.name)) {
      sidecarRestarts += c.restartCount ?? 0;
      lastSidecarRestart = later(lastSidecarRestart, c);
    }
    if (c.state?.terminated?.exitCode === 0) continue;
    if (c.started && isSidecar(c.name)) continue; // a running sidecar
    if (c.state?.terminated) {
      const t = c.state.terminated;
      reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing')
      reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${initSpecs.length}`;
    initializing = true;
    break;
  }
  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const containers: ContainerStatusLike[] = status.containerStatuses ?? [];
    for (let i = containers.length - 1; i >= 0; i--) {
      const c = containers[i];
      restarts += c.restartCount ?? 0;
      lastRestart = later(lastRestart, c);
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated)
        reason = c.state.terminated.signal
          ? `Signal:${c.state.terminated.signal}`
          : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }
  if (pod.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return { reason, restarts, lastRestart };
}

/** The STATUS column text of `kubectl get pods`. */
export function podStatusText(pod: PodLike): string {
  return printPod(pod).reason;
}

/** READY: "ready/total" over the containers and restartable init containers (sidecars). */
export function podReady(p: PodLike): string {
  const sidecarNames = new Set(
    ((p.spec?.initContainers ?? []) as { name: string; restartPolicy?: string }[])
      .filter((c) => c.restartPolicy === 'Always')
      .map((c) => c.name),
  );
  const statuses: ContainerStatusLike[] = [
    ...(p.status?.containerStatuses ?? []),
    ...((p.status?.initContainerStatuses ?? []) as ContainerStatusLike[]).filter((c) => sidecarNames.has(c.name ?? '')),
  ];
  return `${statuses.filter((c) => c.ready).length}/${(p.spec?.containers ?? []).length + sidecarNames.size}`;
}

/** The number in the RESTARTS column of `kubectl get pods` (see printPod). */
export function podRestarts(p: PodLike): number {
  return printPod(p).restarts;
}

/** The RESTARTS column as kubectl prints it: "3 (45s ago)" once a container restarted. */
export function podRestartsText(p: PodLike): string {
  const { restarts, lastRestart } = printPod(p);
  return restarts !== 0 && lastRestart ? `${restarts} (${age(lastRestart)} ago)` : String(restarts);
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
