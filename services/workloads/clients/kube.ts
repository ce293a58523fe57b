// The Kubernetes adapter of the workloads subgraph: one informer (list + watch, services/common/k8s/informer.ts) per
// kind feeding an indexed cache, and the write calls. Requests read the caches only; they never list from the API
// server. The kinds table is in kinds.ts, the cache in indexed-cache.ts, paths in kube-paths.ts, raw REST and error
// mapping in kube-rest.ts.
import * as k8s from '@kubernetes/client-node';
import { backoffDelay, Informer, listWatch, StoppableWatch } from '../../common/k8s/informer.js';
import { isIntegerResourceVersion, rvAtLeast } from '../../common/k8s/resource-version.js';
import type { Logger } from '../../common/log.js';
import {
  byLabel,
  byLabelKey,
  byNamespace,
  byOwner,
  IndexedCache,
  type CacheReader,
  type IndexFn,
} from './indexed-cache.js';
import type { StoredObject } from '../../common/k8s/object.js';
import { compactObject } from './compact.js';
import { CORE_KINDS, KINDS, sanitize, type KindName, type KindUnavailable } from './kinds.js';
import { CheckedObjectApi, namespacedPath, objectPath } from './kube-paths.js';
import { KubeApiError, listChunked, rawRequest, toKubeError, wrapKubeCall as wrap } from './kube-rest.js';

/**
 * One change of a cache, as the live subscriptions see it. `resync` marks the events of a relist (the informer's
 * first LIST, or a LIST after the API server answered 410 Gone): they move the cache from its old state to the listed
 * one but are not a history — intermediate changes are lost — and `token` is the LIST's resourceVersion. After the
 * last of them comes one `SYNCED` change with the same token: from there on, every watch event follows.
 */
export type CacheChange =
  | {
      kind: KindName;
      type: 'ADDED' | 'MODIFIED' | 'DELETED';
      object: StoredObject;
      previous?: StoredObject;
      token: string;
      resync: boolean;
    }
  | { kind: KindName; type: 'SYNCED'; token: string };

export type CacheChangeListener = (change: CacheChange) => void;

/** A watch event from `watchFrom`: an object change, or a BOOKMARK carrying only a resourceVersion. */
export interface RawWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: StoredObject;
}

export interface KubeClientOptions {
  kubeConfig?: k8s.KubeConfig;
  log: Logger;
  /** Extra indexes per kind (the model's computed ones, e.g. pod status). */
  indexes?: Partial<Record<KindName, Record<string, IndexFn>>>;
  /** How long a mutation waits for the cache to see its write. */
  writeWaitMs?: number;
  /** Page size of the informers' LIST. */
  listChunk?: number;
  /** Called on every cache change (metrics, subscriptions later). */
  onChange?: (kind: KindName) => void;
}

export const FIELD_MANAGER = 'kubegraph';

type KindList = { apiVersion: string; kind: string; metadata: { resourceVersion: string }; items: StoredObject[] };

export class KubeClient {
  readonly kc: k8s.KubeConfig;
  readonly objects: k8s.KubernetesObjectApi;
  private readonly stores: Record<KindName, IndexedCache>;
  private readonly informers = new Map<KindName, Informer<k8s.KubernetesObject>>();
  /** Kinds between the start of a LIST and the watch that follows it: their cache events are a resync. */
  private readonly relisting = new Set<KindName>();
  /** The resourceVersion of each kind's last LIST. */
  private readonly listVersions: Partial<Record<KindName, string>> = {};
  private readonly changeListeners = new Map<KindName, Set<CacheChangeListener>>();
  /** Optional kinds whose LIST answered 403 or 404 (retried with a slower back-off). */
  private readonly unavailableKinds = new Map<KindName, KindUnavailable>();
  /** Optional kinds whose first start has finished, synced or failed: readiness does not wait for them after that. */
  private readonly settledKinds = new Set<KindName>();
  /** Unavailable kinds already reported at warn level (by kind and status), so the retries stay quiet. */
  private readonly reportedUnavailable = new Set<string>();
  /**
   * Since when (ms since the epoch) each synced kind has had no working watch: set by its first list or watch error,
   * cleared once a start reaches the watch again. Its cache was current until then.
   */
  private readonly downSince = new Map<KindName, number>();
  private readonly synced: Promise<void>;
  private resolveSynced!: () => void;
  private stopped = false;
  private readonly log: Logger;
  readonly writeWaitMs: number;
  private readonly listChunk: number;
  /** Every watch of this client (the informers', custom objects', watchFrom's), so that stop() ends them all. */
  private readonly watch: StoppableWatch;

  constructor(opts: KubeClientOptions) {
    this.log = opts.log;
    this.writeWaitMs = opts.writeWaitMs ?? 5000;
    this.listChunk = opts.listChunk ?? 500;
    if (opts.kubeConfig) this.kc = opts.kubeConfig;
    else {
      this.kc = new k8s.KubeConfig();
      this.kc.loadFromDefault();
    }
    this.objects = CheckedObjectApi.make(this.kc);
    this.watch = new StoppableWatch(this.kc);
    const common = { namespace: byNamespace, label: byLabel, labelKey: byLabelKey, owner: byOwner };
    const make = (kind: KindName, extra: Record<string, IndexFn> = {}) =>
      new IndexedCache(kind, { ...common, ...extra, ...(opts.indexes?.[kind] ?? {}) });
    this.stores = {
      Namespace: make('Namespace'),
      Node: make('Node'),
      Pod: make('Pod', { node: (o) => (o.spec?.nodeName ? [String(o.spec.nodeName)] : []) }),
      Deployment: make('Deployment'),
      ReplicaSet: make('ReplicaSet'),
      StatefulSet: make('StatefulSet'),
      DaemonSet: make('DaemonSet'),
      Job: make('Job'),
      CronJob: make('CronJob'),
      Event: make('Event', {
        involved: (o) =>
          o.involvedObject && typeof o.involvedObject === 'object'
            ? [String((o.involvedObject as { uid?: string }).uid ?? '')]
            : [],
      }),
      Service: make('Service'),
      Ingress: make('Ingress'),
      ConfigMap: make('ConfigMap'),
      Secret: make('Secret'),
      ServiceAccount: make('ServiceAccount'),
      PersistentVolumeClaim: make('PersistentVolumeClaim'),
      PersistentVolume: make('PersistentVolume'),
      StorageClass: make('StorageClass'),
      HorizontalPodAutoscaler: make('HorizontalPodAutoscaler'),
      NetworkPolicy: make('NetworkPolicy'),
      CustomResourceDefinition: make('CustomResourceDefinition'),
    };
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    for (const kind of Object.keys(KINDS) as KindName[]) this.informers.set(kind, this.informerOf(kind, opts));
  }

  /**
   * The informer of a kind. client-node types objects with Date timestamps, but watch events (and our raw LIST) carry
   * the JSON as sent: the cache keeps that JSON (StoredObject).
   */
  private informerOf(kind: KindName, opts: KubeClientOptions): Informer<k8s.KubernetesObject> {
    const cache = this.stores[kind];
    // Objects arrive as the caches keep them: the LIST's through listAll, the watch's through `transform`.
    const changed = (type: 'ADDED' | 'MODIFIED' | 'DELETED', raw: k8s.KubernetesObject) => {
      const object = raw as unknown as StoredObject;
      const previous = cache.get(object.metadata.namespace, object.metadata.name);
      if (type === 'DELETED') cache.delete(object);
      else cache.upsert(object);
      opts.onChange?.(kind);
      if (!this.changeListeners.get(kind)?.size) return;
      const resync = this.relisting.has(kind);
      // A resync's events are stamped with the LIST's version: that is the state they bring the cache to.
      const token = (resync ? this.listVersions[kind] : object.metadata.resourceVersion) ?? '';
      this.emit({ kind, type, object, previous, token, resync });
    };
    return new Informer<k8s.KubernetesObject>({
      path: KINDS[kind].path,
      watch: this.watch,
      list: () => this.listAll(kind) as unknown as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
      onChange: changed,
      onListed: () => {
        if (this.relisting.delete(kind)) this.emit({ kind, type: 'SYNCED', token: this.listVersions[kind] ?? '' });
      },
      // The API server answered the watch: the kind's cache follows it again.
      onWatching: () => this.downSince.delete(kind),
      onStarted: (first) => this.started(kind, first),
      onError: (err, attempt, delayMs) => this.failed(kind, err, attempt, delayMs),
      // Before anything (ListWatch's own store included) sees them, objects lose managedFields and Secrets their
      // values, and their strings are shared (compact.ts).
      transform: (o) => compactObject(sanitize(kind, o as unknown as StoredObject)) as unknown as k8s.KubernetesObject,
    });
  }

  /** The caches, read-only: each a lister (get, list, by index) over its kind. */
  get caches(): Readonly<Record<KindName, CacheReader>> {
    return this.stores;
  }

  /** Informer restarts after errors, by kind (kinds that never restarted are absent). */
  get restarts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [kind, informer] of this.informers) if (informer.restarts) out[kind] = informer.restarts;
    return out;
  }

  /** Starts every informer; `whenSynced` resolves once the client is ready (see `isSynced()`). */
  start(): void {
    for (const informer of this.informers.values()) void informer.start();
  }

  whenSynced(): Promise<void> {
    return this.synced;
  }

  /**
   * With a kind: whether its cache holds its first LIST. Without: readiness — every core kind synced, and every
   * optional kind either synced or done with its first attempt (failed: unavailable, or being retried).
   */
  isSynced(kind?: KindName): boolean {
    if (kind) return this.informers.get(kind)!.isSynced();
    for (const [k, informer] of this.informers) {
      if (!informer.isSynced() && (CORE_KINDS.has(k) || !this.settledKinds.has(k))) return false;
    }
    return true;
  }

  /**
   * While the watch of any synced kind is down (the API server gone or refusing), the time its cache was last known
   * current — the earliest such kind's; undefined while every watch runs. Reads are then served from caches that may
   * be stale.
   */
  disconnectedSince(): number | undefined {
    let since: number | undefined;
    for (const t of this.downSince.values()) if (since === undefined || t < since) since = t;
    return since;
  }

  /** Why an optional kind has no usable cache (403 or 404 from the API server); undefined when it is not refused. */
  unavailable(kind: KindName): KindUnavailable | undefined {
    return this.unavailableKinds.get(kind);
  }

  private settle(kind: KindName): void {
    if (this.settledKinds.has(kind)) return;
    this.settledKinds.add(kind);
    if (this.isSynced()) this.resolveSynced();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.informers.values()].map((informer) => informer.stop()));
    this.watch.stop();
  }

  /** A start of a kind's informer reached the watch with its LIST in. */
  private started(kind: KindName, first: boolean): void {
    const was = this.unavailableKinds.get(kind);
    if (was) {
      this.unavailableKinds.delete(kind);
      for (const status of [403, 404]) this.reportedUnavailable.delete(`${kind}:${status}`);
      this.log.info('kind available again', { kind, previousStatus: was.status });
    }
    if (first) this.log.info('cache synced', { kind, objects: this.stores[kind].size });
    this.settle(kind);
  }

  /**
   * After a list or watch error the informer starts again with exponential back-off (200 ms doubling up to 30 s). An
   * optional kind answered 403 or 404 is marked unavailable and retried slower (up to 5 min), reported once at warn
   * level. Returns the delay.
   */
  private failed(kind: KindName, err: unknown, attempt: number, delayMs: number): number {
    const e = toKubeError(err);
    const message = String((e as Error)?.message ?? e);
    const refused =
      !CORE_KINDS.has(kind) && e instanceof KubeApiError && (e.statusCode === 403 || e.statusCode === 404)
        ? (e.statusCode as 403 | 404)
        : undefined;
    // A refused optional kind answers errors rather than its cache: not a disconnection.
    if (refused) this.downSince.delete(kind);
    else if (this.isSynced(kind) && !this.downSince.has(kind)) this.downSince.set(kind, Date.now());
    const delay = refused ? backoffDelay(attempt, 200, 300_000) : delayMs;
    if (refused) {
      this.unavailableKinds.set(kind, { status: refused, message });
      const key = `${kind}:${refused}`;
      if (!this.reportedUnavailable.has(key)) {
        this.reportedUnavailable.add(key);
        this.log.warn('kind unavailable; its fields answer errors, readiness does not wait for it', {
          kind,
          status: refused,
          reason: refused === 403 ? 'forbidden' : 'not served',
          error: message,
        });
      } else this.log.debug('kind still unavailable; retrying', { kind, attempt, delayMs: delay });
    } else this.log.warn('informer error; restarting', { kind, attempt, delayMs: delay, error: message });
    if (!CORE_KINDS.has(kind)) this.settle(kind);
    return delay;
  }

  /** Every change of a kind's cache, in the order the cache applied them (see CacheChange). Returns the unsubscribe. */
  onCacheChange(kind: KindName, listener: CacheChangeListener): () => void {
    let set = this.changeListeners.get(kind);
    if (!set) this.changeListeners.set(kind, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** The resourceVersion from which the cache of a kind has seen every watch event (its last LIST's). */
  listVersion(kind: KindName): string | undefined {
    return this.listVersions[kind];
  }

  private emit(change: CacheChange): void {
    for (const l of this.changeListeners.get(change.kind) ?? []) {
      try {
        l(change);
      } catch (e) {
        this.log.error('cache change listener failed', { kind: change.kind, error: String(e) });
      }
    }
  }

  /**
   * A watch of its own from a past resourceVersion (the API server replays what changed since, or ends with 410 Gone
   * when that version is compacted away): how a subscription resumed from before this process's LIST catches up.
   * Selectors are applied by the API server, so objects leaving a selector arrive as DELETED, as for any watch.
   * `done` gets the error (a KubeApiError with statusCode 410 when the version is too old), or nothing on a normal end.
   */
  async watchFrom(
    kind: KindName,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string; resourceVersion: string },
    onEvent: (e: RawWatchEvent) => void,
    done: (err?: Error) => void,
  ): Promise<() => void> {
    const path = opts.namespace ? namespacedPath(kind, opts.namespace) : KINDS[kind].path;
    const query: Record<string, string | boolean> = {
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: true,
    };
    if (opts.labelSelector) query.labelSelector = opts.labelSelector;
    if (opts.fieldSelector) query.fieldSelector = opts.fieldSelector;
    let ended = false;
    const finish = (err?: Error) => {
      if (ended) return;
      ended = true;
      done(err);
    };
    const controller = await this.watch.watch(
      path,
      query,
      (phase: string, obj: unknown) => {
        if (ended) return;
        const o = obj as StoredObject & { code?: number; message?: string };
        // A watch reports "too old" as an ERROR event carrying a Status, before it ends.
        if (phase === 'ERROR')
          finish(
            new KubeApiError(
              o.code ?? 500,
              String((o as { reason?: string }).reason ?? ''),
              o.message ?? 'watch error',
            ),
          );
        else if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' || phase === 'BOOKMARK')
          onEvent({ type: phase, object: compactObject(sanitize(kind, o)) });
      },
      (err: unknown) => finish(err ? toKubeError(err) : undefined),
    );
    return () => {
      ended = true;
      controller.abort();
    };
  }

  /** The informers' LIST: raw JSON (no client-side classes, so list and watch objects look alike), in chunks. */
  private async listAll(kind: KindName): Promise<KindList> {
    if (this.stopped) throw new Error('the Kubernetes client is stopped');
    this.relisting.add(kind);
    const { apiVersion, path } = KINDS[kind];
    const { items, resourceVersion } = await listChunked(this.kc, path, apiVersion, kind, this.listChunk);
    this.stores[kind].seen(resourceVersion);
    this.listVersions[kind] = resourceVersion;
    return { apiVersion, kind: `${kind}List`, metadata: { resourceVersion }, items };
  }

  /**
   * A list+watch of any resource path (the objects of a CRD) into a cache of its own, through the same watch wrapper
   * as the kinds' informers, so stop() ends its watch too. The caller starts it, stops it and listens for `error`.
   */
  listWatchInto(
    path: string,
    apiVersion: string,
    kind: string,
    cache: IndexedCache,
  ): k8s.ListWatch<k8s.KubernetesObject> {
    const list = async () => {
      if (this.stopped) throw new Error('the Kubernetes client is stopped');
      const { items, resourceVersion } = await listChunked(this.kc, path, apiVersion, kind, this.listChunk);
      cache.seen(resourceVersion);
      return { apiVersion, kind: `${kind}List`, metadata: { resourceVersion }, items };
    };
    const informer = listWatch(
      path,
      this.watch,
      list as unknown as () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
      { transform: (o) => compactObject(o as unknown as StoredObject) as unknown as k8s.KubernetesObject },
    );
    informer.on('add', (o) => cache.upsert(o as unknown as StoredObject));
    informer.on('update', (o) => cache.upsert(o as unknown as StoredObject));
    informer.on('delete', (o) => cache.delete(o as unknown as StoredObject));
    return informer;
  }

  /** A JSON request to the API server with the kubeconfig's credentials (see kube-rest.ts). */
  rawRequest(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    return rawRequest(this.kc, method, path, body, contentType);
  }

  // ---------------------------------------------------------------- writes

  /** Creates any object (KubernetesObjectApi: the path comes from discovery). */
  async create(obj: StoredObject): Promise<StoredObject> {
    return wrap(() =>
      this.objects.create(obj as unknown as k8s.KubernetesObject, undefined, undefined, FIELD_MANAGER),
    ) as unknown as Promise<StoredObject>;
  }

  /** A JSON merge patch of any object. */
  /** A JSON patch (RFC 6902) of an object of a cached kind. */
  async jsonPatch(kind: KindName, namespace: string | undefined, name: string, ops: unknown[]): Promise<StoredObject> {
    const path = `${objectPath(kind, namespace || undefined, name)}?fieldManager=${FIELD_MANAGER}`;
    return (await this.rawRequest('PATCH', path, ops, 'application/json-patch+json')) as StoredObject;
  }

  async mergePatch(obj: StoredObject): Promise<StoredObject> {
    return wrap(() =>
      this.objects.patch(
        obj as unknown as k8s.KubernetesObject,
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        k8s.PatchStrategy.MergePatch,
      ),
    ) as unknown as Promise<StoredObject>;
  }

  /**
   * Server-side apply with field manager "kubegraph". Fields another manager owns are a 409 Conflict unless `force`
   * (as `kubectl apply --server-side [--force-conflicts]`); `dryRun` is the server's dryRun=All (checked, not stored).
   */
  async apply(obj: StoredObject, opts: { force?: boolean; dryRun?: boolean } = {}): Promise<StoredObject> {
    return wrap(() =>
      this.objects.patch(
        obj as unknown as k8s.KubernetesObject,
        undefined,
        opts.dryRun ? 'All' : undefined,
        FIELD_MANAGER,
        Boolean(opts.force),
        k8s.PatchStrategy.ServerSideApply,
      ),
    ) as unknown as Promise<StoredObject>;
  }

  async delete(obj: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  }): Promise<StoredObject | undefined> {
    const res = (await wrap(() =>
      this.objects.delete(obj as unknown as k8s.KubernetesObject),
    )) as unknown as StoredObject;
    return res && (res as { kind?: string }).kind !== 'Status' ? res : undefined;
  }

  /** Whether a kind is namespaced (discovery, cached by KubernetesObjectApi); undefined for unknown kinds. */
  async namespaced(apiVersion: string, kind: string): Promise<boolean | undefined> {
    // `resource` is protected on KubernetesObjectApi; it is the discovery lookup the client uses for its own paths.
    const api = this.objects as unknown as {
      resource(apiVersion: string, kind: string): Promise<k8s.V1APIResource | undefined>;
    };
    const r = await wrap(() => api.resource(apiVersion, kind));
    return r ? r.namespaced : undefined;
  }

  /**
   * Read-your-writes: waits (bounded) until the cache of `kind` has seen `resourceVersion` — the object itself at
   * that version or newer, or anything newer in the same kind. Resolves false on timeout.
   */
  waitForVersion(
    kind: KindName,
    namespace: string | undefined,
    name: string,
    resourceVersion: string | undefined,
    opts: { gone?: boolean } = {},
  ): Promise<boolean> {
    const cache = this.stores[kind];
    return cache.waitFor(() => {
      const current = cache.get(namespace, name);
      if (opts.gone && !current) return true;
      if (!resourceVersion) return opts.gone ? !current : Boolean(current);
      if (current && rvAtLeast(current.metadata.resourceVersion, resourceVersion)) return true;
      return rvAtLeast(cache.lastResourceVersion, resourceVersion) && isIntegerResourceVersion(resourceVersion);
    }, this.writeWaitMs);
  }
}
