// The Job controller (job-controller) with finalizer-based pod tracking as in Kubernetes 1.31: pods carry the
// batch.kubernetes.io/job-tracking finalizer until they are counted (through status.uncountedTerminatedPods),
// parallelism and completions (NonIndexed and Indexed), backoffLimit, activeDeadlineSeconds, suspend, the
// SuccessCriteriaMet/FailureTarget then Complete/Failed conditions, and ttlSecondsAfterFinished.
import { ApiError } from '../errors.js';
import type { StoreEvent } from '../store.js';
import type { Condition, ContainerStatus, JobStatus, KJob, KPod } from '../types.js';
import { Controller, nsKey, splitKey, type ControllerContext } from './base.js';
import { recordEvent } from './events.js';
import { claimObjects, controllerRefOf, podFromTemplate } from './workload-util.js';
import { isPodActive, isPodReady, isPodTerminal } from './workload-util.js';
import { omitZero, rfc3339, writeStatus } from './workload-util.js';

const SOURCE = { component: 'job-controller' };
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
const MAX_BACKOFF_MS = 6 * 60_000;

const condOf = (job: KJob, type: string): Condition | undefined =>
  (job.status?.conditions ?? []).find((c) => c.type === type && c.status === 'True');
export const isJobFinished = (job: KJob): boolean => Boolean(condOf(job, 'Complete') || condOf(job, 'Failed'));
const hasFinalizer = (p: KPod) => (p.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
const indexOf = (p: KPod): number | undefined => {
  const v = p.metadata.annotations?.[COMPLETION_INDEX] ?? p.metadata.labels?.[COMPLETION_INDEX];
  return v === undefined || !/^\d+$/.test(v) ? undefined : Number(v);
};

export interface JobControllerOptions {
  /** The time the controller sees (tests move it); the real time by default. */
  now?: () => number;
}

export class JobController extends Controller {
  private readonly now: () => number;
  /** When each job (by uid) may create pods again after a failure (the controller's in-memory backoff). */
  private readonly backoffUntil = new Map<string, number>();

  constructor(ctx: ControllerContext, opts: JobControllerOptions = {}) {
    super(ctx);
    this.now = opts.now ?? Date.now;
  }

  private get jobRt() {
    return this.store.type('batch', 'jobs');
  }

  private get podRt() {
    return this.store.type('', 'pods');
  }

  protected override initialKeys(): string[] {
    const keys = this.keysOfAll(this.jobRt);
    for (const p of this.store.list(this.podRt)) if (hasFinalizer(p)) keys.push(...this.podKeys(p));
    return keys;
  }

  protected keysFor(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    if (rt.group === 'batch' && rt.kind === 'Job') {
      if (ev.type === 'DELETED') {
        this.backoffUntil.delete(object.metadata.uid!);
        return [];
      }
      return [nsKey(object.metadata.namespace, object.metadata.name!)];
    }
    if (rt.group === '' && rt.kind === 'Pod')
      return ev.type === 'DELETED' && !hasFinalizer(object) ? this.ownerKey(object) : this.podKeys(object);
    return [];
  }

  private ownerKey(pod: KPod): string[] {
    const ref = controllerRefOf(pod);
    return ref?.kind === 'Job' ? [nsKey(pod.metadata.namespace, ref.name)] : [];
  }

  /** The job's key, or `pod:<ns>/<name>` for a tracked pod whose job is gone (its finalizer must go). */
  private podKeys(pod: KPod): string[] {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== 'Job')
      return hasFinalizer(pod) && !ref ? [`pod:${nsKey(pod.metadata.namespace, pod.metadata.name!)}`] : [];
    const job = this.store.get(this.jobRt, pod.metadata.namespace, ref.name);
    if (hasFinalizer(pod) && (!job || job.metadata.uid !== ref.uid))
      return [`pod:${nsKey(pod.metadata.namespace, pod.metadata.name!)}`];
    return [nsKey(pod.metadata.namespace, ref.name)];
  }

  protected reconcile(key: string): void {
    if (key.startsWith('pod:')) {
      const [namespace, name] = splitKey(key.slice(4));
      const pod = this.store.get(this.podRt, namespace, name);
      if (pod && hasFinalizer(pod)) this.removeFinalizer(pod);
      return;
    }
    const [namespace, name] = splitKey(key);
    const found = this.store.get(this.jobRt, namespace, name);
    if (!found) return;
    const job = structuredClone(found);
    const uid = job.metadata.uid!;
    const manual = job.spec?.manualSelector === true;
    // The selector the API server defaults (controller-uid), should nothing have set it.
    const selector =
      job.spec?.selector ?? (manual ? undefined : { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    let pods = claimObjects(this.store, this.podRt, { ...job, spec: { ...job.spec, selector } });

    if (isJobFinished(job) || job.metadata.deletionTimestamp) {
      for (const p of pods)
        if (hasFinalizer(p) && (isPodTerminal(p) || p.metadata.deletionTimestamp || isJobFinished(job)))
          this.removeFinalizer(p);
      if (isJobFinished(job)) this.handleTTL(job);
      return;
    }

    const now = this.now();
    const status: JobStatus = structuredClone(job.status ?? {});
    const conditions: Condition[] = status.conditions ?? [];
    const finishing = conditions.find(
      (c) => (c.type === 'SuccessCriteriaMet' || c.type === 'FailureTarget') && c.status === 'True',
    );
    const suspended = job.spec?.suspend === true;
    const indexed = job.spec?.completionMode === 'Indexed';

    // Suspension and resumption.
    const suspendCond = conditions.find((c) => c.type === 'Suspended');
    if (suspended && suspendCond?.status !== 'True' && !finishing) {
      this.setCond(conditions, 'Suspended', 'JobSuspended', 'Job suspended', now);
      recordEvent(this.store, job, 'Normal', 'Suspended', 'Job suspended', SOURCE);
    } else if (!suspended && suspendCond?.status === 'True') {
      this.setCond(conditions, 'Suspended', 'JobResumed', 'Job resumed', now, 'False');
      status.startTime = rfc3339(now);
      recordEvent(this.store, job, 'Normal', 'Resumed', 'Job resumed', SOURCE);
    }
    if (!status.startTime && !suspended) status.startTime = rfc3339(now);

    // Counting through uncountedTerminatedPods: record, remove the finalizers, then add to the totals.
    const uncounted = {
      succeeded: [...(status.uncountedTerminatedPods?.succeeded ?? [])],
      failed: [...(status.uncountedTerminatedPods?.failed ?? [])],
    };
    const seen = new Set([...uncounted.succeeded, ...uncounted.failed]);
    const finished = pods.filter(
      (p) => hasFinalizer(p) && (isPodTerminal(p) || (p.metadata.deletionTimestamp && !finishing)),
    );
    let newFailures = 0;
    const newSucceededIndexes: number[] = [];
    for (const p of finished) {
      if (seen.has(p.metadata.uid!)) continue;
      if (p.status?.phase === 'Succeeded') {
        uncounted.succeeded.push(p.metadata.uid!);
        const ix = indexOf(p);
        if (ix !== undefined) newSucceededIndexes.push(ix);
      } else {
        uncounted.failed.push(p.metadata.uid!);
        newFailures++;
      }
    }
    if (indexed)
      status.completedIndexes = formatIndexes(
        new Set([...parseIndexes(status.completedIndexes), ...newSucceededIndexes]),
      );
    if (finished.length && uncounted.succeeded.length + uncounted.failed.length > seen.size) {
      status.conditions = conditions;
      status.uncountedTerminatedPods = compactUncounted(uncounted);
      writeStatus(this.store, this.jobRt, job, status);
    }
    for (const p of finished) this.removeFinalizer(p);
    pods = this.store.list(this.podRt, namespace).filter((p) => controllerRefOf(p)?.uid === uid);
    const stillTracked = new Set(pods.filter(hasFinalizer).map((p) => p.metadata.uid));
    let succeeded = status.succeeded ?? 0;
    let failed = status.failed ?? 0;
    uncounted.succeeded = uncounted.succeeded.filter((u) => stillTracked.has(u) || (succeeded++, false));
    uncounted.failed = uncounted.failed.filter((u) => stillTracked.has(u) || (failed++, false));

    if (newFailures) {
      const delay = this.ctx.clock.delay(
        'job-backoff',
        Math.min(10_000 * 2 ** Math.max(0, failed - 1), MAX_BACKOFF_MS),
      );
      this.backoffUntil.set(uid, Date.now() + delay);
    }

    // Success and failure.
    // Both unset: one pod to one completion (the API server's default); parallelism alone: a work queue.
    const completions: number | undefined =
      job.spec?.completions ?? (job.spec?.parallelism === undefined || job.spec?.parallelism === null ? 1 : undefined);
    const parallelism: number = job.spec?.parallelism ?? 1;
    const backoffLimit: number = job.spec?.backoffLimit ?? 6;
    let active = pods.filter(isPodActive);
    const doneIndexes = parseIndexes(status.completedIndexes);
    const complete = indexed
      ? doneIndexes.size >= (completions ?? 1)
      : completions === undefined
        ? succeeded > 0 && active.length === 0
        : succeeded >= completions;
    let target = finishing;
    if (!target && !suspended) {
      const restarts =
        job.spec?.template?.spec?.restartPolicy === 'OnFailure'
          ? active.reduce(
              (n, p) =>
                n +
                (p.status?.containerStatuses ?? []).reduce(
                  (m: number, c: ContainerStatus) => m + (c.restartCount ?? 0),
                  0,
                ),
              0,
            )
          : 0;
      const deadline = job.spec?.activeDeadlineSeconds;
      const started = Date.parse(status.startTime ?? '');
      if (complete) {
        target = this.setCond(
          conditions,
          'SuccessCriteriaMet',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
          now,
        );
      } else if (failed + restarts > backoffLimit) {
        target = this.setCond(
          conditions,
          'FailureTarget',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
          now,
        );
        recordEvent(
          this.store,
          job,
          'Warning',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
          SOURCE,
        );
      } else if (deadline !== undefined && deadline !== null && !Number.isNaN(started)) {
        const left = started + deadline * 1000 - now;
        if (left <= 0) {
          target = this.setCond(
            conditions,
            'FailureTarget',
            'DeadlineExceeded',
            'Job was active longer than specified deadline',
            now,
          );
          recordEvent(
            this.store,
            job,
            'Warning',
            'DeadlineExceeded',
            'Job was active longer than specified deadline',
            SOURCE,
          );
        } else {
          this.enqueueAfter(key, left + 5);
        }
      }
    }

    if (target || suspended) {
      // No more work: the active pods go (their deletion is no failure), and the job finishes once none is left.
      for (const p of active) this.deletePod(job, p, true);
    } else {
      this.manageActive(job, active, { completions, parallelism, succeeded, indexed, doneIndexes, key });
    }

    pods = this.store.list(this.podRt, namespace).filter((p) => controllerRefOf(p)?.uid === uid);
    active = pods.filter(isPodActive);
    const terminating = pods.filter((p) => p.metadata.deletionTimestamp && !isPodTerminal(p)).length;
    if (target && terminating === 0 && uncounted.succeeded.length + uncounted.failed.length === 0) {
      if (target.type === 'SuccessCriteriaMet') {
        this.setCond(conditions, 'Complete', target.reason, target.message, now);
        status.completionTime = rfc3339(now);
        recordEvent(this.store, job, 'Normal', 'Completed', 'Job completed', SOURCE);
      } else {
        this.setCond(conditions, 'Failed', target.reason, target.message, now);
      }
    }

    const next: JobStatus = {};
    if (conditions.length) next.conditions = conditions;
    if (status.startTime) next.startTime = status.startTime;
    if (status.completionTime) next.completionTime = status.completionTime;
    Object.assign(next, omitZero({ active: active.length, succeeded, failed }, ['active', 'succeeded', 'failed']));
    next.terminating = terminating;
    if (indexed && status.completedIndexes !== undefined) next.completedIndexes = status.completedIndexes;
    next.uncountedTerminatedPods = compactUncounted(uncounted);
    next.ready = active.filter(isPodReady).length;
    const written = writeStatus(this.store, this.jobRt, job, next);
    if (written && isJobFinished(written)) {
      for (const p of pods) if (hasFinalizer(p)) this.removeFinalizer(p);
      this.handleTTL(written);
    }
  }

  /** Creates or removes pods so that the right number runs; returns the active pods. */
  private manageActive(
    job: KJob,
    active: KPod[],
    o: {
      completions?: number;
      parallelism: number;
      succeeded: number;
      indexed: boolean;
      doneIndexes: Set<number>;
      key: string;
    },
  ): KPod[] {
    let want: number;
    if (o.indexed) want = Math.min(o.parallelism, (o.completions ?? 1) - o.doneIndexes.size);
    else if (o.completions === undefined) want = o.succeeded > 0 ? 0 : o.parallelism;
    else want = Math.min(o.parallelism, o.completions - o.succeeded);
    want = Math.max(0, want);
    if (active.length > want) {
      const surplus = [...active].sort(
        (a, b) =>
          Number(isPodReady(a)) - Number(isPodReady(b)) ||
          Date.parse(b.metadata.creationTimestamp ?? '') - Date.parse(a.metadata.creationTimestamp ?? ''),
      );
      for (const p of surplus.slice(0, active.length - want)) this.deletePod(job, p, true);
      return surplus.slice(active.length - want);
    }
    if (active.length === want) return active;
    const until = this.backoffUntil.get(job.metadata.uid!) ?? 0;
    if (until > Date.now()) {
      this.enqueueAfter(o.key, until - Date.now() + 5);
      return active;
    }
    const out = [...active];
    if (o.indexed) {
      const busy = new Set(active.map(indexOf));
      for (let ix = 0; ix < (o.completions ?? 1) && out.length < want; ix++) {
        if (o.doneIndexes.has(ix) || busy.has(ix)) continue;
        const created = this.createPod(job, ix);
        if (!created) break;
        out.push(created);
      }
    } else {
      while (out.length < want) {
        const created = this.createPod(job);
        if (!created) break;
        out.push(created);
      }
    }
    return out;
  }

  private createPod(job: KJob, index?: number): KPod | undefined {
    const name = job.metadata.name!;
    const uid = job.metadata.uid!;
    const pod = podFromTemplate(job, job.spec?.template, {
      generateName: index === undefined ? `${name}-` : `${name}-${index}-`,
    });
    if (job.spec?.manualSelector !== true) {
      pod.metadata.labels = {
        ...pod.metadata.labels,
        'batch.kubernetes.io/controller-uid': uid,
        'batch.kubernetes.io/job-name': name,
        'controller-uid': uid,
        'job-name': name,
      };
    }
    pod.metadata.finalizers = [...(pod.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER];
    if (index !== undefined) {
      pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [COMPLETION_INDEX]: String(index) };
      pod.metadata.labels = { ...pod.metadata.labels, [COMPLETION_INDEX]: String(index) };
      pod.spec.hostname ??= `${name}-${index}`;
      const env = {
        name: 'JOB_COMPLETION_INDEX',
        valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COMPLETION_INDEX}']` } },
      };
      for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
        c.env = [...(c.env ?? []).filter((e) => e.name !== 'JOB_COMPLETION_INDEX'), env];
      }
    }
    pod.spec.restartPolicy ??= 'Never';
    try {
      const created = this.store.create(this.podRt, pod);
      recordEvent(this.store, job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, SOURCE);
      return created;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      recordEvent(this.store, job, 'Warning', 'FailedCreate', `Error creating: ${e.message}`, SOURCE);
      if (!/being terminated/.test(e.message)) this.enqueueAfter(nsKey(job.metadata.namespace, name), 2000);
      return undefined;
    }
  }

  /** Deletes a pod the controller no longer wants; `untrack` first drops the finalizer so it is not counted. */
  private deletePod(job: KJob, pod: KPod, untrack: boolean): void {
    if (untrack && hasFinalizer(pod)) pod = this.removeFinalizer(pod) ?? pod;
    try {
      this.store.delete(this.podRt, pod.metadata.namespace, pod.metadata.name!);
      recordEvent(this.store, job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, SOURCE);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }

  private removeFinalizer(pod: KPod): KPod | undefined {
    const cur = this.store.get(this.podRt, pod.metadata.namespace, pod.metadata.name!);
    if (!cur || !hasFinalizer(cur)) return cur;
    const copy = structuredClone(cur);
    copy.metadata.finalizers = copy.metadata.finalizers!.filter((f) => f !== JOB_TRACKING_FINALIZER);
    if (!copy.metadata.finalizers.length) delete copy.metadata.finalizers;
    try {
      return this.store.update(this.podRt, copy);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  private setCond(
    conditions: Condition[],
    type: string,
    reason: string | undefined,
    message: string | undefined,
    now: number,
    status = 'True',
  ): Condition {
    const at = rfc3339(now);
    const cond = { type, status, lastProbeTime: at, lastTransitionTime: at, reason, message };
    const i = conditions.findIndex((c) => c.type === type);
    if (i >= 0) conditions[i] = cond;
    else conditions.push(cond);
    return cond;
  }

  /** ttlSecondsAfterFinished (the ttl-after-finished controller): the finished job is deleted, its pods with it. */
  private handleTTL(job: KJob): void {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined || ttl === null || job.metadata.deletionTimestamp) return;
    const finishedAt = Date.parse(
      job.status?.completionTime ??
        condOf(job, 'Failed')?.lastTransitionTime ??
        condOf(job, 'Complete')?.lastTransitionTime ??
        '',
    );
    if (Number.isNaN(finishedAt)) return;
    const left = finishedAt + ttl * 1000 - this.now();
    if (left > 0) {
      this.enqueueAfter(nsKey(job.metadata.namespace, job.metadata.name!), left + 5);
      return;
    }
    try {
      this.store.delete(this.jobRt, job.metadata.namespace, job.metadata.name!, {
        propagationPolicy: 'Background',
        preconditions: { uid: job.metadata.uid },
      });
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  }
}

function compactUncounted(u: { succeeded: string[]; failed: string[] }): JobStatus['uncountedTerminatedPods'] {
  const out: NonNullable<JobStatus['uncountedTerminatedPods']> = {};
  if (u.succeeded.length) out.succeeded = u.succeeded;
  if (u.failed.length) out.failed = u.failed;
  return out;
}

/** "0-2,5" → {0,1,2,5} */
export function parseIndexes(s: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.add(i);
  }
  return out;
}

/** {0,1,2,5} → "0-2,5" (status.completedIndexes) */
export function formatIndexes(set: Set<number>): string {
  const xs = [...set].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length;) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    parts.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
