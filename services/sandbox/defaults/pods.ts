// Pods: defaults of containers and pod specs, QoS class, and validation of pods, pod templates and pod updates.
import { dns1123LabelProblems, isDns1123Label } from '../../common/k8s/names.js';
import { quantityOf } from '../../common/k8s/quantity.js';
import type { StatusCause } from '../errors.js';
import { randomSuffix } from '../store.js';
import type { KObject, Loose } from '../types.js';
import { required, invalidValue, forbidden, notSupported, duplicate, POD_UPDATE_FORBIDDEN, same } from './messages.js';

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

export function defaultPod(pod: KObject, old?: KObject): void {
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
export function validatePodUpdate(pod: KObject, old: KObject): StatusCause[] {
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
