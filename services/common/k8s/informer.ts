// One way to follow a Kubernetes collection: client-node's ListWatch (LIST, then a watch from the LIST's
// resourceVersion, a LIST again after 410 Gone), through a watch wrapper that stop() can end, restarted after list and
// watch errors with exponential back-off. The workloads client runs one per kind, tenancy one for namespaces.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log.js';

type WatchCallback = (phase: string, obj: unknown, watchObj?: unknown) => void;
type WatchQuery = Record<string, string | number | boolean | undefined>;

/** What one user of the StoppableWatch learns about its watch requests. */
export interface WatchHooks {
  /** Before each watch request (a ListWatch sends one after each LIST and after each normal end of a watch). */
  beforeOpen?: () => void;
  /** The API server answered the watch request (and it did not end at once). */
  opened?: () => void;
  /** Applied to each watched object before anything (a ListWatch's own store included) sees it. */
  transform?: (obj: k8s.KubernetesObject) => k8s.KubernetesObject;
}

/**
 * client-node's Watch, made stoppable: a ListWatch re-opens its watch by itself (after a normal close or a 410) and a
 * stop() that lands while a watch request is being opened would leave that watch running; every watch goes through
 * here, so stop() aborts them all, and one that opens after stop() is aborted at once.
 */
export class StoppableWatch {
  private readonly raw: k8s.Watch;
  private readonly open = new Set<AbortController>();
  private stopped = false;

  constructor(kc: k8s.KubeConfig) {
    this.raw = new k8s.Watch(kc);
  }

  async watch(
    path: string,
    query: WatchQuery,
    callback: WatchCallback,
    done: (err: unknown) => void,
    hooks: WatchHooks = {},
  ): Promise<AbortController> {
    hooks.beforeOpen?.();
    // `done` may run before watch() returns (a request that fails at once).
    const state: { ended: boolean; controller?: AbortController } = { ended: false };
    const { transform } = hooks;
    const cb: WatchCallback = transform
      ? (phase, obj, watchObj) =>
          callback(
            phase,
            obj && typeof obj === 'object' && (obj as k8s.KubernetesObject).metadata
              ? transform(obj as k8s.KubernetesObject)
              : obj,
            watchObj,
          )
      : callback;
    state.controller = await this.raw.watch(path, query, cb, (err: unknown) => {
      state.ended = true;
      if (state.controller) this.open.delete(state.controller);
      done(err);
    });
    if (this.stopped) state.controller.abort();
    else if (!state.ended) {
      this.open.add(state.controller);
      hooks.opened?.();
    }
    return state.controller;
  }

  /** A Watch for one ListWatch, with its hooks. */
  with(hooks: WatchHooks): k8s.Watch {
    return {
      watch: (path: string, query: WatchQuery, callback: WatchCallback, done: (err: unknown) => void) =>
        this.watch(path, query, callback, done, hooks),
    } as unknown as k8s.Watch;
  }

  /** Aborts every open watch; any opened later is aborted at once. */
  stop(): void {
    this.stopped = true;
    for (const c of this.open) c.abort();
    this.open.clear();
  }
}

/** A ListWatch of a path through a StoppableWatch, not started: its owner starts and stops it. */
export function listWatch<T extends k8s.KubernetesObject>(
  path: string,
  watch: StoppableWatch,
  list: () => Promise<k8s.KubernetesListObject<T>>,
  hooks: WatchHooks = {},
): k8s.ListWatch<T> {
  return new k8s.ListWatch<T>(path, watch.with(hooks), list, false);
}

/** 2^(attempt-1) times `initialMs`, at most `maxMs` (attempt counts from 1). */
export const backoffDelay = (attempt: number, initialMs: number, maxMs: number): number =>
  Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InformerOptions<T extends k8s.KubernetesObject> {
  path: string;
  /** Shared by the informers of one client, so that its stop() ends them all. */
  watch: StoppableWatch;
  list: () => Promise<k8s.KubernetesListObject<T>>;
  /** Every change, in the order ListWatch applies them (a LIST's differences first, then each watch event). */
  onChange: (type: ChangeType, obj: T) => void;
  /**
   * After every LIST has been applied (the first, after a 410 Gone, after an error that lost the resourceVersion),
   * before the watch that follows it is requested: what happened while the watch was down shows only there.
   */
  onListed?: () => void;
  /** The watch is open again (the informer follows the cluster). */
  onWatching?: () => void;
  /** After each start that reached the watch with a listed state (`first`: the one that made it synced). */
  onStarted?: (first: boolean) => void;
  /**
   * After a list or watch error, before the next attempt: `delayMs` is the back-off's; a number returned replaces
   * it. `attempt` counts from 1 and starts again once a start reaches the watch.
   */
  onError?: (err: unknown, attempt: number, delayMs: number) => number | void;
  transform?: (obj: T) => T;
  /** The back-off after errors: initialMs doubling up to maxMs (default 200 ms to 30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
}

/** An `onError` that logs each restart as a warning: `message`, `fields`, the attempt, its delay and the error. */
export function warnOnRestart(
  log: Logger,
  message: string,
  fields: Record<string, unknown> = {},
): (err: unknown, attempt: number, delayMs: number) => void {
  return (err, attempt, delayMs) =>
    log.warn(message, { ...fields, attempt, delayMs, error: String((err as Error)?.message ?? err) });
}

/** A ListWatch restarted after errors with back-off, with a synced promise and hooks for relists and restarts. */
export class Informer<T extends k8s.KubernetesObject> {
  private readonly lw: k8s.ListWatch<T>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private attempt = 0;
  private restartCount = 0;
  private listed = false;
  private watching = false;
  private stopped = false;
  private hasSynced = false;
  private resolveSynced!: () => void;
  /** Resolves once the first start has listed and reached the watch. */
  readonly synced = new Promise<void>((resolve) => (this.resolveSynced = resolve));

  constructor(private readonly opts: InformerOptions<T>) {
    const list = async () => {
      const l = await opts.list();
      this.listed = true;
      return l;
    };
    this.lw = listWatch(opts.path, opts.watch, list, {
      beforeOpen: () => {
        if (!this.listed) return;
        this.listed = false;
        opts.onListed?.();
      },
      opened: () => {
        this.watching = true;
        opts.onWatching?.();
      },
      transform: opts.transform as WatchHooks['transform'],
    });
    this.lw.on('add', (o) => opts.onChange('ADDED', o));
    this.lw.on('update', (o) => opts.onChange('MODIFIED', o));
    this.lw.on('delete', (o) => opts.onChange('DELETED', o));
    this.lw.on('error', (err: unknown) => this.failed(err));
  }

  /**
   * Starts following the collection. Resolves once the first attempt has ended: listed and watching, or failed (the
   * next attempt is then scheduled; `synced` says when one succeeded).
   */
  start(): Promise<void> {
    this.stopped = false;
    return this.run(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.lw.stop();
  }

  isSynced(): boolean {
    return this.hasSynced;
  }

  /** Restarts after errors so far. */
  get restarts(): number {
    return this.restartCount;
  }

  latestResourceVersion(): string {
    return this.lw.latestResourceVersion();
  }

  private async run(attempt: number): Promise<void> {
    if (this.stopped) return;
    this.attempt = attempt;
    // start() resolves after the LIST (when needed) and once the watch is open; an error is reported through the
    // `error` callback instead, which schedules the next attempt.
    await this.lw.start();
    // stop() may have run while this start was under way: the watch it just opened must not outlive the informer.
    if (this.stopped) {
      await this.lw.stop();
      return;
    }
    if (!this.lw.latestResourceVersion()) return;
    // A start that reached the watch resets the back-off (a kept resourceVersion alone does not: the watch that
    // resumes from it may have failed again, and the retries would stay at their shortest while the API server is gone).
    if (this.watching) this.attempt = 0;
    const first = !this.hasSynced;
    if (first) {
      this.hasSynced = true;
      this.resolveSynced();
    }
    this.opts.onStarted?.(first);
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    this.watching = false;
    const attempt = ++this.attempt;
    this.restartCount++;
    const delay = backoffDelay(attempt, this.opts.backoff?.initialMs ?? 200, this.opts.backoff?.maxMs ?? 30_000);
    const chosen = this.opts.onError?.(err, attempt, delay);
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        void this.run(attempt);
      },
      typeof chosen === 'number' ? chosen : delay,
    );
    this.timers.add(t);
  }
}
