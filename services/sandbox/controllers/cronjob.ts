// The CronJob controller (cronjob-controller v2): standard 5-field cron schedules (and @every) in the CronJob's time zone,
// Jobs named <cronjob>-<scheduled time in minutes since the epoch>, a timer to the next scheduled time,
// concurrencyPolicy, startingDeadlineSeconds, suspend, history limits and status (active, lastScheduleTime,
// lastSuccessfulTime).
import { ApiError } from '../errors.js';
import type { StoreEvent } from '../store.js';
import type { KCronJob, KJob, KObject, ObjectRef } from '../types.js';
import { Controller, isEventOf, nsKey, splitKey, type ControllerContext } from './base.js';
import { recordEvent } from './events.js';
import {
  checkTimeZone,
  CronSyntaxError,
  nextScheduleTime,
  parseSchedule,
  scheduledTimesBetween,
  wallClock,
  type CronSchedule,
} from '../../common/k8s/cron.js';
import { isJobFinished } from './job.js';
import { controllerKeys, isControlledBy, ownerRef, rfc3339, writeStatus } from './workload-util.js';

const SOURCE = { component: 'cronjob-controller' };
export const SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

// The schedule grammar and times are shared with admission (services/common/k8s/cron.ts), so that what the API
// server admits is what this controller runs; re-exported for the controller's tests.
export { nextScheduleTime, parseSchedule, type CronSchedule } from '../../common/k8s/cron.js';

/** RFC 3339 in a time zone, with its offset ("2024-03-01T10:00:00+01:00"; "Z" for UTC). */
export function formatInZone(d: Date, timeZone = 'UTC'): string {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return rfc3339(d);
  const z = wallClock(d.getTime(), timeZone);
  const wall = Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, d.getUTCSeconds());
  const offset = Math.round((wall - Math.floor(d.getTime() / 1000) * 1000) / 60_000);
  if (offset === 0) return rfc3339(wall);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${new Date(wall).toISOString().slice(0, 19)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

// ------------------------------------------------------------------ the controller

export interface CronJobControllerOptions {
  /** The controller's clock; tests move it past a scheduled time and enqueue the CronJob. */
  now?: () => Date;
}

export class CronJobController extends Controller {
  private readonly now: () => Date;
  /** The next wake-up already set per CronJob key (so each reconcile does not add a timer). */
  private readonly wakeups = new Map<string, { due: number; fireAt: number }>();

  constructor(ctx: ControllerContext, opts: CronJobControllerOptions = {}) {
    super(ctx);
    this.now = opts.now ?? (() => new Date());
  }

  private get cjRt() {
    return this.store.type('batch', 'cronjobs');
  }

  private get jobRt() {
    return this.store.type('batch', 'jobs');
  }

  protected override initialKeys(): string[] {
    return this.keysOfAll(this.cjRt);
  }

  protected keysFor(ev: StoreEvent): string[] {
    const { rt, object } = ev;
    if (rt.group === 'batch' && rt.kind === 'CronJob') {
      const key = nsKey(object.metadata.namespace, object.metadata.name!);
      if (ev.type === 'DELETED') {
        this.wakeups.delete(key);
        return [];
      }
      return [key];
    }
    if (isEventOf(ev, 'batch', 'Job')) return controllerKeys(ev, 'CronJob');
    return [];
  }

  private wakeAt(key: string, at: Date | undefined): void {
    if (!at) return;
    const due = at.getTime();
    const delay = Math.min(Math.max(due - this.now().getTime() + 100, 100), 3_600_000);
    // The timer runs on real time; when the clock moved (tests), an earlier real wake-up replaces the set one.
    const fireAt = Date.now() + delay;
    const set = this.wakeups.get(key);
    if (set && set.due === due && set.fireAt <= fireAt + 50) return;
    const wakeup = { due, fireAt };
    this.wakeups.set(key, wakeup);
    this.ctx.setTimer(() => {
      if (this.wakeups.get(key) === wakeup) this.wakeups.delete(key);
      this.enqueue(key);
    }, delay);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const found = this.store.get(this.cjRt, namespace, name);
    if (!found || found.metadata.deletionTimestamp) return;
    const cj: KCronJob = structuredClone(found);
    const now = this.now();
    const jobs: KJob[] = this.store.list(this.jobRt, namespace).filter((j) => isControlledBy(j, cj));
    const status: NonNullable<KCronJob['status']> = structuredClone(cj.status ?? {});

    // The active list against the jobs as they are.
    const active: ObjectRef[] = [];
    const previous = new Map((status.active ?? []).map((a) => [a.uid, a]));
    const wasActive = new Set(previous.keys());
    for (const j of jobs) {
      const finished = isJobFinished(j);
      const complete = (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');
      if (!finished) {
        active.push(previous.get(j.metadata.uid!) ?? jobRef(j));
        continue;
      }
      if (wasActive.has(j.metadata.uid!)) {
        recordEvent(
          this.store,
          cj,
          'Normal',
          'SawCompletedJob',
          `Saw completed job: ${j.metadata.name}, condition: ${complete ? 'Complete' : 'Failed'}`,
          SOURCE,
        );
      }
      const done = j.status?.completionTime;
      if (
        complete &&
        done &&
        (!status.lastSuccessfulTime || Date.parse(done) > Date.parse(status.lastSuccessfulTime))
      ) {
        status.lastSuccessfulTime = done;
      }
    }
    this.cleanupHistory(cj, jobs);

    const writeBack = () => {
      if (active.length) status.active = active;
      else delete status.active;
      writeStatus(this.store, this.cjRt, cj, status);
    };

    if (cj.spec?.suspend) {
      writeBack();
      return;
    }
    let timeZone: string = cj.spec?.timeZone ?? 'UTC';
    let schedule: CronSchedule;
    try {
      checkTimeZone(timeZone);
    } catch {
      recordEvent(
        this.store,
        cj,
        'Warning',
        'UnknownTimeZone',
        `invalid timeZone: "${timeZone}": unknown time zone ${timeZone}`,
        SOURCE,
      );
      writeBack();
      return;
    }
    const scheduleText = String(cj.spec?.schedule ?? '');
    try {
      schedule = parseSchedule(scheduleText);
    } catch (e) {
      if (!(e instanceof CronSyntaxError)) throw e;
      recordEvent(
        this.store,
        cj,
        'Warning',
        'InvalidSchedule',
        `invalid schedule: ${cj.spec?.schedule} : ${e.message}`,
        SOURCE,
      );
      writeBack();
      return;
    }
    // A TZ=/CRON_TZ= prefix (kept only from before validation refused it) wins over spec.timeZone, as in formatSchedule.
    if (scheduleText.includes('TZ')) {
      recordEvent(
        this.store,
        cj,
        'Warning',
        'UnsupportedSchedule',
        `CRON_TZ or TZ used in schedule "${scheduleText}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
        SOURCE,
      );
      timeZone = schedule.timeZone ?? timeZone;
    }

    // The most recent unmet scheduled time.
    let earliest = Date.parse(status.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '') || now.getTime();
    const deadline: number | undefined = cj.spec?.startingDeadlineSeconds ?? undefined;
    if (deadline !== undefined && deadline !== null) earliest = Math.max(earliest, now.getTime() - deadline * 1000);
    const weekAgo = now.getTime() - 7 * 86_400_000;
    if (earliest < weekAgo) earliest = weekAgo;
    const { count: missed, last: mostRecent } = scheduledTimesBetween(schedule, new Date(earliest), now, timeZone);
    if (missed > 100) {
      recordEvent(
        this.store,
        cj,
        'Warning',
        'TooManyMissedTimes',
        'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
        SOURCE,
      );
    }
    const next = nextScheduleTime(schedule, now, timeZone);
    if (!mostRecent) {
      this.wakeAt(key, next);
      writeBack();
      return;
    }
    if (deadline !== undefined && deadline !== null && mostRecent.getTime() + deadline * 1000 < now.getTime()) {
      recordEvent(
        this.store,
        cj,
        'Warning',
        'MissSchedule',
        `Missed scheduled time to start a job: ${formatInZone(mostRecent, timeZone)}`,
        SOURCE,
      );
      this.wakeAt(key, next);
      writeBack();
      return;
    }
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && active.length) {
      // The run waits (and is retried) while a job is active.
      this.wakeAt(key, next);
      writeBack();
      return;
    }
    if (policy === 'Replace') {
      for (const a of active.splice(0)) {
        try {
          this.store.delete(this.jobRt, namespace, a.name ?? '', { propagationPolicy: 'Background' });
          recordEvent(this.store, cj, 'Normal', 'SuccessfulDelete', `Deleted job ${a.name}`, SOURCE);
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
      }
    }
    const jobName = `${cj.metadata.name}-${Math.floor(mostRecent.getTime() / 60_000)}`;
    if (!this.store.get(this.jobRt, namespace, jobName)) {
      const tpl = cj.spec?.jobTemplate ?? {};
      const job: KObject = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: jobName,
          namespace,
          labels: { ...(tpl.metadata?.labels ?? {}) },
          annotations: {
            ...(tpl.metadata?.annotations ?? {}),
            [SCHEDULED_TIMESTAMP]: formatInZone(mostRecent, timeZone),
          },
          ownerReferences: [ownerRef(cj)],
        },
        spec: structuredClone(tpl.spec ?? {}),
      };
      try {
        const created = this.store.create(this.jobRt, job);
        recordEvent(this.store, cj, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`, SOURCE);
        active.push(jobRef(created));
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.code !== 409) {
          recordEvent(this.store, cj, 'Warning', 'FailedCreate', `Error creating job: ${e.message}`, SOURCE);
          writeBack();
          if (!/being terminated/.test(e.message)) this.enqueueAfter(key, 2000);
          return;
        }
      }
    }
    status.lastScheduleTime = rfc3339(mostRecent);
    this.wakeAt(key, next);
    writeBack();
  }

  /** successfulJobsHistoryLimit / failedJobsHistoryLimit: the oldest finished jobs beyond them are deleted. */
  private cleanupHistory(cj: KCronJob, jobs: KJob[]): void {
    const started = (j: KJob) => Date.parse(j.status?.startTime ?? j.metadata.creationTimestamp ?? '') || 0;
    const complete = (j: KJob) =>
      (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');
    const finished = jobs
      .filter((j) => isJobFinished(j) && !j.metadata.deletionTimestamp)
      .sort((a, b) => started(a) - started(b));
    const prune = (list: KObject[], limit: number) => {
      for (const j of list.slice(0, Math.max(0, list.length - limit))) {
        try {
          this.store.delete(this.jobRt, j.metadata.namespace, j.metadata.name!, { propagationPolicy: 'Background' });
          recordEvent(this.store, cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`, SOURCE);
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
      }
    };
    prune(finished.filter(complete), cj.spec?.successfulJobsHistoryLimit ?? 3);
    prune(
      finished.filter((j) => !complete(j)),
      cj.spec?.failedJobsHistoryLimit ?? 1,
    );
  }
}

function jobRef(j: KObject): ObjectRef {
  return {
    kind: 'Job',
    namespace: j.metadata.namespace,
    name: j.metadata.name,
    uid: j.metadata.uid,
    apiVersion: 'batch/v1',
    resourceVersion: j.metadata.resourceVersion,
  };
}
