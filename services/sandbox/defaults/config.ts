// Config and the rest: Secrets, ConfigMaps, Namespaces, PersistentVolumeClaims, PersistentVolumes and Pods' hooks.
import { configMapKeyProblems } from '../../common/k8s/names.js';
import type { StatusCause } from '../errors.js';
import type { KindHooks } from '../store.js';
import type { KData, KObject } from '../types.js';
import { required, invalidValue, forbidden, IMMUTABLE, same } from './messages.js';
import { defaultPod, validatePodSpec, validatePodUpdate } from './pods.js';

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

export const secretHooks: KindHooks = {
  defaults(obj) {
    const s: KData = obj;
    s.type ??= 'Opaque';
    if (s.stringData && typeof s.stringData === 'object') {
      s.data ??= {};
      for (const [k, v] of Object.entries(s.stringData)) s.data[k] = Buffer.from(String(v)).toString('base64');
      delete s.stringData;
    }
  },
  validate(obj, oldObj) {
    const s: KData = obj;
    const old: KData | undefined = oldObj;
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

export const configMapHooks: KindHooks = {
  validate(obj, oldObj) {
    const cm: KData = obj;
    const old: KData | undefined = oldObj;
    const causes = validateKeys(cm, ['data', 'binaryData']);
    for (const k of Object.keys(cm.data ?? {}))
      if (cm.binaryData && k in cm.binaryData)
        causes.push(invalidValue(`data[${k}]`, k, 'duplicate of key present in binaryData'));
    if (old?.immutable && (!same(cm.data, old.data) || !same(cm.binaryData, old.binaryData)))
      causes.push(forbidden('data', 'field is immutable when `immutable` is set'));
    return causes;
  },
};

export const namespaceHooks: KindHooks = {
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

export const pvcHooks: KindHooks = {
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
      const strip = (s: KObject['spec'], o: KObject['spec']) => ({
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

export const pvHooks: KindHooks = {
  defaults(pv, _store, old) {
    pv.spec ??= {};
    pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
    pv.spec.volumeMode ??= 'Filesystem';
    if (!old) pv.status = { phase: 'Pending' };
  },
};

export const podHooks: KindHooks = {
  defaults: (pod, _store, old) => defaultPod(pod, old),
  validate(pod, old) {
    const causes = validatePodSpec(pod.spec, 'spec');
    if (old && !causes.length) causes.push(...validatePodUpdate(pod, old));
    return causes;
  },
};
