// The Kubernetes side of live logs: GET pods/<name>/log (streamed with follow=true, or read once) and the pods and
// owners of a namespace followed through services/common/k8s/informer.ts. Requests carry the kubeconfig's
// credentials through client-node's KubeConfig.applyToHTTPSOptions, as the workloads client's raw requests do.
//
// Not client-node's Log class: it drops tailLines=0 (falsy), throws away the Status body of a 400 (whose message is
// the only useful part: "container x is not valid for pod y"), and pipes the body so that a connection cut mid-stream
// never reaches the caller.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type ClientRequest, type RequestOptions } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../common/log.js';
import { Informer, StoppableWatch, warnOnRestart, type ChangeType } from '../../common/k8s/informer.js';

/** PodLogOptions as sent to the API server (container always named: the caller resolved the default). */
export interface PodLogQuery {
  /** Unset: the API server's default (the only container; a 400 naming the choices otherwise). */
  container?: string;
  follow?: boolean;
  timestamps?: boolean;
  previous?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  /** RFC3339; the API server keeps whole seconds (metav1.Time), so callers de-duplicate the overlap. */
  sinceTime?: string;
  limitBytes?: number;
}

/** The API server answered with an error status (its Status message kept). */
export class PodLogApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The API server could not be reached, or the connection broke. */
export class PodLogUnreachableError extends Error {}

/** One line of a `timestamps=true` log. */
export interface RawLogLine {
  /** As the API server printed it (RFC3339Nano). */
  timestamp: string;
  /** Sortable form: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (UTC, nine digits). */
  key: string;
  message: string;
}

const TS_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An RFC3339(Nano) time as a string that sorts as the time does (UTC, nine fractional digits); undefined when it is
 * not one. Go's RFC3339Nano trims trailing zeros, so the printed forms do not sort by themselves.
 */
export function timestampKey(ts: string): string | undefined {
  const m = TS_RE.exec(ts);
  if (!m) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  if (m[3] === 'Z') return Number.isNaN(Date.parse(`${m[1]}Z`)) ? undefined : `${m[1]}.${frac}Z`;
  const t = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(t)) return undefined;
  return `${new Date(t).toISOString().slice(0, 19)}.${frac}Z`;
}

/** The whole second a key falls in, as an RFC3339 sinceTime (the API server's precision). */
export const sinceTimeOf = (key: string): string => `${key.slice(0, 19)}Z`;

/**
 * Splits a `timestamps=true` log body into lines as it arrives: a line may be split across chunks (and a UTF-8
 * character across two), and only complete lines are handed out; the last, unterminated one at the end of the body.
 */
export class TimestampedLineParser {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private lastKey = '';
  private lastTimestamp = '';

  push(chunk: Buffer | string): RawLogLine[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    return parts.map((p) => this.parse(p));
  }

  /** The rest of the body (an unterminated last line), at its end. */
  end(): RawLogLine[] {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    return rest ? [this.parse(rest)] : [];
  }

  private parse(raw: string): RawLogLine {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const space = line.indexOf(' ');
    const head = space < 0 ? line : line.slice(0, space);
    const key = timestampKey(head);
    if (key === undefined) {
      // Not a timestamped line (never from a kubelet asked for timestamps): kept, at the time of the line before.
      return { timestamp: this.lastTimestamp, key: this.lastKey, message: line };
    }
    this.lastKey = key;
    this.lastTimestamp = head;
    return { timestamp: head, key, message: space < 0 ? '' : line.slice(space + 1) };
  }
}

export interface FollowHandle {
  /** Resolves when the API server ends the stream; rejects with PodLogApiError / PodLogUnreachableError. */
  readonly done: Promise<void>;
  /** Ends the request (done then resolves). */
  abort(): void;
}

const SERVICE_PATH = (namespace: string, pod: string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`;

function queryString(q: PodLogQuery): string {
  const p = new URLSearchParams();
  if (q.container !== undefined) p.set('container', q.container);
  if (q.follow) p.set('follow', 'true');
  if (q.timestamps) p.set('timestamps', 'true');
  if (q.previous) p.set('previous', 'true');
  if (q.tailLines !== undefined) p.set('tailLines', String(q.tailLines));
  if (q.sinceSeconds !== undefined) p.set('sinceSeconds', String(q.sinceSeconds));
  if (q.sinceTime !== undefined) p.set('sinceTime', q.sinceTime);
  if (q.limitBytes !== undefined) p.set('limitBytes', String(q.limitBytes));
  return p.toString();
}

/** A Status body's message and reason (anything else: the text itself). */
function statusError(code: number, body: string): PodLogApiError {
  try {
    const s = JSON.parse(body) as { message?: string; reason?: string };
    return new PodLogApiError(code, s.reason ?? '', s.message ?? `HTTP ${code}`);
  } catch {
    return new PodLogApiError(code, '', body.trim() || `HTTP ${code}`);
  }
}

/** A network error's code (ECONNREFUSED, a TLS code) or "timed out", never the address. */
function unreachable(e: Error): PodLogUnreachableError {
  const code = (e as { code?: string }).code;
  return new PodLogUnreachableError(code ?? (/timed? ?out/i.test(e.message) ? 'timed out' : 'connection failed'));
}

export class PodLogClient {
  private readonly core: k8s.CoreV1Api;
  /** Upstream log requests started (follow or read), for metrics and tests. */
  requests = 0;

  constructor(private readonly kc: k8s.KubeConfig) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  private async open(
    namespace: string,
    pod: string,
    q: PodLogQuery,
  ): Promise<{ send: typeof httpRequest; opts: RequestOptions }> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new PodLogUnreachableError('no current cluster in the kubeconfig');
    const url = new URL(`${cluster.server.replace(/\/+$/, '')}${SERVICE_PATH(namespace, pod)}?${queryString(q)}`);
    const opts: RequestOptions & { headers: Record<string, string> } = {
      method: 'GET',
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      headers: { Accept: 'text/plain, application/json' },
    };
    await this.kc.applyToHTTPSOptions(opts);
    this.requests++;
    return { send: url.protocol === 'https:' ? (httpsRequest as typeof httpRequest) : httpRequest, opts };
  }

  /**
   * Follows a container's log (follow=true, timestamps=true): `onLines` gets each batch of complete lines as it
   * arrives. Resolves when the API server ends it (the container stopped, or the connection was closed cleanly).
   */
  async follow(
    namespace: string,
    pod: string,
    q: Omit<PodLogQuery, 'follow' | 'timestamps'>,
    onLines: (lines: RawLogLine[]) => void,
    /** The API server accepted the request (200): the log is being streamed from now on. */
    onOpen: () => void = () => {},
  ): Promise<FollowHandle> {
    const { send, opts } = await this.open(namespace, pod, { ...q, follow: true, timestamps: true });
    let req: ClientRequest | undefined;
    let aborted = false;
    const done = new Promise<void>((resolve, reject) => {
      req = send(opts, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(statusError(status, Buffer.concat(chunks).toString('utf8'))));
          res.on('error', (e) => reject(unreachable(e)));
          return;
        }
        onOpen();
        const parser = new TimestampedLineParser();
        res.on('data', (c: Buffer) => {
          const lines = parser.push(c);
          if (lines.length) onLines(lines);
        });
        // A body cut short (the connection reset) is an error: the caller resumes; a clean end means the log ended.
        res.on('error', (e) => (aborted ? resolve() : reject(unreachable(e))));
        res.on('close', () => {
          if (aborted) return resolve();
          if (!res.complete) return reject(new PodLogUnreachableError('the log stream was cut'));
          const rest = parser.end();
          if (rest.length) onLines(rest);
          resolve();
        });
      });
      req.on('error', (e) => (aborted ? resolve() : reject(unreachable(e))));
      req.end();
    });
    return {
      done,
      abort: () => {
        aborted = true;
        req?.destroy();
      },
    };
  }

  /** One read of a container's log (no follow), as text. */
  async read(namespace: string, pod: string, q: Omit<PodLogQuery, 'follow'>): Promise<string> {
    const { send, opts } = await this.open(namespace, pod, q);
    return new Promise<string>((resolve, reject) => {
      const req = send(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(unreachable(e)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(text);
          else reject(statusError(status, text));
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
      req.on('error', (e) => reject(unreachable(e)));
      req.end();
    });
  }

  /** One read of a container's log with timestamps (no follow), as lines. */
  async readLines(
    namespace: string,
    pod: string,
    q: Omit<PodLogQuery, 'follow' | 'timestamps'>,
  ): Promise<RawLogLine[]> {
    const text = await this.read(namespace, pod, { ...q, timestamps: true });
    const parser = new TimestampedLineParser();
    return [...parser.push(text), ...parser.end()];
  }

  /** The pod as the API server has it now; undefined when there is none. */
  async readPod(namespace: string, name: string): Promise<k8s.V1Pod | undefined> {
    try {
      return await this.core.readNamespacedPod({ namespace, name });
    } catch (e) {
      if (e instanceof k8s.ApiException) {
        if (e.code === 404) return undefined;
        let message = `HTTP ${e.code}`;
        try {
          message = (JSON.parse(String(e.body)) as { message?: string }).message ?? message;
        } catch {
          // keep the status
        }
        throw new PodLogApiError(e.code, '', message);
      }
      throw unreachable(e as Error);
    }
  }
}

// ------------------------------------------------------------------ what a namespace holds

/** The kinds live logs follow in a namespace: pods, and the owners between a workload and its pods. */
export type WatchedKind = 'pods' | 'replicasets' | 'jobs' | 'deployments' | 'statefulsets' | 'daemonsets' | 'cronjobs';

const KIND_PATHS: Record<WatchedKind, (ns: string) => string> = {
  pods: (ns) => `/api/v1/namespaces/${ns}/pods`,
  replicasets: (ns) => `/apis/apps/v1/namespaces/${ns}/replicasets`,
  deployments: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  statefulsets: (ns) => `/apis/apps/v1/namespaces/${ns}/statefulsets`,
  daemonsets: (ns) => `/apis/apps/v1/namespaces/${ns}/daemonsets`,
  jobs: (ns) => `/apis/batch/v1/namespaces/${ns}/jobs`,
  cronjobs: (ns) => `/apis/batch/v1/namespaces/${ns}/cronjobs`,
};

export type CollectionListener = (type: ChangeType, obj: k8s.KubernetesObject) => void;

/** One kind in one namespace, followed while someone needs it: objects by name, and listeners for changes. */
export class WatchedCollection {
  readonly objects = new Map<string, k8s.KubernetesObject>();
  private readonly listeners = new Set<CollectionListener>();
  private readonly informer: Informer<k8s.KubernetesObject>;
  users = 0;

  constructor(
    private readonly api: k8s.KubernetesObjectApi,
    watch: StoppableWatch,
    readonly namespace: string,
    readonly kind: WatchedKind,
    log: Logger,
  ) {
    const path = KIND_PATHS[kind](encodeURIComponent(namespace));
    const [apiVersion, k8sKind] = API_KINDS[kind];
    this.informer = new Informer<k8s.KubernetesObject>({
      path,
      watch,
      list: () => api.list(apiVersion, k8sKind, namespace) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
      onChange: (type, obj) => {
        const name = obj.metadata?.name;
        if (!name) return;
        if (type === 'DELETED') {
          if (this.objects.get(name)?.metadata?.uid === obj.metadata?.uid) this.objects.delete(name);
        } else this.objects.set(name, obj);
        for (const l of this.listeners) l(type, obj);
      },
      onError: warnOnRestart(log, 'live logs: watch failed; restarting', { namespace, kind }),
      backoff: { initialMs: 250, maxMs: 10_000 },
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }
  get synced(): Promise<void> {
    return this.informer.synced;
  }
  isSynced(): boolean {
    return this.informer.isSynced();
  }
  stop(): Promise<void> {
    return this.informer.stop();
  }
  listen(l: CollectionListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  get(name: string): k8s.KubernetesObject | undefined {
    return this.objects.get(name);
  }
  list(): k8s.KubernetesObject[] {
    return [...this.objects.values()];
  }
}

const API_KINDS: Record<WatchedKind, [string, string]> = {
  pods: ['v1', 'Pod'],
  replicasets: ['apps/v1', 'ReplicaSet'],
  deployments: ['apps/v1', 'Deployment'],
  statefulsets: ['apps/v1', 'StatefulSet'],
  daemonsets: ['apps/v1', 'DaemonSet'],
  jobs: ['batch/v1', 'Job'],
  cronjobs: ['batch/v1', 'CronJob'],
};

/**
 * Watches per (namespace, kind), shared and reference counted: acquire() starts one (or reuses it), the release it
 * returns stops it when its last user leaves.
 */
export class NamespaceWatches {
  private readonly collections = new Map<string, WatchedCollection>();
  private readonly watch: StoppableWatch;
  private readonly api: k8s.KubernetesObjectApi;

  constructor(
    kc: k8s.KubeConfig,
    private readonly log: Logger,
  ) {
    this.watch = new StoppableWatch(kc);
    this.api = k8s.KubernetesObjectApi.makeApiClient(kc);
  }

  /** The collection, synced (its first LIST applied); throws when the first LIST fails. */
  async acquire(namespace: string, kind: WatchedKind): Promise<{ collection: WatchedCollection; release: () => void }> {
    const key = `${namespace}/${kind}`;
    let c = this.collections.get(key);
    if (!c) {
      c = new WatchedCollection(this.api, this.watch, namespace, kind, this.log);
      this.collections.set(key, c);
      void c.start();
    }
    c.users++;
    const collection = c;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--collection.users > 0) return;
      if (this.collections.get(key) === collection) this.collections.delete(key);
      void collection.stop();
    };
    try {
      await Promise.race([
        collection.synced,
        new Promise<never>((_, reject) => {
          const t = setTimeout(
            () => reject(new PodLogUnreachableError(`the ${kind} of namespace ${namespace} could not be listed`)),
            15_000,
          );
          t.unref();
          void collection.synced.then(() => clearTimeout(t));
        }),
      ]);
    } catch (e) {
      release();
      throw e;
    }
    return { collection, release };
  }

  /** Open collections (for tests and metrics). */
  size(): number {
    return this.collections.size;
  }

  async close(): Promise<void> {
    const all = [...this.collections.values()];
    this.collections.clear();
    await Promise.all(all.map((c) => c.stop()));
    this.watch.stop();
  }
}
