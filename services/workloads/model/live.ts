// Live changes for subscriptions: one change feed per kind, fed by that kind's informer cache (so one watch on the API
// server serves every subscriber), and per-subscription streams that filter it and resume it from a resumeToken: from
// the feed's history, or through a watch of their own on the API server for a token older than the history. A token
// older than what the API server keeps too (410 Gone) ends the subscription with RESUME_EXPIRED: the client lists
// again. A gap is never filled silently.
//
// Tokens are resourceVersions. Kubernetes calls them opaque, but every API server (etcd's revision) and the sandbox
// issue increasing integers, and informers everywhere rely on that to order a kind's events; a token that is not an
// integer is refused. Within one kind the watch delivers events in increasing resourceVersion order.
import { resumeExpired } from '../../common/errors.js';
import { resourceVersionValue } from '../../common/k8s/resource-version.js';
import { visibleNamespaces, type Viewer } from '../../common/authz.js';
import type { StoredObject } from '../../common/k8s/object.js';
import { keyOf, type KindName } from '../clients/kinds.js';
import { KubeApiError } from '../clients/kube-rest.js';
import type { CacheChange, KubeClient } from '../clients/kube.js';
import { asyncQueue, type AsyncQueue } from '../../common/async-queue.js';
import { indexAfter } from '../../common/sorted.js';
import { versionForKind } from './resume-token.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What a subscriber receives. */
export interface LiveEvent {
  type: ChangeType;
  object: StoredObject;
  /** The resourceVersion this event brings the subscriber to; pass it back to resume after it. */
  resumeToken: string;
  /** Always false: a token too old to replay ends the stream with RESUME_EXPIRED instead of a snapshot. */
  snapshot: boolean;
  /** namespace/name: events of one object share it. */
  key: string;
  /** For a MODIFIED: the object before, when known (so that a change nobody can see is recognised as such). */
  previous?: StoredObject;
}

/** What a subscription selects. Selectors are also sent to the API server when a resume needs its own watch. */
export interface LiveFilter {
  /** Exactly one namespace (sent to the API server on catch-up). */
  namespace?: string;
  /** Any of these namespaces (a workspace's); undefined: no restriction. */
  namespaces?: ReadonlySet<string>;
  /** The selectors as given, for the API server. */
  labelSelector?: string;
  fieldSelector?: string;
  /** The same selectors evaluated here. */
  matches: (o: StoredObject) => boolean;
}

interface HistoryEntry {
  type: ChangeType;
  object: StoredObject;
  previous?: StoredObject;
  token: bigint;
}

export interface LiveOptions {
  /** Watch events kept per kind for replay (older tokens resume through the API server, or get RESUME_EXPIRED). */
  historySize?: number;
  /** Events a subscriber may have waiting before it is ended (the gateway then resumes it from its last token). */
  maxPending?: number;
}

export const LIVE_DEFAULTS = { historySize: 20_000, maxPending: 10_000 };

interface FeedReader {
  /** A new history entry. */
  appended(): void;
  /** A relist's events (not history: delivered at once) and its end. */
  resync(change: CacheChange): void;
}

/** The recent watch events of one kind, in order, and who is reading them. */
export class ChangeFeed {
  readonly history: HistoryEntry[] = [];
  /** History covers every watch event after this token (the last LIST's resourceVersion, or the last trimmed event). */
  start: bigint | undefined;
  private readonly readers = new Set<FeedReader>();

  constructor(
    readonly kube: KubeClient,
    readonly kind: KindName,
    private readonly historySize: number,
  ) {
    kube.onCacheChange(kind, (c) => this.apply(c));
    this.start = resourceVersionValue(kube.listVersion(kind));
  }

  get readerCount(): number {
    return this.readers.size;
  }

  /** The newest token the feed has seen. */
  get last(): bigint | undefined {
    return this.history.length ? this.history[this.history.length - 1].token : this.start;
  }

  attach(r: FeedReader): () => void {
    this.readers.add(r);
    return () => this.readers.delete(r);
  }

  private apply(c: CacheChange): void {
    if (c.type === 'SYNCED') {
      this.history.length = 0;
      this.start = resourceVersionValue(c.token);
      for (const r of this.readers) r.resync(c);
      return;
    }
    if (c.resync) {
      for (const r of this.readers) r.resync(c);
      return;
    }
    const token = resourceVersionValue(c.token);
    if (token === undefined) return;
    this.history.push({ type: c.type, object: c.object, previous: c.previous, token });
    // Readers first: a live reader has then read the newest entry, so trimming never moves the history past it.
    for (const r of this.readers) r.appended();
    if (this.history.length > this.historySize) {
      const keep = Math.max(1, Math.floor(this.historySize * 0.9));
      const dropped = this.history.splice(0, this.history.length - keep);
      this.start = dropped[dropped.length - 1].token;
    }
  }
}

/** How a change looks to a subscriber with a filter: objects entering or leaving it are ADDED or DELETED for it. */
export function viewOfChange(
  type: ChangeType,
  object: StoredObject,
  previous: StoredObject | undefined,
  matches: (o: StoredObject) => boolean,
): ChangeType | undefined {
  if (type === 'ADDED') return matches(object) ? 'ADDED' : undefined;
  if (type === 'DELETED')
    return matches(object) || (previous !== undefined && matches(previous)) ? 'DELETED' : undefined;
  const now = matches(object);
  const before = previous !== undefined && matches(previous);
  if (now && before) return 'MODIFIED';
  if (now) return 'ADDED';
  if (before) return 'DELETED';
  return undefined;
}

/**
 * One subscriber's stream. Live events are read from the feed's history by token, so a replay from the history and
 * the live tail are one sequence with no gap and no duplicate; a resume from before the history first catches up
 * through a watch of its own on the API server.
 */
class LiveStream implements AsyncIterableIterator<LiveEvent> {
  /** What the subscriber has still to read; ending it (by a failure, an overflow or return()) detaches the stream. */
  private readonly queue: AsyncQueue<LiveEvent>;
  private cursor: bigint | undefined;
  private mode: 'live' | 'catching-up' = 'live';
  private detach: () => void = () => {};
  private stopCatchUp: (() => void) | undefined;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly filter: LiveFilter,
    private readonly visible: (o: StoredObject) => boolean,
    maxPending: number,
    resumeFrom: bigint | undefined,
  ) {
    this.queue = asyncQueue<LiveEvent>({
      maxPending,
      onOverflow: () =>
        new Error(`the subscriber fell more than ${maxPending} events behind; resume it from its last resumeToken`),
      onEnd: () => {
        this.detach();
        this.stopCatchUp?.();
        this.stopCatchUp = undefined;
      },
    });
    this.detach = feed.attach({ appended: () => this.pull(), resync: (c) => this.onResync(c) });
    if (resumeFrom === undefined) {
      this.cursor = feed.last;
    } else if (feed.start !== undefined && resumeFrom >= feed.start) {
      this.cursor = resumeFrom;
      this.pull();
    } else {
      this.catchUp(resumeFrom);
    }
  }

  private matches = (o: StoredObject) => this.visible(o) && this.filter.matches(o);

  private get ended(): boolean {
    return this.queue.ended;
  }

  private push(e: LiveEvent): void {
    this.queue.push(e);
  }

  /** Sends the history entries after the cursor. */
  private pull(): void {
    if (this.mode !== 'live' || this.ended) return;
    if (this.cursor !== undefined && this.feed.start !== undefined && this.cursor < this.feed.start) {
      // The history moved past this subscriber while it caught up: the API server may still have what it missed.
      this.catchUp(this.cursor);
      return;
    }
    const h = this.feed.history;
    // No cursor yet (the feed had no version when this stream began): everything in the history is new to it.
    for (let i = this.cursor === undefined ? 0 : indexAfter(h, (e) => e.token, this.cursor); i < h.length; i++) {
      const entry = h[i];
      this.cursor = entry.token;
      const type = viewOfChange(entry.type, entry.object, entry.previous, this.matches);
      if (type)
        this.push({
          type,
          object: entry.object,
          previous: type === 'MODIFIED' ? entry.previous : undefined,
          resumeToken: String(entry.token),
          snapshot: false,
          key: keyOf(entry.object),
        });
    }
  }

  private onResync(c: CacheChange): void {
    if (this.mode !== 'live' || this.ended) return;
    if (c.type === 'SYNCED') {
      // The relist's events brought this subscriber to the listed state; the history starts there again.
      this.cursor = resourceVersionValue(c.token);
      return;
    }
    const type = viewOfChange(c.type, c.object, c.previous, this.matches);
    if (type)
      this.push({
        type,
        object: c.object,
        previous: type === 'MODIFIED' ? c.previous : undefined,
        resumeToken: c.token,
        snapshot: false,
        key: keyOf(c.object),
      });
  }

  /** Replays (from, feed.start] through the API server, then continues from the history. */
  private catchUp(from: bigint): void {
    this.mode = 'catching-up';
    const until = this.feed.start;
    if (until === undefined) {
      this.fail(new Error(`the ${this.feed.kind} cache has not synced with the Kubernetes API yet`));
      return;
    }
    let sent = from;
    const finish = () => {
      if (this.mode !== 'catching-up') return;
      this.stopCatchUp?.();
      this.stopCatchUp = undefined;
      this.mode = 'live';
      this.cursor = until;
      this.pull();
    };
    void this.feed.kube
      .watchFrom(
        this.feed.kind,
        {
          namespace: this.filter.namespace,
          labelSelector: this.filter.labelSelector,
          fieldSelector: this.filter.fieldSelector,
          resourceVersion: String(from),
        },
        (e) => {
          if (this.mode !== 'catching-up') return;
          const token = resourceVersionValue(e.object.metadata?.resourceVersion);
          if (token === undefined) return;
          // Past the feed's start the history has it: switch over (the history is read from `until` on).
          if (token > until || (e.type === 'BOOKMARK' && token >= until)) return finish();
          if (e.type === 'BOOKMARK' || token <= sent) return;
          sent = token;
          // The API server applied the selectors (objects leaving them come as DELETED); visibility is checked here.
          if (
            !this.visible(e.object) ||
            (this.filter.namespaces && !this.filter.namespaces.has(e.object.metadata.namespace ?? ''))
          )
            return;
          this.push({
            type: e.type,
            object: e.object,
            resumeToken: String(token),
            snapshot: false,
            key: keyOf(e.object),
          });
          if (token === until) finish();
        },
        (err) => {
          if (this.mode !== 'catching-up') return;
          this.stopCatchUp = undefined;
          if (err instanceof KubeApiError && err.statusCode === 410)
            this.fail(
              resumeExpired(
                `resumeToken ${from} is older than the ${this.feed.kind} changes still kept: list again and subscribe with the new list's resumeToken`,
              ),
            );
          else if (!err && sent >= until) finish();
          else if (!err)
            this.catchUp(sent); // a watch that ended early: go on from what was sent
          else this.fail(err);
        },
      )
      .then(
        (stop) => {
          if (this.mode === 'catching-up' && !this.ended) this.stopCatchUp = stop;
          else stop();
        },
        (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
      );
  }

  /** Ends the stream: what is queued is still read, then the error. */
  private fail(err: Error): void {
    this.queue.end(err);
  }

  next(): Promise<IteratorResult<LiveEvent>> {
    return this.queue.next();
  }

  return(): Promise<IteratorResult<LiveEvent>> {
    return this.queue.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The live side of the workloads model: feeds per kind, created on first use. */
export class LiveChanges {
  private readonly feeds = new Map<KindName, ChangeFeed>();
  readonly options: Required<LiveOptions>;

  /** Feeds must exist before the informers start, so that their history has every event after the first LIST. */
  constructor(kube: KubeClient, kinds: readonly KindName[], options: LiveOptions = {}) {
    this.options = { ...LIVE_DEFAULTS, ...options };
    for (const kind of kinds) this.feeds.set(kind, new ChangeFeed(kube, kind, this.options.historySize));
  }

  feed(kind: KindName): ChangeFeed {
    const f = this.feeds.get(kind);
    if (!f) throw new Error(`no change feed for ${kind}`);
    return f;
  }

  /** Subscribers per kind (a gauge). */
  subscribers(): Record<string, number> {
    return Object.fromEntries([...this.feeds].map(([k, f]) => [k, f.readerCount]));
  }

  /** A stream of a kind's changes through a filter, for a viewer, optionally resumed after a token. */
  stream(
    viewer: Viewer,
    kind: KindName,
    filter: LiveFilter,
    resumeToken: string | null | undefined,
  ): AsyncIterableIterator<LiveEvent> {
    const from = resumeToken !== null && resumeToken !== undefined ? versionForKind(resumeToken, kind) : undefined;
    const ns = visibleNamespaces(viewer);
    const visible = ns === 'all' ? () => true : (o: StoredObject) => ns.has(o.metadata.namespace ?? '');
    // Every subscriber reads the kind's one feed: the informer's watch stays the only one, however many subscribe.
    return new LiveStream(this.feed(kind), filter, visible, this.options.maxPending, from);
  }
}
