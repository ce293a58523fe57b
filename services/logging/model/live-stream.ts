// One upstream log stream: a container of one pod (by uid) read with follow=true, shared by every subscriber that
// asked for the same start (tailLines, sinceSeconds, a resume point or the whole log). It reconnects on its own after
// a drop or after the container restarted, from the whole second of its last line, dropping the overlap, so its
// subscribers see one unbroken sequence. It keeps the lines a late subscriber of the same start needs (the last
// tailLines, the last sinceSeconds, or everything since a resume point up to a cap) and ends when the pod is deleted.
import type { Logger } from '../../common/log.js';
import { notFoundError } from '../../common/errors.js';
import { backoffDelay } from '../../common/k8s/informer.js';
import {
  PodLogApiError,
  sinceTimeOf,
  type FollowHandle,
  type PodLogClient,
  type RawLogLine,
} from '../clients/pod-logs.js';
import { advance, keyOfTime, ResumeFilter, type Position } from './live-token.js';

/** Where a stream starts. */
export type StreamStart =
  | { kind: 'tail'; tailLines: number }
  | { kind: 'since'; sinceSeconds: number }
  /** From a whole second (RFC3339): resumed subscribers drop what they already had. */
  | { kind: 'time'; sinceTime: string }
  | { kind: 'all' };

export const startKey = (s: StreamStart): string =>
  s.kind === 'tail'
    ? `tail:${s.tailLines}`
    : s.kind === 'since'
      ? `since:${s.sinceSeconds}`
      : s.kind === 'time'
        ? `time:${s.sinceTime}`
        : 'all';

/** A line as a stream holds it. */
export interface StreamLine extends RawLogLine {
  container: string;
}

export interface StreamListener {
  lines(lines: readonly StreamLine[]): void;
  /** The stream ended for good: `error` says why (the pod was deleted). */
  ended(error: Error): void;
}

export interface StreamIdentity {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
}

/** Lines a stream keeps for late subscribers (more: it takes no more subscribers). */
export const MAX_KEPT_LINES = 10_000;
/**
 * How long a stream of the whole log (or from a resume point) keeps what a late subscriber needs: everything it has
 * read. Subscribers of the same start arrive together (a page opened by many, 50 gateway upstreams resuming after a
 * restart); one much later gets a stream of its own rather than every stream holding its log in memory.
 */
export const JOIN_WINDOW_MS = 60_000;
const RECONNECT = { initialMs: 250, maxMs: 15_000 };
/** After the pod is deleted, how long the stream may still deliver what the API server is sending. */
const DELETE_GRACE_MS = 1_500;

export class ContainerStream {
  private readonly listeners = new Set<StreamListener>();
  /** Lines kept for late subscribers. */
  private kept: StreamLine[] = [];
  /** Whether a new subscriber can still be given everything its start asks for. */
  joinable = true;
  /** The last line received from upstream (reconnects resume after it). */
  private position: Position | undefined;
  /**
   * A stream of the last lines (tailLines, sinceSeconds) that has not received a line yet: when the API server first
   * answered. A retry then asks from there, not again for the last lines (lines written since would be missed).
   */
  private connectedKey: string | undefined;
  private handle: FollowHandle | undefined;
  private closed = false;
  private endedWith: Error | undefined;
  private wake: (() => void) | undefined;
  private attempt = 0;
  /** The container will not run again (pod Succeeded/Failed): reconnect only when woken. */
  private finished = false;
  /** The container's restartCount when the last request went out. */
  private restartsAtConnect: number | undefined;

  constructor(
    readonly id: StreamIdentity,
    readonly start: StreamStart,
    private readonly client: PodLogClient,
    private readonly log: Logger,
    /** Called when new subscribers may no longer join (it ended, or keeps too much to catch one up). */
    private readonly forget: (stream: ContainerStream) => void,
    /** Called once, when the stream has ended for good. */
    private readonly onClosed: (stream: ContainerStream) => void = () => {},
    /** The container's restartCount as the pod watch has it now (undefined: not known). */
    private readonly restarts: () => number | undefined = () => undefined,
  ) {}

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /** Starts reading (once). */
  begin(): void {
    if (this.start.kind === 'all' || this.start.kind === 'time') {
      const t = setTimeout(() => this.stopJoins(), JOIN_WINDOW_MS);
      t.unref();
    }
    void this.run();
  }

  /** New subscribers get a stream of their own from now on; what was kept for them is dropped. */
  private stopJoins(): void {
    if (!this.joinable) return;
    this.joinable = false;
    this.kept = [];
    this.forget(this);
  }

  /**
   * Adds a subscriber; returns the kept lines it should get first (a subscriber with a later resume point filters
   * them itself). Lines received later go to its listener.
   */
  join(listener: StreamListener): StreamLine[] {
    if (this.endedWith) {
      const e = this.endedWith;
      queueMicrotask(() => listener.ended(e));
      return [];
    }
    this.listeners.add(listener);
    if (this.start.kind === 'since') {
      const from = keyOfTime(Date.now() - this.start.sinceSeconds * 1000);
      return this.kept.filter((l) => l.key >= from);
    }
    return [...this.kept];
  }

  leave(listener: StreamListener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.close();
  }

  /** The pod changed: a container restart or a new state may mean new lines to read now. */
  podChanged(finished: boolean): void {
    this.finished = finished;
    this.attempt = 0;
    this.wake?.();
  }

  /** The pod is gone: deliver what is still arriving (briefly), then end with the reason. */
  podDeleted(): void {
    if (this.closed) return;
    const handle = this.handle;
    const end = () => this.end(notFoundError(`pod ${this.id.namespace}/${this.id.pod} was deleted`));
    if (!handle) return end();
    const grace = setTimeout(end, DELETE_GRACE_MS);
    grace.unref();
    void handle.done.then(end, end).finally(() => clearTimeout(grace));
  }

  /** Cuts the upstream connection as a network failure would (tests and operators' "reconnect now"). */
  dropUpstream(): boolean {
    if (!this.handle) return false;
    this.handle.abort();
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle?.abort();
    this.wake?.();
    this.listeners.clear();
    this.kept = [];
    this.forget(this);
    this.onClosed(this);
  }

  private end(error: Error): void {
    if (this.closed) return;
    this.endedWith = error;
    const listeners = [...this.listeners];
    this.close();
    for (const l of listeners) l.ended(error);
  }

  private query(): { tailLines?: number; sinceSeconds?: number; sinceTime?: string } {
    if (this.position) return { sinceTime: sinceTimeOf(this.position.key) };
    if (this.connectedKey) return { sinceTime: sinceTimeOf(this.connectedKey) };
    switch (this.start.kind) {
      case 'tail':
        return { tailLines: this.start.tailLines };
      case 'since':
        return { sinceSeconds: this.start.sinceSeconds };
      case 'time':
        return { sinceTime: this.start.sinceTime };
      default:
        return {};
    }
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      let received = false;
      /**
       * A reader for one request: every request after a line was received reads again from that line's second (with
       * none yet, see connectedKey), so each drops that overlap with a filter of its own.
       */
      const reader = () => {
        const resumed = this.position ?? (this.connectedKey ? { key: this.connectedKey, n: 0 } : undefined);
        const filter = new ResumeFilter(resumed);
        const query = this.query();
        const deliver = (raw: RawLogLine[]) => {
          const fresh = raw.filter((l) => filter.passes(l.key));
          if (fresh.length) {
            received = true;
            this.receive(fresh);
          }
        };
        return { query, deliver };
      };
      try {
        // The container restarted since the last request: the run that ended may have written lines after the last
        // one received (the connection was cut before it ended). Its log first, from the same point.
        const restarts = this.restarts();
        if (
          this.position &&
          restarts !== undefined &&
          this.restartsAtConnect !== undefined &&
          restarts > this.restartsAtConnect
        ) {
          const { query, deliver } = reader();
          // Best effort: without it only the lines of the ended run after the cut are missing.
          const previous = await this.client
            .readLines(this.id.namespace, this.id.pod, { container: this.id.container, previous: true, ...query })
            .catch((): RawLogLine[] => []);
          deliver(previous);
        }
        this.restartsAtConnect = restarts;
        if (this.closed) break;
        const { query, deliver } = reader();
        this.handle = await this.client.follow(
          this.id.namespace,
          this.id.pod,
          { container: this.id.container, ...query },
          deliver,
          () => {
            // The whole log or from a time: asking the same again is right until a line arrives.
            if (!this.position && (this.start.kind === 'tail' || this.start.kind === 'since'))
              this.connectedKey ??= keyOfTime(Date.now());
          },
        );
        if (this.closed) this.handle.abort();
        await this.handle.done;
      } catch (e) {
        if (this.closed) break;
        if (e instanceof PodLogApiError && e.statusCode === 404) {
          // The pod (or its namespace) is gone; the pod watch says so too, but a 404 needs no waiting for it.
          this.end(notFoundError(`pod ${this.id.namespace}/${this.id.pod} was deleted`));
          break;
        }
        // 400: the container is not running yet (ContainerCreating, CrashLoopBackOff with nothing before): waiting.
        if (!(e instanceof PodLogApiError && e.statusCode === 400))
          this.log.warn('live logs: upstream log stream failed; resuming', {
            namespace: this.id.namespace,
            pod: this.id.pod,
            container: this.id.container,
            error: e instanceof Error ? e.message : String(e),
          });
      } finally {
        this.handle = undefined;
      }
      if (this.closed) break;
      if (received) this.attempt = 0;
      await this.pause();
    }
  }

  /** Waits before the next request: back-off, cut short when the pod changes (a container restarted). */
  private pause(): Promise<void> {
    const delay = backoffDelay(++this.attempt, RECONNECT.initialMs, RECONNECT.maxMs);
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      if (!this.finished) timer = setTimeout(done, delay);
      this.wake = done;
    });
  }

  private receive(raw: RawLogLine[]): void {
    const lines: StreamLine[] = raw.map((l) => ({ ...l, container: this.id.container }));
    for (const l of lines) this.position = advance(this.position, l.key);
    this.keep(lines);
    for (const listener of this.listeners) listener.lines(lines);
  }

  private keep(lines: StreamLine[]): void {
    if (!this.joinable) return;
    this.kept.push(...lines);
    if (this.start.kind === 'tail') {
      if (this.kept.length > this.start.tailLines) this.kept = this.kept.slice(-this.start.tailLines);
      return;
    }
    if (this.start.kind === 'since') {
      const from = keyOfTime(Date.now() - this.start.sinceSeconds * 1000);
      let drop = 0;
      while (drop < this.kept.length && this.kept[drop].key < from) drop++;
      if (drop) this.kept = this.kept.slice(drop);
    }
    // A late subscriber could no longer be given all it asks for: it gets a stream of its own.
    if (this.kept.length > MAX_KEPT_LINES) this.stopJoins();
  }
}
