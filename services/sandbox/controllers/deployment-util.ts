// deploymentutil: what the Deployment controller computes from a Deployment and its ReplicaSets without writing
// anything: revision annotations, surge and unavailability fenceposts, the status counts and its progress.
import type { Condition, KWorkload, WorkloadStatus } from '../types.js';
import { intOrPercent, omitZero, rfc3339, setCondition } from './workload-util.js';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
/** Deployment annotations that are not copied to its ReplicaSets. */
export const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

export type RS = KWorkload;

export const replicasOf = (o: KWorkload | undefined): number => o?.spec?.replicas ?? (o ? 1 : 0);
export const revisionOf = (rs: RS): number => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
export const sum = (rss: RS[], f: (rs: RS) => number) => rss.reduce((n, rs) => n + f(rs), 0);
export const byCreation = (a: RS, b: RS) =>
  Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? '') ||
  a.metadata.name!.localeCompare(b.metadata.name!);

export function maxSurge(d: KWorkload): number {
  if (d.spec?.strategy?.type === 'Recreate') return 0;
  const [surge] = fenceposts(d);
  return surge;
}

export function maxUnavailable(d: KWorkload): number {
  if (d.spec?.strategy?.type === 'Recreate' || replicasOf(d) === 0) return 0;
  const [, unavailable] = fenceposts(d);
  return Math.min(unavailable, replicasOf(d));
}

/** deploymentutil.ResolveFenceposts: surge rounds up, unavailability down, and both cannot be zero. */
export function fenceposts(d: KWorkload): [number, number] {
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const want = replicasOf(d);
  const surge = intOrPercent(ru.maxSurge, want, true, '25%');
  let unavailable = intOrPercent(ru.maxUnavailable, want, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

export function calculateStatus(
  d: KWorkload,
  all: RS[],
  newRS: RS | undefined,
): WorkloadStatus & { conditions: Condition[] } {
  const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
  const total = sum(all, (rs) => rs.status?.replicas ?? 0);
  const status: WorkloadStatus = omitZero(
    {
      observedGeneration: d.metadata.generation,
      replicas: total,
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sum(all, replicasOf) - available),
    },
    ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'],
  );
  const conditions = structuredClone(d.status?.conditions ?? []);
  const now = rfc3339(Date.now());
  const availableCond =
    available >= replicasOf(d) - maxUnavailable(d)
      ? {
          type: 'Available',
          status: 'True',
          lastUpdateTime: now,
          lastTransitionTime: now,
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        }
      : {
          type: 'Available',
          status: 'False',
          lastUpdateTime: now,
          lastTransitionTime: now,
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        };
  const out = { ...status, conditions: setCondition(conditions, availableCond) };
  if (d.status?.collisionCount !== undefined) out.collisionCount = d.status.collisionCount;
  return out;
}

export function deploymentComplete(d: KWorkload, s: WorkloadStatus): boolean {
  return (
    (s.updatedReplicas ?? 0) === replicasOf(d) &&
    (s.replicas ?? 0) === replicasOf(d) &&
    (s.availableReplicas ?? 0) === replicasOf(d) &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** deploymentutil.DeploymentProgressing: any count moved in the right direction since the last status. */
export function progressing(old: WorkloadStatus, next: WorkloadStatus): boolean {
  const oldStatusOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newStatusOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newStatusOld < oldStatusOld ||
    (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}
