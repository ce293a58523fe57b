// Helpers the workload controllers share (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob): template
// hashing as the real controllers do it, owner references, pod readiness, ControllerRevisions and status shaping.
import { ApiError } from '../errors.js';
import { labelsMatch, requirementsOfLabelSelector } from '../selectors.js';
import type { Store, StoreEvent } from '../store.js';
import { nsKey } from './base.js';
import type { ResourceType } from '../registry.js';
import type {
  Condition,
  KObject,
  KPod,
  KRevision,
  KWorkload,
  LabelSelector,
  ObjectMeta,
  OwnerReference,
  PodTemplateSpec,
} from '../types.js';

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const CONTROLLER_REVISION_HASH = 'controller-revision-hash';

// ------------------------------------------------------------------ hashing

/** JSON with object keys sorted, so equal objects always print the same. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableStringify(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

function fnv32a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
/** k8s.io/apimachinery rand.SafeEncodeString: maps every byte to a letter or digit that cannot spell words. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHANUMS[s.charCodeAt(i) % SAFE_ALPHANUMS.length];
  return out;
}

/**
 * controller.ComputeHash: FNV-32a of the object (plus the collision count, little endian), printed as a decimal
 * number and safe-encoded, e.g. "5d4f7c6b9".
 */
export function computeHash(obj: unknown, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(stableStringify(obj)));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

/** Drops empty maps, empty lists and nulls, so that semantic equality treats nil and empty alike (as Go's does). */
function normalize(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.length ? v.map((x) => normalize(x) ?? null) : undefined;
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const n = normalize(x);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}

export function semanticEqual(a: unknown, b: unknown): boolean {
  return stableStringify(normalize(a) ?? null) === stableStringify(normalize(b) ?? null);
}

/** Pod templates equal but for the pod-template-hash label (deploymentutil.EqualIgnoreHash). */
export function templatesEqualIgnoringHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  const strip = (t: PodTemplateSpec | undefined) => {
    const c = structuredClone(t ?? {});
    if (c.metadata?.labels) delete c.metadata.labels[POD_TEMPLATE_HASH];
    return c;
  };
  return semanticEqual(strip(a), strip(b));
}

// ------------------------------------------------------------------ ownership

export function ownerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function controllerRefOf(o: KObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

/** Keys of the `kind` controllers of the event's object, before and after the change (a pod can change hands). */
export function controllerKeys(ev: StoreEvent, kind: string): string[] {
  const keys = new Set<string>();
  for (const o of ev.old ? [ev.old, ev.object] : [ev.object]) {
    const ref = controllerRefOf(o);
    if (ref?.kind === kind) keys.add(nsKey(o.metadata.namespace, ref.name));
  }
  return [...keys];
}

export function isControlledBy(o: KObject, owner: KObject): boolean {
  return controllerRefOf(o)?.uid === owner.metadata.uid;
}

/** A matcher for an object's spec.selector; an empty or missing selector selects nothing (as for workloads). */
export function selectorMatcher(
  sel: LabelSelector | undefined,
): (labels: Record<string, string> | undefined) => boolean {
  const reqs = requirementsOfLabelSelector(sel);
  if (!reqs.length) return () => false;
  return (labels) => labelsMatch(reqs, labels);
}

/**
 * The objects an owner controls, as the real controllers' ControllerRefManager claims them: its own (released if
 * they no longer match the selector) plus orphans that match (adopted). Objects being deleted are not adopted.
 */
export function claimObjects(store: Store, rt: ResourceType, owner: KObject, adopt = true): KObject[] {
  const matches = selectorMatcher(owner.spec?.selector);
  const out: KObject[] = [];
  for (const o of store.list(rt, owner.metadata.namespace)) {
    const ref = controllerRefOf(o);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (matches(o.metadata.labels) || owner.metadata.deletionTimestamp) {
        out.push(o);
        continue;
      }
      // Release: no longer selected.
      const c = structuredClone(o);
      c.metadata.ownerReferences = c.metadata.ownerReferences!.filter((r) => r.uid !== owner.metadata.uid);
      tryUpdate(store, rt, c);
      continue;
    }
    if (!adopt || owner.metadata.deletionTimestamp || o.metadata.deletionTimestamp || !matches(o.metadata.labels))
      continue;
    const c = structuredClone(o);
    c.metadata.ownerReferences = [...(c.metadata.ownerReferences ?? []), ownerRef(owner)];
    const adopted = tryUpdate(store, rt, c);
    if (adopted) out.push(adopted);
  }
  return out;
}

function tryUpdate(store: Store, rt: ResourceType, o: KObject): KObject | undefined {
  try {
    return store.update(rt, o);
  } catch (e) {
    if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return undefined;
    throw e;
  }
}

// ------------------------------------------------------------------ pods

export function podCondition(pod: KPod, type: string): Condition | undefined {
  return (pod.status?.conditions ?? []).find((c) => c.type === type);
}

export function isPodTerminal(pod: KPod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Counted by controllers: not finished and not being deleted (controller.IsPodActive). */
export function isPodActive(pod: KPod): boolean {
  return !isPodTerminal(pod) && !pod.metadata.deletionTimestamp;
}

export function isPodReady(pod: KPod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Milliseconds until a ready pod becomes available (0: it is); Infinity when it is not ready. */
export function msUntilAvailable(pod: KPod, minReadySeconds: number, nowMs = Date.now()): number {
  if (!isPodReady(pod)) return Infinity;
  if (!minReadySeconds) return 0;
  const since = Date.parse(podCondition(pod, 'Ready')?.lastTransitionTime ?? '');
  if (Number.isNaN(since)) return 0;
  return Math.max(0, since + minReadySeconds * 1000 - nowMs);
}

export function isPodAvailable(pod: KPod, minReadySeconds: number, nowMs = Date.now()): boolean {
  return msUntilAvailable(pod, minReadySeconds, nowMs) === 0;
}

/** The objects of `rt` in the owner's namespace that it controls, as they are now (no adoption or release). */
export function controlledBy(store: Store, rt: ResourceType, owner: KObject): KObject[] {
  return store.list(rt, owner.metadata.namespace).filter((o) => controllerRefOf(o)?.uid === owner.metadata.uid);
}

/** A pod object for a template, as controller.GetPodFromTemplate builds it. */
export function podFromTemplate(
  owner: KObject,
  template: PodTemplateSpec | undefined,
  extra: { name?: string; generateName?: string } = {},
): KPod & { spec: NonNullable<KPod['spec']> } {
  const t = structuredClone(template ?? {});
  const meta: ObjectMeta = {
    ...extra,
    namespace: owner.metadata.namespace,
    labels: { ...(t.metadata?.labels ?? {}) },
    ownerReferences: [ownerRef(owner)],
  };
  if (t.metadata?.annotations && Object.keys(t.metadata.annotations).length)
    meta.annotations = { ...t.metadata.annotations };
  if (t.metadata?.finalizers?.length) meta.finalizers = [...t.metadata.finalizers];
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: t.spec ?? {} };
}

// ------------------------------------------------------------------ numbers

/** intstr.GetScaledValueFromIntOrPercent. */
export function intOrPercent(v: unknown, total: number, roundUp: boolean, dflt: number | string): number {
  const value = v === undefined || v === null ? dflt : v;
  if (typeof value === 'number') return value;
  const s = String(value);
  if (s.endsWith('%')) {
    const pct = Number(s.slice(0, -1));
    if (Number.isNaN(pct)) return 0;
    const x = (pct * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  const n = Number(s);
  return Number.isNaN(n) ? 0 : n;
}

/** Status fields tagged `omitempty`: zero values are left out, as the real API server serializes them. */
export function omitZero<T extends Record<string, unknown>>(o: T, keys: (keyof T)[]): T {
  for (const k of keys) if (o[k] === 0 || o[k] === undefined) delete o[k];
  return o;
}

export function rfc3339(d: Date | number): string {
  return new Date(d).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Writes a new status over the current object (no-op writes are skipped by the store). */
export function writeStatus(store: Store, rt: ResourceType, obj: KObject, status: object): KObject | undefined {
  const cur = store.get(rt, obj.metadata.namespace, obj.metadata.name!);
  if (!cur || cur.metadata.uid !== obj.metadata.uid) return undefined;
  if (stableStringify(cur.status ?? {}) === stableStringify(status)) return cur;
  return store.update(rt, { ...cur, status }, { subresource: 'status' });
}

/** Sets a condition as the workload controllers do: same status and reason is kept as is; same status keeps the transition time. */
export function setCondition(
  conditions: Condition[],
  cond: Condition,
  opts: { keepSameReason?: boolean } = { keepSameReason: true },
): Condition[] {
  const cur = conditions.find((c) => c.type === cond.type);
  if (cur && opts.keepSameReason !== false && cur.status === cond.status && cur.reason === cond.reason)
    return conditions;
  const next = { ...cond };
  if (cur && cur.status === cond.status) next.lastTransitionTime = cur.lastTransitionTime;
  return [...conditions.filter((c) => c.type !== cond.type), next];
}

// ------------------------------------------------------------------ ControllerRevisions

export function listRevisions(store: Store, owner: KObject): KRevision[] {
  const rt = store.type('apps', 'controllerrevisions');
  return store
    .list(rt, owner.metadata.namespace)
    .map((r): KRevision => r)
    .filter((r) => isControlledBy(r, owner))
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0) || a.metadata.name!.localeCompare(b.metadata.name!));
}

/**
 * The revision for `data`: an existing equal revision (renumbered to be the newest, as a rollback does) or a new
 * ControllerRevision `<owner>-<hash>`. `hashLabel` is the label the revision carries its hash in.
 */
export function ensureRevision(
  store: Store,
  owner: KObject,
  data: KRevision['data'],
  labels: Record<string, string>,
  hashLabel: string,
): KRevision {
  const rt = store.type('apps', 'controllerrevisions');
  const revisions = listRevisions(store, owner);
  const maxRevision = revisions.reduce((m, r) => Math.max(m, r.revision ?? 0), 0);
  const equal = revisions.filter((r) => semanticEqual(r.data, data));
  if (equal.length) {
    const latest = equal[equal.length - 1];
    if ((latest.revision ?? 0) === maxRevision) return latest;
    return store.update(rt, { ...structuredClone(latest), revision: maxRevision + 1 });
  }
  const collisionCount = owner.status?.collisionCount ?? 0;
  const hash = computeHash(data, collisionCount || undefined);
  const name = `${owner.metadata.name!.slice(0, 223)}-${hash}`;
  try {
    return store.create(rt, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { ...labels, [hashLabel]: hash },
        ownerReferences: [ownerRef(owner)],
      },
      data,
      revision: maxRevision + 1,
    });
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
    const existing = store.get(rt, owner.metadata.namespace, name);
    if (existing && isControlledBy(existing, owner) && semanticEqual(existing.data, data)) return existing;
    // A hash collision: count it on the owner so the next hash differs, then retry.
    const ownerRt = store.type(
      owner.apiVersion.includes('/') ? owner.apiVersion.split('/')[0] : '',
      pluralOf(owner.kind),
    );
    writeStatus(store, ownerRt, owner, { ...(owner.status ?? {}), collisionCount: collisionCount + 1 });
    throw new ApiError(409, 'Conflict', `controllerrevision ${name} collides; retrying with a new collision count`);
  }
}

/**
 * The ControllerRevision of an owner's pod template (StatefulSet, DaemonSet: the revision's data is a patch that
 * replaces the template), made when there is none yet.
 */
export function templateRevision(
  store: Store,
  owner: KWorkload,
  hashLabel: string,
): { template: PodTemplateSpec; revision: KRevision } {
  const template = structuredClone(owner.spec?.template ?? {});
  const data = { spec: { template: { ...template, $patch: 'replace' } } };
  const revision = ensureRevision(store, owner, data, { ...(template.metadata?.labels ?? {}) }, hashLabel);
  return { template, revision };
}

/** Deletes the oldest revisions beyond the history limit, never one still in use. */
export function pruneRevisions(store: Store, owner: KObject, live: Set<string>, limit: number): void {
  const rt = store.type('apps', 'controllerrevisions');
  const history = listRevisions(store, owner).filter((r) => !live.has(r.metadata.name!));
  for (const r of history.slice(0, Math.max(0, history.length - limit))) {
    try {
      store.delete(rt, r.metadata.namespace, r.metadata.name!);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
}

function pluralOf(kind: string): string {
  return `${kind.toLowerCase()}s`;
}

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.code === 404;
}
