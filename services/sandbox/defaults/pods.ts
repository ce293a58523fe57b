// Pods: defaults of containers and pod specs, QoS class, and validation of pods, pod templates and pod updates.
import { dns1123LabelProblems, isDns1123Label } from '../../common/k8s/names.js';
import { quantityOf } from '../../common/k8s/quantity.js';
import type { StatusCause } from '../errors.js';
import { randomSuffix } from '../store.js';
import type { KObject } from '../types.js';
import { at, isObject, listOf, oneOf, type Fields } from './fields.js';
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

function defaultContainer(c: unknown): void {
  if (!isObject(c)) return;
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= defaultPullPolicy(typeof c.image === 'string' ? c.image : undefined);
  c.resources ??= {};
  // Requests default to limits for resources only limited.
  const resources = c.resources;
  const limits = at(resources, 'limits');
  if (isObject(resources) && isObject(limits)) {
    for (const [k, v] of Object.entries(limits)) {
      resources.requests ??= {};
      if (isObject(resources.requests)) resources.requests[k] ??= v;
    }
  }
  for (const p of listOf(c.ports)) if (isObject(p)) p.protocol ??= 'TCP';
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    if (!isObject(probe)) continue;
    probe.timeoutSeconds ??= 1;
    probe.periodSeconds ??= 10;
    probe.successThreshold ??= 1;
    probe.failureThreshold ??= 3;
    if (isObject(probe.httpGet)) probe.httpGet.scheme ??= 'HTTP';
  }
}

/** The PodSpec defaults (SetDefaults_PodSpec): what pod templates get too. */
export function defaultPodSpec(spec: unknown, defaultRestartPolicy = true): void {
  if (!isObject(spec)) return;
  // Job templates keep an empty restartPolicy, so that leaving it out is "Required value" as in the real server.
  if (defaultRestartPolicy) spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const c of listOf(spec.containers)) defaultContainer(c);
  for (const c of listOf(spec.initContainers)) defaultContainer(c);
  for (const t of listOf(spec.tolerations)) {
    if (isObject(t) && t.operator === undefined && t.key !== undefined) t.operator = 'Equal';
  }
}

/** Request and limit are the same amount (Quantity.Cmp, so "1Gi" is "1024Mi" and "1" is "1000m"), as QoS compares them. */
const sameQuantity = (a: unknown, b: unknown): boolean => {
  const qa = quantityOf(a);
  const qb = quantityOf(b);
  return qa && qb ? qa.cmp(qb) === 0 : String(a) === String(b);
};

/** QoS class as the kubelet and the apiserver compute it. */
export function qosClassOf(spec: unknown): string {
  const containers = [...listOf(at(spec, 'containers')), ...listOf(at(spec, 'initContainers'))];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const fieldsAt = (key: string): Fields => {
      const v = at(c, 'resources', key);
      return isObject(v) ? v : {};
    };
    const req = fieldsAt('requests');
    const lim = fieldsAt('limits');
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
  const spec: unknown = pod.spec;
  if (!isObject(spec)) return; // validation refuses it
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  if (old) return; // admission (tolerations, token volume) and the initial status happen on create only
  // DefaultTolerationSeconds admission.
  spec.tolerations ??= [];
  const tolerations = spec.tolerations;
  if (Array.isArray(tolerations)) {
    for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
      const effect = (t: unknown) => at(t, 'effect');
      if (!tolerations.some((t) => at(t, 'key') === key && (effect(t) === 'NoExecute' || effect(t) === undefined))) {
        tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
      }
    }
  }
  // ServiceAccount admission: the projected token volume and its mounts.
  const containers = spec.containers;
  if (spec.automountServiceAccountToken !== false && Array.isArray(containers)) {
    spec.volumes ??= [];
    const volumes = spec.volumes;
    if (Array.isArray(volumes) && !volumes.some((v) => String(at(v, 'name') ?? '').startsWith('kube-api-access-'))) {
      const name = `kube-api-access-${randomSuffix(5)}`;
      volumes.push({
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
      for (const c of [...containers, ...listOf(spec.initContainers)]) {
        if (!isObject(c)) continue;
        c.volumeMounts ??= [];
        const mounts = c.volumeMounts;
        if (
          Array.isArray(mounts) &&
          !mounts.some((m) => at(m, 'mountPath') === '/var/run/secrets/kubernetes.io/serviceaccount')
        ) {
          mounts.push({ name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' });
        }
      }
    }
  }
  pod.status = { phase: 'Pending', qosClass: qosClassOf(spec) };
}

function validateContainers(list: unknown, path: string, requiredList: boolean, names: Set<string>): StatusCause[] {
  const causes: StatusCause[] = [];
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) {
    if (requiredList) causes.push(required(path));
    return causes;
  }
  if (!Array.isArray(list)) return [invalidValue(path, list, 'must be a list')];
  list.forEach((c: unknown, i: number) => {
    const p = `${path}[${i}]`;
    const name = at(c, 'name');
    const nameText = String(name);
    if (!name) causes.push(required(`${p}.name`));
    else if (!isDns1123Label(nameText))
      for (const problem of dns1123LabelProblems(nameText)) causes.push(invalidValue(`${p}.name`, name, problem));
    else if (names.has(nameText)) causes.push(duplicate(`${p}.name`, name));
    else names.add(nameText);
    const image = at(c, 'image');
    if (!image || !String(image).trim()) causes.push(required(`${p}.image`));
    const pullPolicy = at(c, 'imagePullPolicy');
    if (pullPolicy && !oneOf(['Always', 'IfNotPresent', 'Never'], pullPolicy)) {
      causes.push(notSupported(`${p}.imagePullPolicy`, pullPolicy, ['Always', 'IfNotPresent', 'Never']));
    }
    listOf(at(c, 'ports')).forEach((port: unknown, j: number) => {
      const cp = at(port, 'containerPort');
      if (cp === undefined) causes.push(required(`${p}.ports[${j}].containerPort`));
      else if (typeof cp !== 'number' || !Number.isInteger(cp) || cp < 1 || cp > 65535)
        causes.push(invalidValue(`${p}.ports[${j}].containerPort`, cp, 'must be between 1 and 65535, inclusive'));
      const protocol = at(port, 'protocol');
      if (protocol && !oneOf(['TCP', 'UDP', 'SCTP'], protocol)) {
        causes.push(notSupported(`${p}.ports[${j}].protocol`, protocol, ['SCTP', 'TCP', 'UDP']));
      }
    });
  });
  return causes;
}

/** Validation of a PodSpec at `path` (spec, or spec.template.spec). */
export function validatePodSpec(spec: unknown, path: string, allowedRestart?: string[]): StatusCause[] {
  if (!isObject(spec)) return [required(path)];
  const names = new Set<string>();
  const causes = [
    ...validateContainers(spec.containers, `${path}.containers`, true, names),
    ...validateContainers(spec.initContainers, `${path}.initContainers`, false, names),
  ];
  const policies = allowedRestart ?? ['Always', 'OnFailure', 'Never'];
  if (spec.restartPolicy !== undefined && !oneOf(policies, spec.restartPolicy)) {
    causes.push(notSupported(`${path}.restartPolicy`, spec.restartPolicy, policies));
  }
  if (
    spec.dnsPolicy !== undefined &&
    !oneOf(['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'], spec.dnsPolicy)
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
  const a: Fields = structuredClone(pod.spec ?? {});
  const b: Fields = structuredClone(old.spec ?? {});
  for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
    const na = listOf(a[key]);
    const nb = listOf(b[key]);
    if (na.length === nb.length) {
      na.forEach((c: unknown, i: number) => {
        if (isObject(c) && isObject(nb[i])) c.image = nb[i].image;
      });
    }
  }
  delete a.activeDeadlineSeconds;
  delete b.activeDeadlineSeconds;
  if (!b.nodeName && a.nodeName) delete a.nodeName; // the scheduler's binding
  const ta = listOf(a.tolerations);
  const tb = listOf(b.tolerations);
  if (tb.every((t) => ta.some((u) => same(u, t)))) {
    delete a.tolerations;
    delete b.tolerations;
  }
  if (Number(b.terminationGracePeriodSeconds ?? 0) < 0 && a.terminationGracePeriodSeconds === 1)
    a.terminationGracePeriodSeconds = b.terminationGracePeriodSeconds;
  if (same(a, b)) return [];
  return [forbidden('spec', POD_UPDATE_FORBIDDEN)];
}
