// Which container instance a log request reads: the container, and its current or previous run.
import { badRequest } from '../errors.js';
import type { Container, ContainerStatus, KObject, PodStatus } from '../types.js';
import { type Flavor, flavorOf } from './timing.js';
import { scriptLogOf, type ScriptLog } from './script.js';

/** One run of a container: its log is a function of this alone. */
export interface Instance {
  seed: string;
  flavor: Flavor;
  pod: string;
  namespace: string;
  container: string;
  image: string;
  start: number; // ms
  /** When it stopped, for a terminated instance. */
  end?: number;
  exitCode?: number;
  /** What a generic image's shell script prints (logs/script.ts), instead of a made-up log. */
  script?: ScriptLog;
}

const allContainers = (pod: KObject): Container[] => [
  ...(pod.spec?.initContainers ?? []),
  ...(pod.spec?.containers ?? []),
  ...(pod.spec?.ephemeralContainers ?? []),
];

/** The API server's ValidateContainer: a default for single-container pods, 400 otherwise. */
export function pickContainer(pod: KObject, requested: string | undefined): string {
  const name = pod.metadata.name ?? '';
  if (requested) {
    if (!allContainers(pod).some((c) => c.name === requested))
      throw badRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  const containers: Container[] = pod.spec?.containers ?? [];
  if (containers.length === 1) return containers[0].name;
  if (containers.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
  throw badRequest(
    `a container name must be specified for pod ${name}, choose one of: [${allContainers(pod)
      .map((c) => c.name)
      .join(' ')}]`,
  );
}

export const timeOf = (s: unknown): number | undefined => {
  if (typeof s !== 'string' || !s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

export function statusOf(pod: KObject, container: string): ContainerStatus | undefined {
  const st: PodStatus = pod.status ?? {};
  for (const list of [st.containerStatuses, st.initContainerStatuses, st.ephemeralContainerStatuses]) {
    const found = (list ?? []).find((c) => c?.name === container);
    if (found) return found;
  }
  return undefined;
}

/**
 * When an instance stopped. Status times have second precision, so a finish time covers the whole second it names:
 * lines already streamed from that second must stay in the log.
 */
export const endOf = (finishedAt: unknown): number | undefined => {
  const t = timeOf(finishedAt);
  if (t === undefined) return undefined;
  return /\.\d+/.test(String(finishedAt)) ? t : t + 999;
};

/** A run as the status tells it: running (startedAt) or terminated (startedAt, finishedAt, exitCode). */
type RunState = { startedAt?: string; finishedAt?: string; exitCode?: number };

function instanceFrom(
  pod: KObject,
  container: string,
  image: string,
  state: RunState,
  fallbackStart?: number,
): Instance {
  const start =
    timeOf(state.startedAt) ??
    fallbackStart ??
    timeOf(pod.status?.startTime) ??
    timeOf(pod.metadata.creationTimestamp) ??
    Date.now();
  const end = state.finishedAt !== undefined ? (endOf(state.finishedAt) ?? start) : undefined;
  const spec: Partial<Container> = allContainers(pod).find((c) => c.name === container) ?? {};
  const env = new Map<string, string>([['HOSTNAME', pod.metadata.name ?? '']]);
  for (const e of spec.env ?? []) if (typeof e?.value === 'string') env.set(e.name, e.value);
  const script = scriptLogOf(image, spec.command, spec.args, env);
  return {
    seed: `${pod.metadata.uid ?? pod.metadata.name}|${container}|${image}|${state.startedAt ?? start}`,
    flavor: flavorOf(image),
    pod: pod.metadata.name ?? '',
    namespace: pod.metadata.namespace ?? 'default',
    container,
    image,
    start,
    ...(end !== undefined ? { end: Math.max(end, start) } : {}),
    ...(state.exitCode !== undefined ? { exitCode: Number(state.exitCode) } : {}),
    ...(script ? { script } : {}),
  };
}

/**
 * The kubelet's validateContainerLogStatus: which instance's log to serve, or why there is none.
 * A container waiting after a crash (CrashLoopBackOff) serves its last terminated instance, as the kubelet does.
 */
export function resolveInstance(pod: KObject, container: string, previous: boolean): Instance {
  const podName = pod.metadata.name ?? '';
  const spec: Partial<Container> = allContainers(pod).find((c) => c.name === container) ?? {};
  const cs = statusOf(pod, container);
  const image: string = cs?.image || spec.image || '';
  if (!cs) {
    if (previous) throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    throw badRequest(`container "${container}" in pod "${podName}" is waiting to start: ContainerCreating`);
  }
  const last = cs.lastState?.terminated;
  const { waiting, running, terminated } = cs.state ?? {};
  if (previous) {
    if (!last) throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    return instanceFrom(pod, container, image, last);
  }
  if (running) return instanceFrom(pod, container, image, running);
  if (terminated) return instanceFrom(pod, container, image, terminated);
  if (last) return instanceFrom(pod, container, image, last);
  if (waiting) {
    switch (waiting.reason) {
      case 'ErrImagePull':
        throw badRequest(`container "${container}" in pod "${podName}" is waiting to start: image can't be pulled`);
      case 'ImagePullBackOff':
        throw badRequest(
          `container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image`,
        );
      default:
        throw badRequest(
          `container "${container}" in pod "${podName}" is waiting to start: ${waiting.reason ?? 'ContainerCreating'}`,
        );
    }
  }
  throw badRequest(`container "${container}" in pod "${podName}" is waiting to start - no logs yet`);
}
