// Workloads: defaults and validation of Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs.
import { scheduleProblems } from '../../common/k8s/cron.js';
import type { StatusCause } from '../errors.js';
import { labelsMatch, requirementsOfLabelSelector } from '../selectors.js';
import type { KindHooks } from '../store.js';
import type { KObject } from '../types.js';
import { required, invalidValue, forbidden, notSupported, IMMUTABLE, same } from './messages.js';
import { defaultPodSpec, validatePodSpec } from './pods.js';

function validateSelectorAndTemplate(obj: KObject, kind: string, allowedRestart: string[]): StatusCause[] {
  const spec = obj.spec ?? {};
  const causes: StatusCause[] = [];
  const sel = spec.selector;
  const reqs = requirementsOfLabelSelector(sel);
  if (!sel) causes.push(required('spec.selector'));
  else if (!reqs.length) causes.push(invalidValue('spec.selector', sel, `empty selector is invalid for ${kind}`));
  const labels = spec.template?.metadata?.labels;
  if (!spec.template) {
    causes.push(required('spec.template'));
    return causes;
  }
  if (!labelsMatch(reqs, labels ?? {}) || !sel) {
    causes.push(
      invalidValue('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'),
    );
  }
  causes.push(...validatePodSpec(spec.template.spec, 'spec.template.spec', allowedRestart));
  return causes;
}

function validateReplicas(obj: KObject): StatusCause[] {
  const r = obj.spec?.replicas;
  if (r === undefined || r === null) return [];
  if (!Number.isInteger(r)) return [invalidValue('spec.replicas', r, 'must be an integer')];
  return r < 0 ? [invalidValue('spec.replicas', r, 'must be greater than or equal to 0')] : [];
}

function selectorImmutable(obj: KObject, old?: KObject): StatusCause[] {
  if (!old || same(obj.spec?.selector, old.spec?.selector)) return [];
  return [invalidValue('spec.selector', obj.spec?.selector, IMMUTABLE)];
}

function defaultTemplate(obj: KObject, defaultRestartPolicy = true): void {
  if (obj.spec?.template && typeof obj.spec.template === 'object') {
    obj.spec.template.metadata ??= {};
    defaultPodSpec((obj.spec.template.spec ??= {}), defaultRestartPolicy);
  }
}

export const deploymentHooks: KindHooks = {
  defaults(d) {
    d.spec ??= {};
    d.spec.replicas ??= 1;
    d.spec.strategy ??= {};
    d.spec.strategy.type ??= 'RollingUpdate';
    if (d.spec.strategy.type === 'RollingUpdate') {
      d.spec.strategy.rollingUpdate ??= {};
      d.spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
      d.spec.strategy.rollingUpdate.maxSurge ??= '25%';
    }
    d.spec.revisionHistoryLimit ??= 10;
    d.spec.progressDeadlineSeconds ??= 600;
    defaultTemplate(d);
  },
  validate(d, old) {
    const causes = [
      ...validateReplicas(d),
      ...validateSelectorAndTemplate(d, 'deployment', ['Always']),
      ...selectorImmutable(d, old),
    ];
    const s = d.spec?.strategy;
    if (s?.type && !['RollingUpdate', 'Recreate'].includes(s.type))
      causes.push(notSupported('spec.strategy.type', s.type, ['Recreate', 'RollingUpdate']));
    if (s?.type === 'Recreate' && s.rollingUpdate)
      causes.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    return causes;
  },
};

export const replicaSetHooks: KindHooks = {
  defaults(rs) {
    rs.spec ??= {};
    rs.spec.replicas ??= 1;
    defaultTemplate(rs);
  },
  validate: (rs, old) => [
    ...validateReplicas(rs),
    ...validateSelectorAndTemplate(rs, 'replicaset', ['Always']),
    ...selectorImmutable(rs, old),
  ],
};

const STS_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];
export const statefulSetHooks: KindHooks = {
  defaults(s) {
    s.spec ??= {};
    s.spec.replicas ??= 1;
    s.spec.podManagementPolicy ??= 'OrderedReady';
    s.spec.updateStrategy ??= {};
    s.spec.updateStrategy.type ??= 'RollingUpdate';
    if (s.spec.updateStrategy.type === 'RollingUpdate') {
      s.spec.updateStrategy.rollingUpdate ??= {};
      s.spec.updateStrategy.rollingUpdate.partition ??= 0;
    }
    s.spec.revisionHistoryLimit ??= 10;
    s.spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
    defaultTemplate(s);
    for (const t of Array.isArray(s.spec.volumeClaimTemplates) ? s.spec.volumeClaimTemplates : []) {
      if (t && typeof t === 'object') {
        t.apiVersion ??= 'v1';
        t.kind ??= 'PersistentVolumeClaim';
        t.spec ??= {};
        t.spec.volumeMode ??= 'Filesystem';
        t.status ??= { phase: 'Pending' };
      }
    }
  },
  validate(s, old) {
    const causes = [...validateReplicas(s), ...validateSelectorAndTemplate(s, 'statefulset', ['Always'])];
    const p = s.spec?.podManagementPolicy;
    if (p && !['OrderedReady', 'Parallel'].includes(p))
      causes.push(notSupported('spec.podManagementPolicy', p, ['OrderedReady', 'Parallel']));
    if (old) {
      const strip = (o: KObject) =>
        Object.fromEntries(Object.entries(o.spec ?? {}).filter(([k]) => !STS_MUTABLE.includes(k)));
      if (!same(strip(s), strip(old))) {
        causes.push(
          forbidden(
            'spec',
            `updates to statefulset spec for fields other than ${STS_MUTABLE.slice(0, -1)
              .map((f) => `'${f}'`)
              .join(', ')} and '${STS_MUTABLE.at(-1)}' are forbidden`,
          ),
        );
      }
    }
    return causes;
  },
};

export const daemonSetHooks: KindHooks = {
  defaults(ds) {
    ds.spec ??= {};
    ds.spec.updateStrategy ??= {};
    ds.spec.updateStrategy.type ??= 'RollingUpdate';
    if (ds.spec.updateStrategy.type === 'RollingUpdate') {
      ds.spec.updateStrategy.rollingUpdate ??= {};
      ds.spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
      ds.spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
    }
    ds.spec.revisionHistoryLimit ??= 10;
    defaultTemplate(ds);
  },
  validate: (ds, old) => [...validateSelectorAndTemplate(ds, 'daemonset', ['Always']), ...selectorImmutable(ds, old)],
};

const JOB_UID = 'batch.kubernetes.io/controller-uid';
export const jobHooks: KindHooks = {
  defaults(job, _store, old) {
    job.spec ??= {};
    const spec = job.spec;
    if (spec.completions == null && spec.parallelism == null) {
      spec.completions = 1;
      spec.parallelism = 1;
    }
    spec.parallelism ??= 1;
    spec.backoffLimit ??= 6;
    spec.completionMode ??= 'NonIndexed';
    spec.suspend ??= false;
    spec.podReplacementPolicy ??= 'TerminatingOrFailed';
    defaultTemplate(job, false);
    if (spec.manualSelector !== true) {
      // The generated selector and labels (as the apiserver's job strategy does on create).
      const uid = job.metadata.uid;
      if (old && !spec.selector) spec.selector = structuredClone(old.spec?.selector);
      else if (!old) {
        spec.selector ??= {};
        spec.selector.matchLabels ??= {};
        spec.selector.matchLabels[JOB_UID] ??= uid;
      }
      if (spec.template && typeof spec.template === 'object') {
        const labels = (spec.template.metadata.labels ??= {});
        labels['batch.kubernetes.io/controller-uid'] ??= uid;
        labels['batch.kubernetes.io/job-name'] ??= job.metadata.name;
        labels['controller-uid'] ??= uid;
        labels['job-name'] ??= job.metadata.name;
      }
    }
    if (!old) job.status ??= {};
  },
  validate(job, old) {
    const spec = job.spec ?? {};
    const causes: StatusCause[] = [];
    for (const f of [
      'parallelism',
      'completions',
      'backoffLimit',
      'activeDeadlineSeconds',
      'ttlSecondsAfterFinished',
    ]) {
      const v = spec[f];
      if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0))
        causes.push(invalidValue(`spec.${f}`, v, 'must be greater than or equal to 0'));
    }
    if (spec.completionMode && !['NonIndexed', 'Indexed'].includes(spec.completionMode)) {
      causes.push(notSupported('spec.completionMode', spec.completionMode, ['NonIndexed', 'Indexed']));
    }
    if (spec.template && !spec.template.spec?.restartPolicy)
      causes.push(required('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"'));
    causes.push(...validateSelectorAndTemplate(job, 'job', ['OnFailure', 'Never']));
    if (old) {
      causes.push(...selectorImmutable(job, old));
      if (!same(spec.template, old.spec?.template))
        causes.push(invalidValue('spec.template', spec.template, IMMUTABLE));
      if (!same(spec.completions, old.spec?.completions) && spec.completionMode !== 'Indexed')
        causes.push(invalidValue('spec.completions', spec.completions, IMMUTABLE));
      if (!same(spec.completionMode, old.spec?.completionMode))
        causes.push(invalidValue('spec.completionMode', spec.completionMode, IMMUTABLE));
    }
    return causes;
  },
};

export const cronJobHooks: KindHooks = {
  defaults(cj) {
    cj.spec ??= {};
    cj.spec.concurrencyPolicy ??= 'Allow';
    cj.spec.suspend ??= false;
    cj.spec.successfulJobsHistoryLimit ??= 3;
    cj.spec.failedJobsHistoryLimit ??= 1;
    const tpl = cj.spec.jobTemplate?.spec?.template;
    if (tpl && typeof tpl === 'object') {
      tpl.metadata ??= {};
      defaultPodSpec((tpl.spec ??= {}), false);
    }
  },
  validate(cj, old) {
    const spec = cj.spec ?? {};
    const causes: StatusCause[] = [];
    if (!spec.schedule) causes.push(required('spec.schedule'));
    else {
      // The controller's own parser (robfig's ParseStandard, as the API server validates), so nothing is admitted
      // that the controller would then only answer with InvalidSchedule events.
      const oldSchedule = old?.spec?.schedule === undefined ? undefined : String(old.spec.schedule);
      for (const problem of scheduleProblems(String(spec.schedule), { oldSchedule, timeZone: spec.timeZone })) {
        causes.push(invalidValue('spec.schedule', spec.schedule, problem));
      }
    }
    if (spec.concurrencyPolicy && !['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy)) {
      causes.push(notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']));
    }
    if (!spec.jobTemplate?.spec?.template) causes.push(required('spec.jobTemplate.spec.template'));
    else if (!spec.jobTemplate.spec.template.spec?.restartPolicy) {
      causes.push(required('spec.jobTemplate.spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"'));
    } else
      causes.push(
        ...validatePodSpec(spec.jobTemplate.spec.template.spec, 'spec.jobTemplate.spec.template.spec', [
          'OnFailure',
          'Never',
        ]),
      );
    return causes;
  },
};
