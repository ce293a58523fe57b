// The objects of CustomResourceDefinitions, served from informer caches like every other kind, but started on
// demand: a cluster's CRDs are open-ended (KubeSphere alone installs dozens), so a resource's list+watch starts on its
// first read, is kept while it is read, and stops after `idleMs` without reads. At most `max` run at once; the least
// recently read one makes room. A watch that fails drops its cache, so the next read lists afresh instead of
// answering from a cache that stopped following the cluster.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../common/log.js';
import { apiVersionProblems, isResourceName } from '../../common/k8s/names.js';
import { byLabel, byLabelKey, byNamespace, IndexedCache, type CacheReader } from './indexed-cache.js';
import { KubeApiError, KubeUnreachableError } from './kube-rest.js';

/** One served version of a custom resource. */
export interface CustomResource {
  group: string;
  version: string;
  plural: string;
  /** The kind of its objects (filled into listed items, which the API server leaves without it). */
  kind: string;
}

export interface CustomObjectOptions {
  /** A resource not read for this long loses its informer. */
  idleMs?: number;
  /** Most informers running at once. */
  max?: number;
  /** How long a first read waits for the LIST before failing as unavailable. */
  syncTimeoutMs?: number;
}

/** What the caches need from the Kubernetes client: a list+watch of a path into a cache. */
export interface ListWatchSource {
  listWatchInto(
    path: string,
    apiVersion: string,
    kind: string,
    cache: IndexedCache,
  ): k8s.ListWatch<k8s.KubernetesObject>;
}

interface Running {
  resource: CustomResource;
  cache: IndexedCache;
  informer: k8s.ListWatch<k8s.KubernetesObject>;
  synced: Promise<void>;
  lastRead: number;
}

/**
 * The collection path of a custom resource, from the CRD as the API server serves it: group, version and plural are
 * checked as Kubernetes names and encoded, so no CRD field can make the path address anything else.
 */
export function collectionPath(r: CustomResource): string {
  const problems = [
    ...apiVersionProblems(`${r.group}/${r.version}`),
    ...(isResourceName(r.plural) ? [] : [`plural ${JSON.stringify(r.plural)} is not a resource name`]),
  ];
  if (!r.group || problems.length)
    throw new KubeApiError(
      404,
      'NotFound',
      `custom resource ${JSON.stringify(`${r.group}/${r.version}/${r.plural}`)} is not servable: ${problems.join('; ') || 'no group'}`,
    );
  return `/apis/${encodeURIComponent(r.group)}/${encodeURIComponent(r.version)}/${encodeURIComponent(r.plural)}`;
}

export class CustomObjectCaches {
  private readonly running = new Map<string, Running>();
  private readonly idleMs: number;
  private readonly max: number;
  private readonly syncTimeoutMs: number;
  private readonly sweeper: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly source: ListWatchSource,
    private readonly log: Logger,
    opts: CustomObjectOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 10 * 60_000;
    this.max = opts.max ?? 50;
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 10_000;
    this.sweeper = setInterval(() => this.stopIdle(), Math.max(1000, Math.min(60_000, this.idleMs / 2)));
    this.sweeper.unref();
  }

  /** Informers running now (for metrics and tests). */
  get size(): number {
    return this.running.size;
  }

  /** The synced cache of a resource's objects, its informer started when needed. */
  async cache(resource: CustomResource): Promise<CacheReader> {
    if (this.stopped) throw new KubeUnreachableError('the Kubernetes client is stopped');
    const key = `${resource.group}/${resource.version}/${resource.plural}`;
    let run = this.running.get(key);
    if (!run) run = this.start(key, resource);
    run.lastRead = Date.now();
    await run.synced;
    return run.cache;
  }

  private start(key: string, resource: CustomResource): Running {
    if (this.running.size >= this.max) {
      const oldest = [...this.running.entries()].sort((a, b) => a[1].lastRead - b[1].lastRead)[0];
      this.drop(oldest[0], 'making room');
    }
    const cache = new IndexedCache(key, { namespace: byNamespace, label: byLabel, labelKey: byLabelKey });
    const apiVersion = `${resource.group}/${resource.version}`;
    const informer = this.source.listWatchInto(collectionPath(resource), apiVersion, resource.kind, cache);
    const synced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new KubeUnreachableError(`listing ${key} took longer than ${this.syncTimeoutMs} ms`)),
        this.syncTimeoutMs,
      );
      informer.on('error', (err: unknown) => {
        clearTimeout(timer);
        reject(err);
        if (this.running.get(key)?.informer === informer)
          this.drop(key, `watch failed: ${String((err as Error)?.message ?? err)}`);
      });
      void informer.start().then(() => {
        if (informer.latestResourceVersion()) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // A failed first read must not leave a rejected promise nobody awaits, nor a dead entry.
    synced.catch(() => {
      if (this.running.get(key)?.informer === informer) this.drop(key, 'first LIST failed');
    });
    const run: Running = { resource, cache, informer, synced, lastRead: Date.now() };
    this.running.set(key, run);
    this.log.info('custom resource informer started', { resource: key });
    return run;
  }

  private drop(key: string, why: string): void {
    const run = this.running.get(key);
    if (!run) return;
    this.running.delete(key);
    void run.informer.stop();
    this.log.info('custom resource informer stopped', { resource: key, why });
  }

  private stopIdle(): void {
    const now = Date.now();
    for (const [key, run] of [...this.running]) if (now - run.lastRead > this.idleMs) this.drop(key, 'idle');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.running.values()].map((r) => r.informer.stop()));
    this.running.clear();
  }
}
