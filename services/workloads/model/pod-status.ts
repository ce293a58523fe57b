// Pod status as the schema shows it: kubectl's STATUS text (services/common/kubectl-printing.ts) and its PodStatus enum.
import { podStatusText } from '../../common/kubectl-printing.js';
import type { StoredObject } from '../../common/k8s/object.js';

export { age, humanDuration, podReady, podRestarts, podStatusText } from '../../common/kubectl-printing.js';

export type PodStatusEnum =
  | 'RUNNING'
  | 'PENDING'
  | 'CONTAINER_CREATING'
  | 'SUCCEEDED'
  | 'COMPLETED'
  | 'FAILED'
  | 'ERROR'
  | 'CRASH_LOOP_BACK_OFF'
  | 'IMAGE_PULL_BACK_OFF'
  | 'TERMINATING'
  | 'UNKNOWN';

/** kubectl's STATUS text onto the PodStatus enum. */
export function podStatusEnum(text: string): PodStatusEnum {
  switch (text) {
    case 'Running':
      return 'RUNNING';
    case 'Pending':
    case 'SchedulingGated':
    case 'NotReady':
      return 'PENDING';
    case 'ContainerCreating':
    case 'PodInitializing':
      return 'CONTAINER_CREATING';
    case 'Succeeded':
      return 'SUCCEEDED';
    case 'Completed':
      return 'COMPLETED';
    case 'Failed':
    case 'Evicted':
      return 'FAILED';
    case 'Error':
    case 'OOMKilled':
    case 'ContainerCannotRun':
    case 'CreateContainerError':
    case 'CreateContainerConfigError':
    case 'RunContainerError':
      return 'ERROR';
    case 'CrashLoopBackOff':
      return 'CRASH_LOOP_BACK_OFF';
    case 'ImagePullBackOff':
    case 'ErrImagePull':
    case 'InvalidImageName':
    case 'ErrImageNeverPull':
      return 'IMAGE_PULL_BACK_OFF';
    case 'Terminating':
      return 'TERMINATING';
    case 'Unknown':
      return 'UNKNOWN';
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

const displayCache = new WeakMap<StoredObject, { text: string; status: PodStatusEnum }>();

/** Status text and enum of a pod object, computed once per object version (cache objects are replaced on change). */
export function podDisplay(pod: StoredObject): { text: string; status: PodStatusEnum } {
  let d = displayCache.get(pod);
  if (!d) {
    const text = podStatusText(pod);
    d = { text, status: podStatusEnum(text) };
    displayCache.set(pod, d);
  }
  return d;
}
