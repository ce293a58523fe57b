// Per-kind defaulting, admission and validation, as the real kube-apiserver applies them on create and update:
// the defaults a client sees in `kubectl get -o yaml`, the allocations (Service cluster IPs and node ports), and
// the 422 Invalid answers with the real messages for the most common mistakes.
import { configMapKeyProblems, dns1123LabelProblems, isDns1123Label } from '../common/k8s/names.js';
import { quantityOf } from '../common/k8s/quantity.js';
import { scheduleProblems } from '../common/k8s/cron.js';
import type { StatusCause } from './errors.js';
import { labelsMatch, requirementsOfLabelSelector } from './selectors.js';
import type { KindHooks, Store, StoreEvent } from './store.js';
import { randomSuffix } from './store.js';
import type { KObject, Loose } from './types.js';

// ------------------------------------------------------------------ messages

/** How the real server prints a value in "Invalid value: ..." (strings quoted, numbers bare, the rest as JSON). */
export function fmtValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === undefined || v === null) return 'null';
  return JSON.stringify(v);
}

const required = (field: string, detail?: string): StatusCause => ({
  reason: 'FieldValueRequired',
  field,
  message: detail ? `Required value: ${detail}` : 'Required value',
});
const invalidValue = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  field,
  message: `Invalid value: ${fmtValue(value)}: ${detail}`,
});
const forbidden = (field: string, detail: string): StatusCause => ({
  reason: 'FieldValueForbidden',
  field,
  message: `Forbidden: ${detail}`,
});
const notSupported = (field: string, value: unknown, supported: string[]): StatusCause => ({
  reason: 'FieldValueNotSupported',
  field,
  message: `Unsupported value: ${fmtValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
});
const duplicate = (field: string, value: unknown): StatusCause => ({
  reason: 'FieldValueDuplicate',
  field,
  message: `Duplicate value: ${fmtValue(value)}`,
});

const IMMUTABLE = 'field is immutable';
const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** JSON with object keys sorted: patches may re-add a key at the end, and key order is not a change. */
const canonicalJson = (v: unknown): string =>
  JSON.stringify(v ?? null, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

// ------------------------------------------------------------------ pods

/** Pull policy the server picks when none is given: Always for `:latest` or no tag, else IfNotPresent. */
export function defaultPullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon < 0) return 'Always';
  return last.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: Loose): void {
  if (!c || typeof c !== 'object') return;
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.resources ??= {};
  // Requests default to limits for resources only limited.
  const limits = c.resources.limits;
  if (limits && typeof limits === 'object') {
    for (const [k, v] of Object.entries(limits)) {
      c.resources.requests ??= {};
      c.resources.requests[k] ??= v;
    }
  }
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    if (!probe || typeof probe !== 'object') continue;
    probe.timeoutSeconds ??= 1;
    probe.periodSeconds ??= 10;
    probe.successThreshold ??= 1;
    probe.failureThreshold ??= 3;
    if (probe.httpGet && typeof probe.httpGet === 'object') probe.httpGet.scheme ??= 'HTTP';
  }
}

/** The PodSpec defaults (SetDefaults_PodSpec): what pod templates get too. */
export function defaultPodSpec(spec: Loose, defaultRestartPolicy = true): void {
  if (!spec || typeof spec !== 'object') return;
  // Job templates keep an empty restartPolicy, so that leaving it out is "Required value" as in the real server.
  if (defaultRestartPolicy) spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) defaultContainer(c);
  for (const c of Array.isArray(spec.initContainers) ? spec.initContainers : []) defaultContainer(c);
  for (const t of Array.isArray(spec.tolerations) ? spec.tolerations : []) {
    if (t && typeof t === 'object' && t.operator === undefined && t.key !== undefined) t.operator = 'Equal';
  }
}

/** Request and limit are the same amount (Quantity.Cmp, so "1Gi" is "1024Mi" and "1" is "1000m"), as QoS compares them. */
const sameQuantity = (a: unknown, b: unknown): boolean => {
  const qa = quantityOf(a);
  const qb = quantityOf(b);
  return qa && qb ? qa.cmp(qb) === 0 : String(a) === String(b);
};

/** QoS class as the kubelet and the apiserver compute it. */
export function qosClassOf(spec: Loose): string {
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c?.resources?.requests ?? {};
    const lim = c?.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && !sameQuantity(req[r], lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function defaultPod(pod: KObject, old?: KObject): void {
  pod.spec ??= {};
  const spec = pod.spec;
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  if (old) return; // admission (tolerations, token volume) and the initial status happen on create only
  // DefaultTolerationSeconds admission.
  spec.tolerations ??= [];
  if (Array.isArray(spec.tolerations)) {
    for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
      if (
        !spec.tolerations.some((t: Loose) => t?.key === key && (t.effect === 'NoExecute' || t.effect === undefined))
      ) {
        spec.tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
      }
    }
  }
  // ServiceAccount admission: the projected token volume and its mounts.
  if (spec.automountServiceAccountToken !== false && Array.isArray(spec.containers)) {
    spec.volumes ??= [];
    if (
      Array.isArray(spec.volumes) &&
      !spec.volumes.some((v: Loose) => String(v?.name ?? '').startsWith('kube-api-access-'))
    ) {
      const name = `kube-api-access-${randomSuffix(5)}`;
      spec.volumes.push({
        name,
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            {
              downwardAPI: {
                items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
              },
            },
          ],
        },
      });
      for (const c of [...spec.containers, ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])]) {
        if (!c || typeof c !== 'object') continue;
        c.volumeMounts ??= [];
        if (
          Array.isArray(c.volumeMounts) &&
          !c.volumeMounts.some((m: Loose) => m?.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount')
        ) {
          c.volumeMounts.push({ name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' });
        }
      }
    }
  }
  pod.status = { phase: 'Pending', qosClass: qosClassOf(spec) };
}

function validateContainers(list: Loose, path: string, requiredList: boolean, names: Set<string>): StatusCause[] {
  const causes: StatusCause[] = [];
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) {
    if (requiredList) causes.push(required(path));
    return causes;
  }
  if (!Array.isArray(list)) return [invalidValue(path, list, 'must be a list')];
  list.forEach((c: Loose, i: number) => {
    const p = `${path}[${i}]`;
    if (!c?.name) causes.push(required(`${p}.name`));
    else if (!isDns1123Label(c.name))
      for (const problem of dns1123LabelProblems(c.name)) causes.push(invalidValue(`${p}.name`, c.name, problem));
    else if (names.has(c.name)) causes.push(duplicate(`${p}.name`, c.name));
    else names.add(c.name);
    if (!c?.image || !String(c.image).trim()) causes.push(required(`${p}.image`));
    if (c?.imagePullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) {
      causes.push(notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']));
    }
    (Array.isArray(c?.ports) ? c.ports : []).forEach((port: Loose, j: number) => {
      const cp = port?.containerPort;
      if (cp === undefined) causes.push(required(`${p}.ports[${j}].containerPort`));
      else if (!Number.isInteger(cp) || cp < 1 || cp > 65535)
        causes.push(invalidValue(`${p}.ports[${j}].containerPort`, cp, 'must be between 1 and 65535, inclusive'));
      if (port?.protocol && !['TCP', 'UDP', 'SCTP'].includes(port.protocol)) {
        causes.push(notSupported(`${p}.ports[${j}].protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']));
      }
    });
  });
  return causes;
}

/** Validation of a PodSpec at `path` (spec, or spec.template.spec). */
export function validatePodSpec(spec: Loose, path: string, allowedRestart?: string[]): StatusCause[] {
  if (!spec || typeof spec !== 'object') return [required(path)];
  const names = new Set<string>();
  const causes = [
    ...validateContainers(spec.containers, `${path}.containers`, true, names),
    ...validateContainers(spec.initContainers, `${path}.initContainers`, false, names),
  ];
  const policies = allowedRestart ?? ['Always', 'OnFailure', 'Never'];
  if (spec.restartPolicy !== undefined && !policies.includes(spec.restartPolicy)) {
    causes.push(notSupported(`${path}.restartPolicy`, spec.restartPolicy, policies));
  }
  if (
    spec.dnsPolicy !== undefined &&
    !['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'].includes(spec.dnsPolicy)
  ) {
    causes.push(
      notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']),
    );
  }
  if (
    spec.terminationGracePeriodSeconds !== undefined &&
    spec.terminationGracePeriodSeconds !== null &&
    !Number.isInteger(spec.terminationGracePeriodSeconds)
  ) {
    causes.push(
      invalidValue(`${path}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be an integer'),
    );
  }
  return causes;
}

/** What a pod update may change: images, activeDeadlineSeconds, additional tolerations, and nodeName once (binding). */
function validatePodUpdate(pod: KObject, old: KObject): StatusCause[] {
  const a = structuredClone(pod.spec ?? {});
  const b = structuredClone(old.spec ?? {});
  for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
    const na = Array.isArray(a[key]) ? a[key] : [];
    const nb = Array.isArray(b[key]) ? b[key] : [];
    if (na.length === nb.length) {
      na.forEach((c: Loose, i: number) => {
        if (c && nb[i]) c.image = nb[i].image;
      });
    }
  }
  delete a.activeDeadlineSeconds;
  delete b.activeDeadlineSeconds;
  if (!b.nodeName && a.nodeName) delete a.nodeName; // the scheduler's binding
  const ta: Loose[] = Array.isArray(a.tolerations) ? a.tolerations : [];
  const tb: Loose[] = Array.isArray(b.tolerations) ? b.tolerations : [];
  if (tb.every((t) => ta.some((u) => same(u, t)))) {
    delete a.tolerations;
    delete b.tolerations;
  }
  if ((b.terminationGracePeriodSeconds ?? 0) < 0 && a.terminationGracePeriodSeconds === 1)
    a.terminationGracePeriodSeconds = b.terminationGracePeriodSeconds;
  if (same(a, b)) return [];
  return [forbidden('spec', POD_UPDATE_FORBIDDEN)];
}

// ------------------------------------------------------------------ workloads

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

const deploymentHooks: KindHooks = {
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

const replicaSetHooks: KindHooks = {
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
const statefulSetHooks: KindHooks = {
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

const daemonSetHooks: KindHooks = {
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
const jobHooks: KindHooks = {
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

const cronJobHooks: KindHooks = {
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

// ------------------------------------------------------------------ services

const SVC_CIDR_BASE = (10 << 24) | (96 << 16); // 10.96.0.0/12
const SVC_CIDR_SIZE = 1 << 20;
const ipToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const inServiceCIDR = (ip: string) => {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const n = ipToInt(ip);
  return n > SVC_CIDR_BASE && n < SVC_CIDR_BASE + SVC_CIDR_SIZE - 1;
};
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

/** Cluster IPs and node ports in use, kept from the store's own changes (so dry runs and failed writes allocate nothing). */
class Allocations {
  readonly ips = new Map<string, string>(); // ip -> service key
  readonly nodePorts = new Map<number, string>(); // port -> service key

  constructor(store: Store) {
    const svc = store.type('', 'services');
    for (const s of store.list(svc)) this.track(s, undefined);
    store.subscribe((ev: StoreEvent) => {
      if (ev.rt.group !== '' || ev.rt.kind !== 'Service') return;
      this.track(ev.type === 'DELETED' ? undefined : ev.object, ev.old);
    });
  }

  private track(obj: KObject | undefined, old: KObject | undefined): void {
    const key = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    if (old) {
      for (const ip of old.spec?.clusterIPs ?? []) if (this.ips.get(ip) === key(old)) this.ips.delete(ip);
      for (const p of old.spec?.ports ?? [])
        if (p?.nodePort && this.nodePorts.get(p.nodePort) === key(old)) this.nodePorts.delete(p.nodePort);
    }
    if (obj) {
      for (const ip of obj.spec?.clusterIPs ?? []) if (ip !== 'None') this.ips.set(ip, key(obj));
      for (const p of obj.spec?.ports ?? []) if (p?.nodePort) this.nodePorts.set(p.nodePort, key(obj));
    }
  }

  freeIP(): string {
    // The lower band of the range is for static allocation (as the real allocator): dynamic IPs come from above it.
    const low = 256;
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const ip = intToIp(SVC_CIDR_BASE + low + Math.floor(Math.random() * (SVC_CIDR_SIZE - low - 1)));
      if (!this.ips.has(ip)) return ip;
    }
    throw new Error('service IP range exhausted');
  }

  freeNodePort(taken: Set<number>): number {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const p = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
      if (!this.nodePorts.has(p) && !taken.has(p)) return p;
    }
    throw new Error('node port range exhausted');
  }
}

const allocationsByStore = new WeakMap<Store, Allocations>();

function serviceHooks(store: Store): KindHooks {
  const alloc = () => {
    let a = allocationsByStore.get(store);
    if (!a) allocationsByStore.set(store, (a = new Allocations(store)));
    return a;
  };
  alloc();
  // Allocation problems found while defaulting, reported by validate (which runs right after on the same object).
  const pending = new WeakMap<KObject, StatusCause[]>();
  return {
    defaults(svc, _store, old) {
      svc.spec ??= {};
      const spec = svc.spec;
      const causes: StatusCause[] = [];
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      const ports: Loose[] = Array.isArray(spec.ports) ? spec.ports : [];
      for (const p of ports) {
        if (!p || typeof p !== 'object') continue;
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      if (spec.type === 'ExternalName') {
        pending.set(svc, causes);
        return;
      }
      if (old) {
        // Kept on update when the client leaves them out (as `kubectl replace` of a stripped manifest).
        spec.clusterIP ??= old.spec?.clusterIP;
        spec.clusterIPs ??= old.spec?.clusterIPs;
        if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
          for (const p of ports) {
            if (p && typeof p === 'object' && p.nodePort === undefined) {
              const was = (old.spec?.ports ?? []).find(
                (q: Loose) => q.port === p.port && (q.protocol ?? 'TCP') === p.protocol,
              );
              if (was?.nodePort) p.nodePort = was.nodePort;
            }
          }
        }
      }
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        if (spec.clusterIPs?.[0]) spec.clusterIP = spec.clusterIPs[0];
        else if (!old) spec.clusterIP = alloc().freeIP();
      } else if (!old && spec.clusterIP !== 'None') {
        if (!inServiceCIDR(spec.clusterIP)) {
          causes.push(
            invalidValue(
              'spec.clusterIPs',
              [spec.clusterIP],
              `failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`,
            ),
          );
        } else if (alloc().ips.has(spec.clusterIP) && alloc().ips.get(spec.clusterIP) !== key) {
          causes.push(
            invalidValue(
              'spec.clusterIPs',
              [spec.clusterIP],
              `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`,
            ),
          );
        }
      }
      if (spec.clusterIP !== undefined) spec.clusterIPs = [spec.clusterIP];
      if (spec.clusterIP !== 'None' || spec.selector) {
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }
      spec.internalTrafficPolicy ??= 'Cluster';
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
        spec.externalTrafficPolicy ??= 'Cluster';
        const taken = new Set<number>();
        for (const p of ports) {
          if (!p || typeof p !== 'object') continue;
          if (p.nodePort !== undefined) {
            const owner = alloc().nodePorts.get(p.nodePort);
            if (owner && owner !== key)
              causes.push(
                invalidValue(
                  `spec.ports[${ports.indexOf(p)}].nodePort`,
                  p.nodePort,
                  'provided port is already allocated',
                ),
              );
            taken.add(p.nodePort);
          }
        }
        for (const p of ports) {
          if (p && typeof p === 'object' && p.nodePort === undefined) {
            p.nodePort = alloc().freeNodePort(taken);
            taken.add(p.nodePort);
          }
        }
        if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
      }
      if (!old) svc.status ??= { loadBalancer: {} };
      pending.set(svc, causes);
    },
    validate(svc, old) {
      const spec = svc.spec ?? {};
      const causes = [...(pending.get(svc) ?? [])];
      const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
      if (!types.includes(spec.type)) causes.push(notSupported('spec.type', spec.type, types));
      if (spec.sessionAffinity && !['ClientIP', 'None'].includes(spec.sessionAffinity)) {
        causes.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
      }
      const ports: Loose[] = Array.isArray(spec.ports) ? spec.ports : [];
      if (spec.type === 'ExternalName') {
        if (!spec.externalName) causes.push(required('spec.externalName'));
      } else if (!ports.length && spec.clusterIP !== 'None') {
        causes.push(required('spec.ports'));
      }
      const names = new Set<string>();
      ports.forEach((p, i) => {
        const path = `spec.ports[${i}]`;
        if (ports.length > 1 && !p?.name) causes.push(required(`${path}.name`));
        else if (p?.name) {
          if (names.has(p.name)) causes.push(duplicate(`${path}.name`, p.name));
          names.add(p.name);
        }
        if (p?.port === undefined) causes.push(required(`${path}.port`));
        else if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
          causes.push(invalidValue(`${path}.port`, p.port, 'must be between 1 and 65535, inclusive'));
        if (p?.protocol && !['TCP', 'UDP', 'SCTP'].includes(p.protocol))
          causes.push(notSupported(`${path}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
        const tp = p?.targetPort;
        if (typeof tp === 'number' && (!Number.isInteger(tp) || tp < 1 || tp > 65535))
          causes.push(invalidValue(`${path}.targetPort`, tp, 'must be between 1 and 65535, inclusive'));
        if (p?.nodePort !== undefined && (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX)) {
          causes.push(
            invalidValue(
              `${path}.nodePort`,
              p.nodePort,
              `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`,
            ),
          );
        }
        if (p?.nodePort !== undefined && spec.type === 'ClusterIP')
          causes.push(forbidden(`${path}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
      });
      if (old && old.spec?.type !== 'ExternalName' && spec.type !== 'ExternalName') {
        const before = old.spec?.clusterIPs ?? [];
        if (before.length && !same(spec.clusterIPs, before))
          causes.push(invalidValue('spec.clusterIPs[0]', spec.clusterIPs, 'may not change once set'));
      }
      return causes;
    },
  };
}

// ------------------------------------------------------------------ config and the rest

function validateKeys(obj: KObject, fields: string[]): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const f of fields) {
    for (const k of Object.keys(obj[f] ?? {})) {
      // One cause per problem, as the API server reports IsConfigMapKey's list.
      for (const problem of configMapKeyProblems(k)) causes.push(invalidValue(`${f}[${k}]`, k, problem));
    }
  }
  return causes;
}

const secretHooks: KindHooks = {
  defaults(s) {
    s.type ??= 'Opaque';
    if (s.stringData && typeof s.stringData === 'object') {
      s.data ??= {};
      for (const [k, v] of Object.entries(s.stringData)) s.data[k] = Buffer.from(String(v)).toString('base64');
      delete s.stringData;
    }
  },
  validate(s, old) {
    const causes = validateKeys(s, ['data']);
    for (const [k, v] of Object.entries(s.data ?? {})) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v))
        causes.push(invalidValue(`data[${k}]`, '<secret contents redacted>', 'must be base64 encoded'));
    }
    if (old && s.type !== old.type) causes.push(invalidValue('type', s.type, IMMUTABLE));
    if (old?.immutable && !same(s.data, old.data))
      causes.push(forbidden('data', 'field is immutable when `immutable` is set'));
    return causes;
  },
};

const configMapHooks: KindHooks = {
  validate(cm, old) {
    const causes = validateKeys(cm, ['data', 'binaryData']);
    for (const k of Object.keys(cm.data ?? {}))
      if (cm.binaryData && k in cm.binaryData)
        causes.push(invalidValue(`data[${k}]`, k, 'duplicate of key present in binaryData'));
    if (old?.immutable && (!same(cm.data, old.data) || !same(cm.binaryData, old.binaryData)))
      causes.push(forbidden('data', 'field is immutable when `immutable` is set'));
    return causes;
  },
};

const namespaceHooks: KindHooks = {
  defaults(ns, _store, old) {
    ns.metadata.labels ??= {};
    ns.metadata.labels['kubernetes.io/metadata.name'] = ns.metadata.name!;
    ns.spec ??= {};
    if (!old) {
      ns.spec.finalizers ??= ['kubernetes'];
      ns.status = { phase: 'Active' };
    }
  },
};

const pvcHooks: KindHooks = {
  defaults(pvc, store, old) {
    pvc.spec ??= {};
    pvc.spec.volumeMode ??= 'Filesystem';
    if (!old) {
      pvc.status = { phase: 'Pending' };
      // The DefaultStorageClass admission plugin: a claim that names no class gets the default one.
      if (pvc.spec.storageClassName === undefined) {
        const def = store
          .list(store.type('storage.k8s.io', 'storageclasses'))
          .find((sc) => sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
        if (def) pvc.spec.storageClassName = def.metadata.name;
      }
    }
  },
  validate(pvc, old) {
    const spec = pvc.spec ?? {};
    const causes: StatusCause[] = [];
    if (!Array.isArray(spec.accessModes) || !spec.accessModes.length)
      causes.push(required('spec.accessModes', 'at least 1 access mode is required'));
    if (!spec.resources?.requests?.storage && !spec.volumeName) causes.push(required('spec.resources[storage]'));
    if (old) {
      const strip = (s: Loose, o: Loose) => ({
        ...s,
        resources: undefined,
        volumeName: undefined,
        volumeAttributesClassName: undefined,
        // The default class is filled in once (as the DefaultStorageClass admission and the binder do).
        storageClassName: o.storageClassName == null ? undefined : s.storageClassName,
      });
      if (!same(strip(spec, old.spec ?? {}), strip(old.spec ?? {}, old.spec ?? {}))) {
        causes.push(
          forbidden(
            'spec',
            'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
          ),
        );
      }
    }
    return causes;
  },
};

const pvHooks: KindHooks = {
  defaults(pv, _store, old) {
    pv.spec ??= {};
    pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
    pv.spec.volumeMode ??= 'Filesystem';
    if (!old) pv.status = { phase: 'Pending' };
  },
};

const podHooks: KindHooks = {
  defaults: (pod, _store, old) => defaultPod(pod, old),
  validate(pod, old) {
    const causes = validatePodSpec(pod.spec, 'spec');
    if (old && !causes.length) causes.push(...validatePodUpdate(pod, old));
    return causes;
  },
};

/** Registers the per-kind defaults and validation on a store (`store.hooks`, keyed `${group}/${kind}`). */
export function installKindHooks(store: Store): void {
  const h = store.hooks;
  h.set('/Pod', podHooks);
  h.set('/Service', serviceHooks(store));
  h.set('/Namespace', namespaceHooks);
  h.set('/Secret', secretHooks);
  h.set('/ConfigMap', configMapHooks);
  h.set('/ServiceAccount', {});
  h.set('/PersistentVolumeClaim', pvcHooks);
  h.set('/PersistentVolume', pvHooks);
  h.set('apps/Deployment', deploymentHooks);
  h.set('apps/ReplicaSet', replicaSetHooks);
  h.set('apps/StatefulSet', statefulSetHooks);
  h.set('apps/DaemonSet', daemonSetHooks);
  h.set('batch/Job', jobHooks);
  h.set('batch/CronJob', cronJobHooks);
}
