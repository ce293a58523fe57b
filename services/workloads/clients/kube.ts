// The Kubernetes adapter of the workloads subgraph: one informer (list + watch) per kind feeding an indexed cache,
// and the write calls. Requests read the caches only; they never list from the API server.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import {
  apiVersionProblems,
  dns1123LabelProblems,
  isResourceName,
  kindProblems,
  objectNameProblems,
  parseApiVersion,
} from '../../common/k8s/names.js';
import { isIntegerResourceVersion, rvAtLeast } from '../../common/k8s/resource-version.js';
import type { Logger } from '../../common/log.js';

/** A Kubernetes object as JSON (timestamps are strings; no client-side classes). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    generation?: number;
    // The rest of metadata is carried through as it came.
    [k: string]: unknown;
  };
  // Kind-specific parts are read by the model, which knows their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- spec/status differ per kind; the model reads them defensively
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  status?: any;
  [k: string]: unknown;
}

export type KindName =
  | 'Namespace'
  | 'Node'
  | 'Pod'
  | 'Deployment'
  | 'ReplicaSet'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'Job'
  | 'CronJob'
  | 'Event'
  | 'Service'
  | 'Ingress'
  | 'ConfigMap'
  | 'Secret'
  | 'ServiceAccount'
  | 'PersistentVolumeClaim'
  | 'PersistentVolume'
  | 'StorageClass'
  | 'HorizontalPodAutoscaler'
  | 'NetworkPolicy'
  | 'CustomResourceDefinition';

interface KindInfo {
  apiVersion: string;
  /** The cluster-wide collection path. */
  path: string;
}

export const KINDS: Record<KindName, KindInfo> = {
  Namespace: { apiVersion: 'v1', path: '/api/v1/namespaces' },
  Node: { apiVersion: 'v1', path: '/api/v1/nodes' },
  Pod: { apiVersion: 'v1', path: '/api/v1/pods' },
  Deployment: { apiVersion: 'apps/v1', path: '/apis/apps/v1/deployments' },
  ReplicaSet: { apiVersion: 'apps/v1', path: '/apis/apps/v1/replicasets' },
  StatefulSet: { apiVersion: 'apps/v1', path: '/apis/apps/v1/statefulsets' },
  DaemonSet: { apiVersion: 'apps/v1', path: '/apis/apps/v1/daemonsets' },
  Job: { apiVersion: 'batch/v1', path: '/apis/batch/v1/jobs' },
  CronJob: { apiVersion: 'batch/v1', path: '/apis/batch/v1/cronjobs' },
  Event: { apiVersion: 'v1', path: '/api/v1/events' },
  Service: { apiVersion: 'v1', path: '/api/v1/services' },
  Ingress: { apiVersion: 'networking.k8s.io/v1', path: '/apis/networking.k8s.io/v1/ingresses' },
  ConfigMap: { apiVersion: 'v1', path: '/api/v1/configmaps' },
  Secret: { apiVersion: 'v1', path: '/api/v1/secrets' },
  ServiceAccount: { apiVersion: 'v1', path: '/api/v1/serviceaccounts' },
  PersistentVolumeClaim: { apiVersion: 'v1', path: '/api/v1/persistentvolumeclaims' },
  PersistentVolume: { apiVersion: 'v1', path: '/api/v1/persistentvolumes' },
  StorageClass: { apiVersion: 'storage.k8s.io/v1', path: '/apis/storage.k8s.io/v1/storageclasses' },
  HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', path: '/apis/autoscaling/v2/horizontalpodautoscalers' },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', path: '/apis/networking.k8s.io/v1/networkpolicies' },
  CustomResourceDefinition: {
    apiVersion: 'apiextensions.k8s.io/v1',
    path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  },
};

const KIND_BY_PATH = new Map(Object.entries(KINDS).map(([k, v]) => [v.path, k as KindName]));

/**
 * A value refused before it could become part of a request path (a name, namespace, kind or apiVersion that is not
 * one by Kubernetes' rules, or a discovery document naming a resource that is not one segment). `field` says which.
 */
export class UnsafeRequestPathError extends Error {
  constructor(
    readonly field: 'apiVersion' | 'kind' | 'namespace' | 'name' | 'resource',
    value: unknown,
    problems: string[],
  ) {
    super(
      `invalid ${field} ${JSON.stringify(typeof value === 'string' && value.length > 80 ? `${value.slice(0, 80)}…` : value)}: ${problems.join('; ')}`,
    );
  }
}

/** Checks a value with a names-module rule; the value, or UnsafeRequestPathError. */
function checked(field: UnsafeRequestPathError['field'], value: unknown, problems: (v: string) => string[]): string {
  if (typeof value !== 'string') throw new UnsafeRequestPathError(field, value, ['must be a string']);
  const p = problems(value);
  if (p.length) throw new UnsafeRequestPathError(field, value, p);
  return value;
}

/** The `/namespaces/<ns>` part of a path, the namespace checked and encoded ('' without one). */
const namespaceSegment = (namespace: string | undefined) =>
  namespace === undefined
    ? ''
    : `/namespaces/${encodeURIComponent(checked('namespace', namespace, dns1123LabelProblems))}`;

/** The collection path of a namespaced kind within one namespace. */
export function namespacedPath(kind: KindName, namespace: string): string {
  const path = KINDS[kind].path;
  const cut = path.lastIndexOf('/');
  return `${path.slice(0, cut)}${namespaceSegment(namespace)}${path.slice(cut)}`;
}

/** The path of one object of a registry kind: namespace and name checked (the name by its kind's rule) and encoded. */
export function objectPath(kind: KindName, namespace: string | undefined, name: string): string {
  const collection = KINDS[kind].path.slice(KINDS[kind].path.lastIndexOf('/'));
  const base = KINDS[kind].path.slice(0, -collection.length);
  return `${base}${namespaceSegment(namespace)}${collection}/${encodeURIComponent(checked('name', name, (n) => objectNameProblems(KINDS[kind].apiVersion, kind, n)))}`;
}

/**
 * client-node's KubernetesObjectApi, with its paths built from checked parts only. The original splices apiVersion
 * unencoded into `/apis/<apiVersion>` (discovery and writes), takes the first discovery entry of a kind (possibly a
 * subresource) and its name as given, and encodes names with encodeURIComponent, which leaves '.' and '..' to URL
 * normalisation: `pods/..` became the namespace itself. Here the apiVersion must be `version` or `group/version`
 * (each part a DNS name, encoded), discovery is read only at `/api/<v>` or `/apis/<g>/<v>`, the resource is the
 * served collection of the kind (one lowercase segment), and the namespace and name pass their kind's rules.
 */
class CheckedObjectApi extends k8s.KubernetesObjectApi {
  static make(kc: k8s.KubeConfig): CheckedObjectApi {
    const api = kc.makeApiClient(CheckedObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  protected override apiVersionPath(apiVersion: string): string {
    checked('apiVersion', apiVersion, apiVersionProblems);
    const gv = parseApiVersion(apiVersion)!;
    return gv.group
      ? `/apis/${encodeURIComponent(gv.group)}/${encodeURIComponent(gv.version)}`
      : `/api/${encodeURIComponent(gv.version)}`;
  }

  protected override async resource(
    apiVersion: string,
    kind: string,
    options?: k8s.Configuration,
  ): Promise<k8s.V1APIResource | undefined> {
    checked('apiVersion', apiVersion, apiVersionProblems);
    checked('kind', kind, kindProblems);
    const found = await super.resource(apiVersion, kind, options);
    if (!found) return undefined;
    // The collection, not a subresource of the same kind (`pods/status` is kind Pod too).
    const r = found.name.includes('/')
      ? this.apiVersionResourceCache[apiVersion]?.resources.find((x) => x.kind === kind && !x.name.includes('/'))
      : found;
    if (!r) return undefined;
    checked('resource', r.name, (n) => (isResourceName(n) ? [] : ['a resource must be one lowercase DNS-1123 label']));
    return r;
  }

  protected override async specUriPath(
    spec: k8s.KubernetesObject,
    action: 'create' | 'delete' | 'patch' | 'read' | 'list' | 'replace',
  ): Promise<string> {
    const apiVersion = checked('apiVersion', spec.apiVersion, apiVersionProblems);
    const kind = checked('kind', spec.kind, kindProblems);
    const resource = await this.resource(apiVersion, kind);
    if (!resource) throw new Error(`Unrecognized API version and kind: ${apiVersion} ${kind}`);
    spec.metadata ??= {};
    if (resource.namespaced && !spec.metadata.namespace && action !== 'list')
      spec.metadata.namespace = this.defaultNamespace;
    const parts = [this.apiVersionPath(apiVersion)];
    if (resource.namespaced && spec.metadata.namespace !== undefined)
      parts.push(namespaceSegment(spec.metadata.namespace).slice(1));
    parts.push(encodeURIComponent(resource.name));
    if (action !== 'create' && action !== 'list')
      parts.push(
        encodeURIComponent(checked('name', spec.metadata.name, (n) => objectNameProblems(apiVersion, kind, n))),
      );
    // Not lower-cased as the original does: names of some kinds (RBAC) may hold capitals.
    return parts.join('/');
  }
}

/**
 * The kinds the contract cannot do without: readiness waits for their caches. The others are optional: a cluster may
 * forbid listing them (RBAC, 403) or not serve their group/version (404); such a kind is marked unavailable, its
 * fields answer an error, and readiness does not wait for it.
 */
export const CORE_KINDS: ReadonlySet<KindName> = new Set<KindName>([
  'Namespace',
  'Node',
  'Pod',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
]);

/** Why an optional kind has no cache: its LIST (or watch) answered 403 Forbidden or 404 Not Found. */
export interface KindUnavailable {
  status: 403 | 404;
  message: string;
}

/** The annotation `kubectl apply` (client-side) writes: a full copy of the object, a Secret's values included. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the caches keep of an object. Secrets lose their values on the way in (the keys stay, with empty values; the
 * last-applied annotation, which repeats them, goes): the workloads subgraph never holds a Secret value in memory.
 */
export function sanitize(kind: KindName, o: KubeObject): KubeObject {
  if (kind !== 'Secret') return o;
  const keys = [
    ...new Set([
      ...Object.keys((o.data as object | undefined) ?? {}),
      ...Object.keys((o.stringData as object | undefined) ?? {}),
    ]),
  ];
  const { data: _data, stringData: _stringData, ...rest } = o;
  const annotations =
    o.metadata.annotations && LAST_APPLIED in o.metadata.annotations
      ? Object.fromEntries(Object.entries(o.metadata.annotations).filter(([k]) => k !== LAST_APPLIED))
      : o.metadata.annotations;
  return {
    ...rest,
    metadata: { ...o.metadata, ...(annotations ? { annotations } : {}) },
    ...(keys.length ? { data: Object.fromEntries(keys.map((k) => [k, ''])) } : {}),
  };
}

export const keyOf = (o: { metadata: { namespace?: string; name: string } }) =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

// ------------------------------------------------------------------ indexed cache

export type IndexFn = (o: KubeObject) => string[];

export interface Bucket {
  keys: Set<string>;
  /** The cache-wide sequence number of the last membership change (never reused, even across re-created buckets). */
  members: number;
  /** The sequence number of the last membership or member change. */
  content: number;
  /** Recent membership changes (key added or removed, at seq); complete for every seq > logFrom. */
  log: { seq: number; key: string }[];
  logFrom: number;
}

const LOG_LIMIT = 4096;

/**
 * The objects of one kind, by `namespace/name`, with secondary indexes (index name → value → keys). Each bucket
 * carries version counters, so derived data (sorted arrays in the model) can be cached and invalidated lazily.
 */
export class IndexedCache {
  readonly objects = new Map<string, KubeObject>();
  private readonly indexes = new Map<string, Map<string, Bucket>>();
  private readonly indexValues = new Map<string, Map<string, string[]>>();
  /** Highest resourceVersion seen through list or watch. */
  lastResourceVersion = '';
  private waiters = new Set<() => void>();
  /** Bumped on every change. */
  version = 0;
  private seq = 0;

  constructor(
    /** The kind, or for custom objects `group/version/plural`. */
    readonly kind: string,
    private readonly indexFns: Record<string, IndexFn>,
  ) {
    for (const name of ['all', ...Object.keys(indexFns)]) {
      this.indexes.set(name, new Map());
      this.indexValues.set(name, new Map());
    }
  }

  get size(): number {
    return this.objects.size;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(namespace ? `${namespace}/${name}` : name);
  }

  /** The bucket of an index value (an empty one when nothing is indexed under it). */
  bucket(index: string, value: string): Bucket {
    const idx = this.indexes.get(index);
    if (!idx) throw new Error(`no index ${index} on ${this.kind}`);
    return idx.get(value) ?? EMPTY_BUCKET;
  }

  bucketValues(index: string): string[] {
    return [...(this.indexes.get(index)?.keys() ?? [])];
  }

  upsert(o: KubeObject): void {
    const key = keyOf(o);
    const previous = this.objects.get(key);
    this.objects.set(key, o);
    const all = previous ? undefined : this.add('all', '', key);
    if (previous && all === undefined) this.touch('all', '', key);
    for (const [name, fn] of Object.entries(this.indexFns)) {
      const values = dedupe(fn(o));
      const old = this.indexValues.get(name)!.get(key) ?? [];
      for (const v of old) if (!values.includes(v)) this.remove(name, v, key);
      for (const v of values) {
        if (old.includes(v)) this.touch(name, v, key);
        else this.add(name, v, key);
      }
      this.indexValues.get(name)!.set(key, values);
    }
    this.seen(o.metadata.resourceVersion);
  }

  delete(o: KubeObject): void {
    const key = keyOf(o);
    if (!this.objects.delete(key)) return;
    this.remove('all', '', key);
    for (const name of Object.keys(this.indexFns)) {
      for (const v of this.indexValues.get(name)!.get(key) ?? []) this.remove(name, v, key);
      this.indexValues.get(name)!.delete(key);
    }
    this.seen(o.metadata.resourceVersion);
  }

  seen(rv: string | undefined): void {
    this.version++;
    if (rv && (!this.lastResourceVersion || !rvAtLeast(this.lastResourceVersion, rv))) this.lastResourceVersion = rv;
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once `check` holds (re-evaluated at each change), false after the timeout. */
  waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve(ok);
      };
      const waiter = () => {
        if (check()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private add(index: string, value: string, key: string): void {
    const idx = this.indexes.get(index)!;
    let b = idx.get(value);
    if (!b) {
      b = { keys: new Set(), members: 0, content: 0, log: [], logFrom: this.seq };
      idx.set(value, b);
    }
    b.keys.add(key);
    this.logChange(b, key);
  }

  private logChange(b: Bucket, key: string): void {
    const seq = ++this.seq;
    b.members = seq;
    b.content = seq;
    b.log.push({ seq, key });
    if (b.log.length > LOG_LIMIT) {
      const dropped = b.log.splice(0, LOG_LIMIT / 2);
      b.logFrom = dropped[dropped.length - 1].seq;
    }
  }

  private touch(index: string, value: string, _key: string): void {
    const b = this.indexes.get(index)!.get(value);
    if (b) b.content = ++this.seq;
  }

  private remove(index: string, value: string, key: string): void {
    const idx = this.indexes.get(index)!;
    const b = idx.get(value);
    if (!b) return;
    b.keys.delete(key);
    this.logChange(b, key);
    if (b.keys.size === 0) idx.delete(value);
  }
}

const EMPTY_BUCKET: Bucket = Object.freeze({
  keys: new Set<string>(),
  members: 0,
  content: 0,
  log: [],
  logFrom: 0,
}) as Bucket;
const dedupe = (values: string[]) => (values.length < 2 ? values : [...new Set(values)]);

export const byNamespace: IndexFn = (o) => (o.metadata.namespace ? [o.metadata.namespace] : []);
export const byLabel: IndexFn = (o) => Object.entries(o.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`);
export const byLabelKey: IndexFn = (o) => Object.keys(o.metadata.labels ?? {});
export const byOwner: IndexFn = (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid);
export const byUid: IndexFn = (o) => (o.metadata.uid ? [o.metadata.uid] : []);

// ------------------------------------------------------------------ the client

/** A Status's `details` (the causes name fields: validation errors, server-side apply conflicts). */
export interface KubeStatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
}

export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly details?: KubeStatusDetails,
  ) {
    super(message);
  }
}

/** The API server could not be reached (connection refused, TLS failure, timeout). */
export class KubeUnreachableError extends Error {}

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
      object: KubeObject;
      previous?: KubeObject;
      token: string;
      resync: boolean;
    }
  | { kind: KindName; type: 'SYNCED'; token: string };

export type CacheChangeListener = (change: CacheChange) => void;

/** A watch event from `watchFrom`: an object change, or a BOOKMARK carrying only a resourceVersion. */
export interface RawWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: KubeObject;
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

export class KubeClient {
  readonly kc: k8s.KubeConfig;
  readonly caches: Record<KindName, IndexedCache>;
  readonly objects: k8s.KubernetesObjectApi;
  /** Informer restarts after errors, by kind. */
  readonly restarts: Record<string, number> = {};
  private readonly informers: { kind: KindName; informer: k8s.ListWatch<k8s.KubernetesObject> }[] = [];
  private readonly syncedKinds = new Set<KindName>();
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
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly log: Logger;
  readonly writeWaitMs: number;
  private readonly listChunk: number;

  /** Open watch requests, so stop() can abort them all. */
  private readonly openWatches = new Set<AbortController>();
  /**
   * client-node's Watch, wrapped: a ListWatch re-opens its watch by itself (after a normal close or a 410) and a
   * stop() that lands while a watch request is being opened would leave that watch running; every watch goes
   * through here, so stop() aborts them all, and one that opens after stop() is aborted at once.
   */
  private readonly watcher = {
    watch: async (
      path: string,
      query: Record<string, string | number | boolean | undefined>,
      callback: (phase: string, obj: unknown, watchObj?: unknown) => void,
      done: (err: unknown) => void,
    ): Promise<AbortController> => {
      const kind = KIND_BY_PATH.get(path);
      if (kind && this.relisting.delete(kind))
        this.emit({ kind, type: 'SYNCED', token: this.listVersions[kind] ?? '' });
      // `done` may run before watch() returns (a request that fails at once).
      const state: { ended: boolean; controller?: AbortController } = { ended: false };
      // Secrets lose their values before anything (ListWatch's own store included) sees them.
      const cb =
        path === KINDS.Secret.path
          ? (phase: string, obj: unknown, watchObj?: unknown) =>
              callback(
                phase,
                obj && typeof obj === 'object' && (obj as KubeObject).metadata
                  ? sanitize('Secret', obj as KubeObject)
                  : obj,
                watchObj,
              )
          : callback;
      state.controller = await this.rawWatch.watch(path, query, cb, (err: unknown) => {
        state.ended = true;
        if (state.controller) this.openWatches.delete(state.controller);
        done(err);
      });
      if (this.stopped) state.controller.abort();
      else if (!state.ended) {
        this.openWatches.add(state.controller);
        // The API server answered the watch: the kind's cache follows it again.
        if (kind) this.downSince.delete(kind);
      }
      return state.controller;
    },
  } as unknown as k8s.Watch;
  private rawWatch!: k8s.Watch;

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
    this.rawWatch = new k8s.Watch(this.kc);
    const common = { namespace: byNamespace, label: byLabel, labelKey: byLabelKey, owner: byOwner, uid: byUid };
    const make = (kind: KindName, extra: Record<string, IndexFn> = {}) =>
      new IndexedCache(kind, { ...common, ...extra, ...(opts.indexes?.[kind] ?? {}) });
    this.caches = {
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
    for (const kind of Object.keys(KINDS) as KindName[]) {
      const cache = this.caches[kind];
      // client-node types objects with Date timestamps, but watch events (and our raw LIST) carry the JSON as sent:
      // the cache keeps that JSON (KubeObject). This is what makeInformer builds (a ListWatch), with our Watch wrapper.
      const informer = new k8s.ListWatch<k8s.KubernetesObject>(
        KINDS[kind].path,
        this.watcher,
        () => this.listAll(kind) as unknown as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
        false,
      );
      const changed = (type: 'ADDED' | 'MODIFIED' | 'DELETED', raw: k8s.KubernetesObject) => {
        const object = sanitize(kind, raw as unknown as KubeObject);
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
      informer.on('add', (o) => changed('ADDED', o));
      informer.on('update', (o) => changed('MODIFIED', o));
      informer.on('delete', (o) => changed('DELETED', o));
      informer.on('error', (err: unknown) => this.restart(kind, err));
      this.informers.push({ kind, informer });
    }
  }

  /** Starts every informer; `whenSynced` resolves once the client is ready (see `isSynced()`). */
  start(): void {
    for (const { kind } of this.informers) void this.startInformer(kind, 0);
  }

  whenSynced(): Promise<void> {
    return this.synced;
  }

  /**
   * With a kind: whether its cache holds its first LIST. Without: readiness — every core kind synced, and every
   * optional kind either synced or done with its first attempt (failed: unavailable, or being retried).
   */
  isSynced(kind?: KindName): boolean {
    if (kind) return this.syncedKinds.has(kind);
    for (const { kind: k } of this.informers) {
      if (CORE_KINDS.has(k) ? !this.syncedKinds.has(k) : !this.syncedKinds.has(k) && !this.settledKinds.has(k))
        return false;
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
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(this.informers.map(({ informer }) => informer.stop()));
    for (const c of this.openWatches) c.abort();
    this.openWatches.clear();
  }

  private attempts: Partial<Record<KindName, number>> = {};

  private async startInformer(kind: KindName, attempt: number): Promise<void> {
    if (this.stopped) return;
    const entry = this.informers.find((i) => i.kind === kind)!;
    this.attempts[kind] = attempt;
    // start() resolves after the LIST (when needed) and once the watch is open; an error is reported through the
    // `error` callback instead, which schedules the next attempt.
    await entry.informer.start();
    // stop() may have run while this start was under way: the watch it just opened must not outlive the client.
    if (this.stopped) {
      await entry.informer.stop();
      return;
    }
    if (entry.informer.latestResourceVersion()) {
      const was = this.unavailableKinds.get(kind);
      if (was) {
        this.unavailableKinds.delete(kind);
        for (const status of [403, 404]) this.reportedUnavailable.delete(`${kind}:${status}`);
        this.log.info('kind available again', { kind, previousStatus: was.status });
      }
      if (!this.syncedKinds.has(kind)) {
        this.syncedKinds.add(kind);
        this.log.info('cache synced', { kind, objects: this.caches[kind].size });
      }
      this.settle(kind);
    }
  }

  /**
   * After a list or watch error: start again with exponential back-off (200 ms doubling up to 30 s). An optional kind
   * answered 403 or 404 is marked unavailable and retried slower (up to 5 min), reported once at warn level.
   */
  private restart(kind: KindName, err: unknown): void {
    if (this.stopped) return;
    const attempt = (this.attempts[kind] ?? 0) + 1;
    this.attempts[kind] = attempt;
    this.restarts[kind] = (this.restarts[kind] ?? 0) + 1;
    const e = toKubeError(err);
    const message = String((e as Error)?.message ?? e);
    const refused =
      !CORE_KINDS.has(kind) && e instanceof KubeApiError && (e.statusCode === 403 || e.statusCode === 404)
        ? (e.statusCode as 403 | 404)
        : undefined;
    // A refused optional kind answers errors rather than its cache: not a disconnection.
    if (refused) this.downSince.delete(kind);
    else if (this.syncedKinds.has(kind) && !this.downSince.has(kind)) this.downSince.set(kind, Date.now());
    const delay = Math.min(refused ? 300_000 : 30_000, 200 * 2 ** Math.min(attempt - 1, refused ? 11 : 8));
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
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.startInformer(kind, attempt).then(() => {
        // A start that reached the watch resets the back-off (a kept resourceVersion alone does not: the watch that
        // resumes from it may have failed again, and the retries would stay at 200 ms while the API server is gone).
        const entry = this.informers.find((i) => i.kind === kind)!;
        if (entry.informer.latestResourceVersion() && !this.downSince.has(kind)) this.attempts[kind] = 0;
      });
    }, delay);
    this.timers.add(t);
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
    const controller = await this.watcher.watch(
      path,
      query,
      (phase: string, obj: unknown) => {
        if (ended) return;
        const o = obj as KubeObject & { code?: number; message?: string };
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
          onEvent({ type: phase, object: sanitize(kind, o) });
      },
      (err: unknown) => finish(err ? toKubeError(err) : undefined),
    );
    return () => {
      ended = true;
      controller.abort();
    };
  }

  /** The informers' LIST: raw JSON (no client-side classes, so list and watch objects look alike), in chunks. */
  private async listAll(
    kind: KindName,
  ): Promise<{ apiVersion: string; kind: string; metadata: { resourceVersion: string }; items: KubeObject[] }> {
    if (this.stopped) throw new Error('the Kubernetes client is stopped');
    this.relisting.add(kind);
    const { items, resourceVersion } = await this.listChunked(KINDS[kind].path, KINDS[kind].apiVersion, kind);
    this.caches[kind].seen(resourceVersion);
    this.listVersions[kind] = resourceVersion;
    return { apiVersion: KINDS[kind].apiVersion, kind: `${kind}List`, metadata: { resourceVersion }, items };
  }

  /** A whole LIST of a path, in chunks of `listChunk` (limit/continue), items given their apiVersion and kind. */
  private async listChunked(
    path: string,
    apiVersion: string,
    kind: string,
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const items: KubeObject[] = [];
    let cont = '';
    let resourceVersion = '';
    do {
      const q = new URLSearchParams({ limit: String(this.listChunk) });
      if (cont) q.set('continue', cont);
      const page = (await this.rawRequest('GET', `${path}?${q}`)) as {
        items?: KubeObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      for (const o of page.items ?? []) {
        o.apiVersion ??= apiVersion;
        o.kind ??= kind;
        items.push(kind in KINDS ? sanitize(kind as KindName, o) : o);
      }
      cont = page.metadata?.continue ?? '';
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    return { items, resourceVersion };
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
      const { items, resourceVersion } = await this.listChunked(path, apiVersion, kind);
      cache.seen(resourceVersion);
      return { apiVersion, kind: `${kind}List`, metadata: { resourceVersion }, items };
    };
    const informer = new k8s.ListWatch<k8s.KubernetesObject>(
      path,
      this.watcher,
      list as unknown as () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
      false,
    );
    informer.on('add', (o) => cache.upsert(o as unknown as KubeObject));
    informer.on('update', (o) => cache.upsert(o as unknown as KubeObject));
    informer.on('delete', (o) => cache.delete(o as unknown as KubeObject));
    return informer;
  }

  /** A JSON request to the API server with the kubeconfig's credentials. */
  async rawRequest(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    // Callers build paths from checked, encoded segments; a dot segment here (raw or encoded) means one slipped
    // through, and URL normalisation would turn it into another object's path.
    const segments = path.split('?')[0].split('/');
    if (
      segments.some(
        (seg) => seg.toLowerCase().replaceAll('%2e', '.') === '.' || seg.toLowerCase().replaceAll('%2e', '.') === '..',
      )
    ) {
      throw new UnsafeRequestPathError('name', path, ['a request path may not hold a "." or ".." segment']);
    }
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new KubeUnreachableError('no current cluster in the kubeconfig');
    const url = new URL(cluster.server + path);
    const opts: RequestOptions & { headers: Record<string, string> } = {
      method,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      headers: { Accept: 'application/json' },
    };
    await this.kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    if (payload !== undefined) {
      opts.headers['Content-Type'] = contentType;
      opts.headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new KubeUnreachableError(e.message)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parsed);
          const s = (parsed && typeof parsed === 'object' ? parsed : {}) as {
            reason?: string;
            message?: string;
            details?: KubeStatusDetails;
          };
          reject(
            new KubeApiError(
              status,
              s.reason ?? '',
              s.message ?? (typeof parsed === 'string' && parsed ? parsed : `HTTP ${status}`),
              s.details,
            ),
          );
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
      req.on('error', (e) => reject(new KubeUnreachableError(e.message)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  // ---------------------------------------------------------------- writes

  /** Creates any object (KubernetesObjectApi: the path comes from discovery). */
  async create(obj: KubeObject): Promise<KubeObject> {
    return wrap(() =>
      this.objects.create(obj as unknown as k8s.KubernetesObject, undefined, undefined, FIELD_MANAGER),
    ) as unknown as Promise<KubeObject>;
  }

  /** A JSON merge patch of any object. */
  /** A JSON patch (RFC 6902) of an object of a cached kind. */
  async jsonPatch(kind: KindName, namespace: string | undefined, name: string, ops: unknown[]): Promise<KubeObject> {
    const path = `${objectPath(kind, namespace || undefined, name)}?fieldManager=${FIELD_MANAGER}`;
    return (await this.rawRequest('PATCH', path, ops, 'application/json-patch+json')) as KubeObject;
  }

  async mergePatch(obj: KubeObject): Promise<KubeObject> {
    return wrap(() =>
      this.objects.patch(
        obj as unknown as k8s.KubernetesObject,
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        k8s.PatchStrategy.MergePatch,
      ),
    ) as unknown as Promise<KubeObject>;
  }

  /**
   * Server-side apply with field manager "kubegraph". Fields another manager owns are a 409 Conflict unless `force`
   * (as `kubectl apply --server-side [--force-conflicts]`); `dryRun` is the server's dryRun=All (checked, not stored).
   */
  async apply(obj: KubeObject, opts: { force?: boolean; dryRun?: boolean } = {}): Promise<KubeObject> {
    return wrap(() =>
      this.objects.patch(
        obj as unknown as k8s.KubernetesObject,
        undefined,
        opts.dryRun ? 'All' : undefined,
        FIELD_MANAGER,
        Boolean(opts.force),
        k8s.PatchStrategy.ServerSideApply,
      ),
    ) as unknown as Promise<KubeObject>;
  }

  async delete(obj: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  }): Promise<KubeObject | undefined> {
    const res = (await wrap(() =>
      this.objects.delete(obj as unknown as k8s.KubernetesObject),
    )) as unknown as KubeObject;
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
    const cache = this.caches[kind];
    return cache.waitFor(() => {
      const current = cache.get(namespace, name);
      if (opts.gone && !current) return true;
      if (!resourceVersion) return opts.gone ? !current : Boolean(current);
      if (current && rvAtLeast(current.metadata.resourceVersion, resourceVersion)) return true;
      return rvAtLeast(cache.lastResourceVersion, resourceVersion) && isIntegerResourceVersion(resourceVersion);
    }, this.writeWaitMs);
  }
}

/** Turns client-node failures into KubeApiError / KubeUnreachableError. */
async function wrap<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toKubeError(e);
  }
}

export function toKubeError(e: unknown): Error {
  if (e instanceof KubeApiError || e instanceof KubeUnreachableError) return e;
  if (e instanceof k8s.ApiException) {
    let body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // keep the text
      }
    }
    const s = (body && typeof body === 'object' ? body : {}) as {
      reason?: string;
      message?: string;
      details?: KubeStatusDetails;
    };
    return new KubeApiError(
      e.code,
      s.reason ?? '',
      s.message ?? (typeof body === 'string' ? body : e.message),
      s.details,
    );
  }
  // client-node's Watch reports a refused watch request as an Error with the HTTP status in `statusCode`.
  const status = (e as { statusCode?: unknown })?.statusCode;
  if (e instanceof Error && typeof status === 'number') return new KubeApiError(status, '', e.message);
  const err = e as { code?: string; type?: string; message?: string; cause?: { code?: string } };
  const code = err?.code ?? err?.cause?.code;
  if (
    err?.type === 'system' ||
    (code &&
      /^(ECONN|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EPIPE|ECONNRESET|EAI_AGAIN|CERT_|DEPTH_ZERO|UNABLE_TO|SELF_SIGNED)/.test(
        code,
      ))
  ) {
    return new KubeUnreachableError(err.message ?? String(code));
  }
  return e instanceof Error ? e : new Error(String(e));
}
