// The sandbox's storage: what etcd plus the generic registry are to the real API server. One resourceVersion
// counter for the whole store, a bounded history of changes for watches, and consistent snapshots for chunked lists.
// store/types.ts: the store's events, options and hooks; store/helpers.ts: the plain functions it uses.
import { randomUUID } from 'node:crypto';
import { alreadyExists, ApiError, badRequest, conflict, expired, invalid, notFound } from './errors.js';
import { Registry, apiVersionOf, type ResourceType } from './registry.js';
import { recordUpdate } from './patch.js';
import { checkPodSecurity, podTemplateOf } from './pod-security.js';
import type { KObject, WatchEventType } from './types.js';
import type { Matcher } from './selectors.js';
import { objectNameProblems } from '../common/k8s/names.js';
import { indexAfter } from '../common/sorted.js';
import type {
  StoreEvent,
  WatchSink,
  WatchOptions,
  ListOptions,
  ListResult,
  DeleteOptions,
  WriteOptions,
  KindHooks,
  Watcher,
  Snapshot,
  StoreOptions,
} from './store/types.js';
import {
  now,
  keyOf,
  typeKey,
  significantPodUpdate,
  inScope,
  withoutMeta,
  isTerminal,
  randomSuffix,
} from './store/helpers.js';

export class Store {
  readonly registry: Registry;
  private rv = 0;
  /** Objects per resource type (group/plural, whatever the version), keyed by namespace/name. */
  private readonly tables = new Map<string, Map<string, KObject>>();
  private readonly sortedKeys = new Map<string, string[]>();
  private readonly history: StoreEvent[] = [];
  private historyStart = 0; // index of history[0] in the unbounded sequence
  /** Events older than this version are gone: watching from before it is 410 Expired. */
  private compactedRv = 0;
  private readonly historySize: number;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly listeners = new Set<(ev: StoreEvent) => void>();
  private readonly snapshots = new Map<string, Snapshot>();
  readonly hooks = new Map<string, KindHooks>(); // by `${group}/${kind}`

  constructor(opts: StoreOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    this.historySize = opts.historySize ?? 20_000;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** The oldest version a watch can still resume from. */
  get oldestResumableVersion(): number {
    return this.compactedRv;
  }

  /** Resource type by group and plural, for code that does not care about versions. */
  type(group: string, plural: string): ResourceType {
    const rt = this.registry.byPlural(group, plural);
    if (!rt) throw new Error(`unknown resource ${plural}.${group}`);
    return rt;
  }

  /** Receives every change of every kind, after it is stored; controllers queue work from here. */
  subscribe(listener: (ev: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private table(rt: ResourceType): Map<string, KObject> {
    const k = typeKey(rt);
    let t = this.tables.get(k);
    if (!t) this.tables.set(k, (t = new Map()));
    return t;
  }

  get(rt: ResourceType, namespace: string | undefined, name: string): KObject | undefined {
    const o = this.table(rt).get(keyOf(rt.namespaced ? namespace : undefined, name));
    return o && this.asVersion(rt, o);
  }

  mustGet(rt: ResourceType, namespace: string | undefined, name: string): KObject {
    const o = this.get(rt, namespace, name);
    if (!o) throw notFound(rt, name);
    return o;
  }

  /** Current objects of a type, in key order, optionally in one namespace and matching a selector. */
  list(rt: ResourceType, namespace?: string, matcher?: Matcher): KObject[] {
    const t = this.table(rt);
    const out: KObject[] = [];
    for (const k of this.keys(rt)) {
      const o = t.get(k)!;
      if (namespace && rt.namespaced && o.metadata.namespace !== namespace) continue;
      if (matcher && !matcher(o)) continue;
      out.push(this.asVersion(rt, o));
    }
    return out;
  }

  /** Number of objects of a type, without copying them. */
  count(rt: ResourceType): number {
    return this.table(rt).size;
  }

  private keys(rt: ResourceType): string[] {
    const k = typeKey(rt);
    let keys = this.sortedKeys.get(k);
    if (!keys) {
      keys = [...this.table(rt).keys()].sort();
      this.sortedKeys.set(k, keys);
    }
    return keys;
  }

  /** Objects are stored once per group/plural; a request for another served version only relabels apiVersion. */
  private asVersion(rt: ResourceType, o: KObject): KObject {
    const apiVersion = apiVersionOf(rt);
    return o.apiVersion === apiVersion ? o : { ...o, apiVersion };
  }

  /** A chunked, consistent list: every chunk shows the store as of the first one. */
  listChunked(rt: ResourceType, opts: ListOptions): ListResult {
    let snap: Snapshot;
    let start = 0;
    let token: { s: string; o: number } | undefined;
    if (opts.continue) {
      try {
        token = JSON.parse(Buffer.from(opts.continue, 'base64url').toString());
      } catch {
        throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
      if (!token || typeof token.s !== 'string' || typeof token.o !== 'number')
        throw badRequest('continue key is not valid');
      const found = this.snapshots.get(token.s);
      if (!found || found.rv < this.compactedRv) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      snap = found;
      start = token.o;
    } else {
      snap = { rv: this.rv, items: this.list(rt, opts.namespace, opts.matcher), at: Date.now() };
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const items = snap.items.slice(start, start + limit);
    const next = start + items.length;
    const result: ListResult = { items, resourceVersion: String(snap.rv) };
    if (next < snap.items.length) {
      const id = token?.s ?? randomUUID();
      if (!token) this.rememberSnapshot(id, snap);
      result.continue = Buffer.from(JSON.stringify({ s: id, o: next })).toString('base64url');
      result.remainingItemCount = snap.items.length - next;
    }
    return result;
  }

  private rememberSnapshot(id: string, snap: Snapshot): void {
    this.snapshots.set(id, snap);
    // Bounded like etcd's history: old snapshots go, and those older than the compacted version are useless.
    const cutoff = Date.now() - 5 * 60_000;
    for (const [k, s] of this.snapshots) {
      if (this.snapshots.size <= 64 && s.at > cutoff && s.rv >= this.compactedRv) break;
      this.snapshots.delete(k);
    }
  }

  // ------------------------------------------------------------------ writes

  private hooksOf(rt: ResourceType): KindHooks | undefined {
    return this.hooks.get(`${rt.group}/${rt.kind}`);
  }

  private validateName(rt: ResourceType, name: string | undefined): void {
    if (!name) {
      throw invalid(rt, '', [
        {
          reason: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ]);
    }
    // Events keep the loose name rule of clients that name them `<object>.<hex>` from other names (colons, capitals);
    // every other kind is checked by the rule the API server uses for it (Services DNS-1035 labels, namespaces
    // DNS-1123 labels, RBAC objects path segments, the rest DNS-1123 subdomains). One cause per problem, as
    // ValidateObjectMeta reports them.
    const problems =
      rt.kind === 'Event'
        ? /^[a-zA-Z0-9.\-:_]+$/.test(name)
          ? []
          : ["a valid event name must consist of alphanumeric characters, '-', '.', ':' or '_'"]
        : objectNameProblems(apiVersionOf(rt), rt.kind, name);
    if (problems.length) {
      throw invalid(
        rt,
        name,
        problems.map((p) => ({
          reason: 'FieldValueInvalid',
          field: 'metadata.name',
          message: `Invalid value: "${name}": ${p}`,
        })),
      );
    }
  }

  private checkNamespace(rt: ResourceType, obj: KObject): void {
    if (!rt.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    const ns = obj.metadata.namespace;
    if (!ns)
      throw invalid(rt, obj.metadata.name ?? '', [
        { reason: 'FieldValueRequired', field: 'metadata.namespace', message: 'Required value' },
      ]);
    const nsObj = this.table(this.type('', 'namespaces')).get(ns);
    if (!nsObj) throw notFound({ plural: 'namespaces', group: '' }, ns);
    if (nsObj.metadata.deletionTimestamp && rt.kind !== 'Event') {
      throw new ApiError(
        403,
        'Forbidden',
        `${rt.plural} "${obj.metadata.name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        {
          name: obj.metadata.name,
          kind: rt.plural,
        },
      );
    }
  }

  /**
   * Admission after validation, as kube-apiserver's validating admission runs: Pod Security (the namespace's
   * pod-security.kubernetes.io labels) refuses pods under `enforce` and warns, for pods and pod templates, under `warn`.
   */
  private admit(rt: ResourceType, obj: KObject, old: KObject | undefined, opts: WriteOptions): void {
    if (!rt.namespaced || (rt.group !== '' && rt.group !== 'apps' && rt.group !== 'batch')) return;
    const isPod = rt.group === '' && rt.kind === 'Pod';
    const template = isPod ? undefined : podTemplateOf(rt.kind, obj);
    if (!isPod && !template) return;
    // Pod updates are judged only when what the policies read can change (the plugin's isSignificantPodUpdate).
    if (isPod && old && !significantPodUpdate(obj, old)) return;
    if (!isPod && opts.warnings === undefined) return; // only warnings to give, and nobody to give them to
    const ns = this.table(this.type('', 'namespaces')).get(obj.metadata.namespace!);
    const labels = ns?.metadata.labels as Record<string, string> | undefined;
    const result = isPod
      ? checkPodSecurity(labels, obj.metadata, obj.spec, true)
      : checkPodSecurity(labels, template!.meta, template!.spec, false);
    if (result.denied) {
      throw new ApiError(403, 'Forbidden', `pods "${obj.metadata.name}" is forbidden: ${result.denied}`, {
        name: obj.metadata.name,
        kind: 'pods',
      });
    }
    opts.warnings?.push(...result.warnings);
  }

  private runValidation(rt: ResourceType, obj: KObject, old?: KObject): void {
    const causes = this.hooksOf(rt)?.validate?.(obj, old) ?? [];
    if (causes.length) throw invalid(rt, obj.metadata.name ?? '', causes);
  }

  create(rt: ResourceType, input: KObject, opts: WriteOptions = {}): KObject {
    const obj: KObject = structuredClone(input);
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) {
      const t = this.table(rt);
      do meta.name = meta.generateName + randomSuffix(5);
      while (t.has(keyOf(rt.namespaced ? meta.namespace : undefined, meta.name)));
    }
    this.validateName(rt, meta.name);
    this.checkNamespace(rt, obj);
    const key = keyOf(meta.namespace, meta.name!);
    if (this.table(rt).has(key)) throw alreadyExists(rt, meta.name!);
    if (meta.resourceVersion) {
      throw invalid(rt, meta.name!, [
        {
          reason: 'FieldValueForbidden',
          field: 'metadata.resourceVersion',
          message: 'Forbidden: resourceVersion should not be set on objects to be created',
        },
      ]);
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (rt.hasStatus) meta.generation = 1;
    this.hooksOf(rt)?.defaults?.(obj, this);
    this.runValidation(rt, obj);
    this.admit(rt, obj, undefined, opts);
    if (opts.manager !== undefined) {
      // A client's create owns every field it set (defaults included, as on a real server); managedFields it sent are ignored.
      delete obj.metadata.managedFields;
      recordUpdate(rt, undefined, obj, opts.manager);
    }
    if (opts.dryRun) return obj;
    this.write(rt, 'ADDED', obj);
    return obj;
  }

  /**
   * Replaces an object. With `subresource: 'status'` only the status changes; without it, for kinds with a status
   * subresource, the status is kept as stored. A resourceVersion that is not the current one is a Conflict.
   */
  update(
    rt: ResourceType,
    input: KObject,
    opts: WriteOptions & { subresource?: 'status'; createIfMissing?: boolean } = {},
  ): KObject {
    const name = input.metadata?.name;
    if (!name)
      throw invalid(rt, '', [
        { reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name is required' },
      ]);
    const namespace = rt.namespaced ? input.metadata.namespace : undefined;
    const old = this.table(rt).get(keyOf(namespace, name));
    if (!old) {
      if (opts.createIfMissing && !opts.subresource) {
        const fresh = structuredClone(input);
        delete fresh.metadata.resourceVersion;
        return this.create(rt, fresh, opts);
      }
      throw notFound(rt, name);
    }
    const wanted = input.metadata.resourceVersion;
    if (wanted && wanted !== old.metadata.resourceVersion) throw conflict(rt, name);
    if (input.metadata.uid && input.metadata.uid !== old.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${input.metadata.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    const obj: KObject = structuredClone(input);
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    // Fields a client cannot change.
    obj.metadata.uid = old.metadata.uid;
    obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
    obj.metadata.namespace = old.metadata.namespace;
    if (!rt.namespaced) delete obj.metadata.namespace;
    if (old.metadata.deletionTimestamp) {
      obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      if (old.metadata.deletionGracePeriodSeconds !== undefined)
        obj.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    } else {
      delete obj.metadata.deletionTimestamp;
      delete obj.metadata.deletionGracePeriodSeconds;
    }
    if (opts.subresource === 'status') {
      // Only status moves; everything else stays as stored (labels/annotations may change on status too in k8s
      // for some kinds, but never spec).
      const merged: KObject = { ...structuredClone(old), status: obj.status };
      merged.metadata.resourceVersion = old.metadata.resourceVersion;
      if (opts.manager !== undefined) recordUpdate(rt, old, merged, opts.manager, 'status');
      return this.commitUpdate(rt, merged, old, opts.dryRun);
    }
    if (rt.subresources.includes('status')) obj.status = structuredClone(old.status);
    if (rt.hasStatus) {
      const specChanged = JSON.stringify(withoutMeta(obj)) !== JSON.stringify(withoutMeta(old));
      obj.metadata.generation = (old.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    }
    this.hooksOf(rt)?.defaults?.(obj, this, old);
    this.runValidation(rt, obj, old);
    this.admit(rt, obj, old, opts);
    if (opts.manager !== undefined) recordUpdate(rt, old, obj, opts.manager);
    else if (obj.metadata.managedFields === undefined && old.metadata.managedFields !== undefined)
      obj.metadata.managedFields = old.metadata.managedFields;
    return this.commitUpdate(rt, obj, old, opts.dryRun);
  }

  private commitUpdate(rt: ResourceType, obj: KObject, old: KObject, dryRun?: boolean): KObject {
    if (dryRun) return obj;
    // An object being deleted goes once its last finalizer is removed.
    if (
      obj.metadata.deletionTimestamp &&
      !obj.metadata.finalizers?.length &&
      !this.waitsForKubelet(rt, obj) &&
      !heldBySpecFinalizers(rt, obj)
    ) {
      this.write(rt, 'DELETED', obj, old);
      return obj;
    }
    // A write that changes nothing is not a new version (as the real server's no-op update).
    const { resourceVersion: _drop, ...newMeta } = obj.metadata;
    const { resourceVersion: _drop2, ...oldMeta } = old.metadata;
    if (JSON.stringify({ ...obj, metadata: newMeta }) === JSON.stringify({ ...old, metadata: oldMeta })) return old;
    this.write(rt, 'MODIFIED', obj, old);
    return obj;
  }

  /** A graceful pod deletion is finished by the kubelet, not by the store (see also heldBySpecFinalizers). */
  private waitsForKubelet(rt: ResourceType, obj: KObject): boolean {
    return rt.group === '' && rt.kind === 'Pod' && (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0;
  }

  /**
   * Deletes an object. Objects with finalizers, foreground deletions and pods on a node with a grace period get a
   * deletionTimestamp and stay until their finalizers (or the kubelet) let them go.
   */
  delete(rt: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KObject {
    const old = this.table(rt).get(keyOf(rt.namespaced ? namespace : undefined, name));
    if (!old) throw notFound(rt, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
        { name, kind: rt.plural },
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
        { name, kind: rt.plural },
      );
    }
    const obj: KObject = structuredClone(old);
    const finalizers = new Set(obj.metadata.finalizers ?? []);
    if (opts.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
    if (opts.propagationPolicy === 'Orphan') finalizers.add('orphan');
    const isPod = rt.group === '' && rt.kind === 'Pod';
    let grace = 0;
    if (isPod && obj.spec?.nodeName && !isTerminal(obj)) {
      grace =
        opts.gracePeriodSeconds ??
        old.metadata.deletionGracePeriodSeconds ??
        obj.spec?.terminationGracePeriodSeconds ??
        30;
    }
    if (old.metadata.deletionTimestamp) {
      // Already being deleted: a shorter grace period or a force delete can still finish it.
      if (isPod && grace === 0 && opts.gracePeriodSeconds === 0 && !finalizers.size) {
        this.write(rt, 'DELETED', obj, old);
        return obj;
      }
      const current = old.metadata.deletionGracePeriodSeconds ?? 0;
      if (isPod && grace < current) {
        obj.metadata.deletionGracePeriodSeconds = grace;
        this.write(rt, 'MODIFIED', obj, old);
        return obj;
      }
      if (finalizers.size !== (old.metadata.finalizers ?? []).length) {
        obj.metadata.finalizers = [...finalizers];
        this.write(rt, 'MODIFIED', obj, old);
        return obj;
      }
      return old;
    }
    if (!finalizers.size && grace === 0 && !heldBySpecFinalizers(rt, obj)) {
      this.write(rt, 'DELETED', obj, old);
      return obj;
    }
    obj.metadata.deletionTimestamp = now();
    if (isPod || grace > 0) obj.metadata.deletionGracePeriodSeconds = grace;
    if (finalizers.size) obj.metadata.finalizers = [...finalizers];
    if (rt.group === '' && rt.kind === 'Namespace') obj.status = { ...(obj.status ?? {}), phase: 'Terminating' };
    if (rt.hasStatus) obj.metadata.generation = (obj.metadata.generation ?? 1) + 1;
    this.write(rt, 'MODIFIED', obj, old);
    return obj;
  }

  /** Removes a terminating object for good (the kubelet's last word on a pod, or a finalizer's). */
  finalizeDelete(rt: ResourceType, namespace: string | undefined, name: string): void {
    const old = this.table(rt).get(keyOf(rt.namespaced ? namespace : undefined, name));
    if (old) this.write(rt, 'DELETED', structuredClone(old), old);
  }

  /** Removes every object of a type and namespace that matches; returns what was deleted. */
  deleteCollection(
    rt: ResourceType,
    namespace: string | undefined,
    matcher: Matcher | undefined,
    opts: DeleteOptions = {},
  ): KObject[] {
    const out: KObject[] = [];
    for (const o of this.list(rt, namespace, matcher)) {
      try {
        out.push(this.delete(rt, o.metadata.namespace, o.metadata.name!, opts));
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return out;
  }

  private write(rt: ResourceType, type: WatchEventType, obj: KObject, old?: KObject): void {
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    const key = keyOf(rt.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name!);
    const t = this.table(rt);
    if (type === 'DELETED') {
      t.delete(key);
      this.sortedKeys.delete(typeKey(rt));
    } else {
      if (!t.has(key)) this.sortedKeys.delete(typeKey(rt));
      t.set(key, obj);
    }
    const ev: StoreEvent = { type, rt, object: obj, old, rv: this.rv };
    this.history.push(ev);
    // Compact in batches: dropping one entry per write would shift the whole array every time.
    if (this.history.length > this.historySize + Math.max(1, this.historySize >> 4)) {
      const drop = this.history.length - this.historySize;
      this.compactedRv = this.history[drop - 1].rv;
      this.history.splice(0, drop);
      this.historyStart += drop;
    }
    if (rt.group === 'apiextensions.k8s.io' && rt.kind === 'CustomResourceDefinition') this.syncCRD(type, obj, old);
    this.deliver(ev);
    for (const l of this.listeners) l(ev);
  }

  // ------------------------------------------------------------------ watch

  /**
   * Starts a watch. Returns a function that stops it. A resourceVersion older than the history is 410 Expired,
   * as the real server's "too old resource version".
   */
  watch(rt: ResourceType, opts: WatchOptions, sink: WatchSink): () => void {
    const w: Watcher = { rt, opts, sink };
    const from = opts.resourceVersion;
    if (!from || from === '0') {
      for (const o of this.list(rt, opts.namespace, opts.matcher))
        sink('ADDED', { type: 'ADDED', rt, object: o, rv: Number(o.metadata.resourceVersion) });
    } else {
      const since = Number(from);
      if (!Number.isInteger(since) || since < 0) throw badRequest(`invalid resource version: ${from}`);
      if (since < this.compactedRv) throw expired(`too old resource version: ${since} (${this.compactedRv + 1})`);
      const k = typeKey(rt);
      // History is in version order: find the first event after `since` and replay from there.
      for (let i = indexAfter(this.history, (e) => e.rv, since); i < this.history.length; i++) {
        const ev = this.history[i];
        if (typeKey(ev.rt) === k) this.offer(w, ev);
      }
    }
    const k = typeKey(rt);
    let set = this.watchers.get(k);
    if (!set) this.watchers.set(k, (set = new Set()));
    set.add(w);
    return () => set!.delete(w);
  }

  watcherCount(): number {
    let n = 0;
    for (const s of this.watchers.values()) n += s.size;
    return n;
  }

  private deliver(ev: StoreEvent): void {
    const set = this.watchers.get(typeKey(ev.rt));
    if (!set) return;
    for (const w of set) this.offer(w, ev);
  }

  /** Sends an event to one watcher, turning it into ADDED/DELETED where the object enters or leaves its selection. */
  private offer(w: Watcher, ev: StoreEvent): void {
    const now = inScope(w, ev.object);
    if (ev.type === 'ADDED') {
      if (now) w.sink('ADDED', ev);
    } else if (ev.type === 'DELETED') {
      if (now || inScope(w, ev.old)) w.sink('DELETED', ev);
    } else {
      const before = inScope(w, ev.old);
      if (now && before) w.sink('MODIFIED', ev);
      else if (now) w.sink('ADDED', ev);
      else if (before) w.sink('DELETED', ev);
    }
  }

  // ------------------------------------------------------------------ custom resources

  private syncCRD(type: WatchEventType, crd: KObject, old?: KObject): void {
    for (const rt of old ? Registry.fromCRD(old) : []) this.registry.remove(rt.group, rt.version, rt.plural);
    if (type === 'DELETED') {
      const spec = crd.spec ?? {};
      this.tables.delete(`${spec.group}/${spec.names?.plural}`);
      this.sortedKeys.delete(`${spec.group}/${spec.names?.plural}`);
      return;
    }
    for (const rt of Registry.fromCRD(crd)) this.registry.add(rt);
  }
}

export type * from './store/types.js';
export { randomSuffix, now as timestamp } from './store/helpers.js';

/**
 * A namespace stays, Terminating, while its spec.finalizers (`kubernetes`: the namespace controller empties it first)
 * are there, as the apiserver's namespace storage keeps it; `PUT .../finalize` clearing them lets it go.
 */
function heldBySpecFinalizers(rt: ResourceType, obj: KObject): boolean {
  return (
    rt.group === '' && rt.kind === 'Namespace' && Array.isArray(obj.spec?.finalizers) && obj.spec.finalizers.length > 0
  );
}
