// The review APIs: authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`) and authorization.k8s.io/v1
// SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview (`kubectl auth can-i --list`),
// SubjectAccessReview and LocalSubjectAccessReview: create-only, nothing stored, evaluated by auth/rbac.ts.
import { invalid } from '../errors.js';
import type { ResourceType } from '../registry.js';
import type { Store } from '../store.js';
import type { KObject } from '../types.js';
import { authorize, rulesFor, type Attributes, type UserInfo } from './rbac.js';

type Fields = Record<string, unknown>;
const obj = (v: unknown): Fields => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Fields) : {});
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** The answer to a POST of a review, or undefined when `rt` is no review kind. */
export function review(store: Store, rt: ResourceType, body: KObject, user: UserInfo, namespace?: string): KObject {
  const meta = { creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  const base = { apiVersion: `${rt.group}/${rt.version}`, kind: rt.kind, metadata: { ...obj(body.metadata), ...meta } };
  if (rt.kind === 'SelfSubjectReview') return { ...base, status: { userInfo: user } } as KObject;
  const spec = obj(body.spec);
  if (rt.kind === 'SelfSubjectRulesReview') {
    return {
      ...base,
      spec,
      status: { ...rulesFor(store, user, str(spec.namespace)), incomplete: false },
    } as KObject;
  }
  const subject: UserInfo =
    rt.kind === 'SelfSubjectAccessReview'
      ? user
      : {
          username: str(spec.user),
          ...(str(spec.uid) ? { uid: str(spec.uid) } : {}),
          groups: Array.isArray(spec.groups) ? spec.groups.map(String) : [],
        };
  if (rt.kind !== 'SelfSubjectAccessReview' && !subject.username && !subject.groups.length) {
    throw invalid(rt, '', [
      {
        reason: 'FieldValueRequired',
        field: 'spec.user',
        message: 'Invalid value: "": at least one of user or group must be specified',
      },
    ]);
  }
  const resource = spec.resourceAttributes === undefined ? undefined : obj(spec.resourceAttributes);
  const nonResource = spec.nonResourceAttributes === undefined ? undefined : obj(spec.nonResourceAttributes);
  if (!resource === !nonResource) {
    throw invalid(rt, '', [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.resourceAttributes',
        message: `Invalid value: ${resource ? '"resourceAttributes"' : '"null"'}: exactly one of nonResourceAttributes or resourceAttributes must be specified`,
      },
    ]);
  }
  if (rt.kind === 'LocalSubjectAccessReview' && resource && str(resource.namespace) !== namespace) {
    throw invalid(rt, '', [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.resourceAttributes.namespace',
        message: `Invalid value: ${JSON.stringify(str(resource.namespace))}: must match metadata.namespace`,
      },
    ]);
  }
  const attributes: Attributes = resource
    ? {
        verb: str(resource.verb),
        namespace: str(resource.namespace) || undefined,
        group: str(resource.group),
        resource: str(resource.resource),
        subresource: str(resource.subresource) || undefined,
        name: str(resource.name) || undefined,
      }
    : { verb: str(nonResource!.verb), path: str(nonResource!.path) };
  const decision = authorize(store, subject, attributes);
  return {
    ...base,
    ...(namespace ? { metadata: { ...base.metadata, namespace } } : {}),
    spec,
    status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
  } as KObject;
}
