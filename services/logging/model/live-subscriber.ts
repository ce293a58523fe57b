// One subscriber of live logs: the container streams it reads (one for podLogs' container, one per container of
// each pod for workloadLogs), merged into LogChunks with a resume token, read through asyncQueue.
//
// Chunks are made when the reader asks for the next one (asyncQueue's pull): lines that arrived meanwhile are
// waiting, and up to `maxLinesPerChunk` of them go at once — so under load the chunks grow instead of the number of
// results. A reader that waits gets what arrives within `batchMs` of the first line. Lines waiting unread are
// bounded (`maxPendingLines`): a reader that stops reading is cut off with an error, and its client resumes from the
// token of the last chunk it read, so one slow reader neither holds lines without bound nor slows the others.
import { asyncQueue, type AsyncQueue } from '../../common/async-queue.js';
import { apiError, ErrorCode, resumeExpired } from '../../common/errors.js';
import type { ContainerStream, StreamLine, StreamListener } from './live-stream.js';
import { advance, encodeToken, ResumeFilter, type Position, type ResumeState } from './live-token.js';

/** A LogLine of the contract (LogLine.pod is resolved from namespace and podName). */
export interface LiveLogLine {
  timestamp: string;
  message: string;
  /** The pod log API does not say which stream a line came from. */
  stream: null;
  namespace: string;
  podName: string;
  container: string;
  node: string | null;
}

export interface LiveLogChunk {
  lines: LiveLogLine[];
  resumeToken: string;
}

export interface BatchingOptions {
  /** A reader waiting for lines gets those that arrive within this long (ms) of the first one, in one chunk. */
  batchMs: number;
  maxLinesPerChunk: number;
  /**
   * Lines that may wait unread while the reader has not asked for a chunk for `stallMs`: more, and the subscriber is
   * cut off (it resumes from its token). A reader that keeps reading may see a burst (a resumed read's backlog) of up
   * to ten times as many.
   */
  maxPendingLines: number;
  stallMs: number;
}

export const DEFAULT_BATCHING: BatchingOptions = {
  batchMs: 50,
  maxLinesPerChunk: 500,
  maxPendingLines: 20_000,
  stallMs: 10_000,
};

interface Source {
  pod: string;
  uid: string;
  container: string;
  node: () => string | null;
  stream: ContainerStream;
  listener: StreamListener;
  filter: ResumeFilter;
}

interface PendingLine {
  source: Source;
  line: StreamLine;
}

const sourceKey = (pod: string, container: string) => `${pod}\u0000${container}`;

export class LiveSubscriber {
  readonly queue: AsyncQueue<LiveLogChunk>;
  private readonly sources = new Map<string, Source>();
  private pending: PendingLine[] = [];
  /** Set by finish(): the queue ends (with this error, if any) once the pending lines are read. */
  private ending: { error?: Error } | undefined;
  /** Wakes a reader waiting for lines (or for the end). */
  private arrived: (() => void) | undefined;
  /** When the reader last asked for a chunk. */
  private lastAsked = Date.now();
  /** Pods detached whose positions leave the token once their last waiting line is in a chunk. */
  private readonly gone = new Set<string>();

  constructor(
    private readonly namespace: string,
    /** Positions delivered so far (from the client's token, then advanced chunk by chunk). */
    private readonly state: ResumeState,
    private readonly batching: BatchingOptions,
    /** What a source that ends does to the subscription: end it (podLogs) or just drop that pod (workloadLogs). */
    private readonly onSourceEnded: (pod: string, error: Error, remaining: number) => void,
    /** Called once when the subscriber ends (its client left, it fell behind or it ended). */
    onEnd: () => void,
  ) {
    this.queue = asyncQueue<LiveLogChunk>({
      pull: (queue) => this.nextChunk(queue),
      onEnd: () => {
        this.pending = [];
        this.wake();
        this.detachAll();
        onEnd();
      },
    });
  }

  get ended(): boolean {
    return this.ending !== undefined || this.queue.ended;
  }

  /** Whether the subscriber reads this pod's container already. */
  has(pod: string, container: string): boolean {
    return this.sources.has(sourceKey(pod, container));
  }

  /** Starts reading a container stream; `after` drops what the client already has (a resumed subscription). */
  attach(stream: ContainerStream, node: () => string | null, after: Position | undefined): void {
    if (this.ended) return;
    const { pod, uid, container } = stream.id;
    const key = sourceKey(pod, container);
    if (this.sources.has(key)) return;
    const source: Source = {
      pod,
      uid,
      container,
      node,
      stream,
      filter: new ResumeFilter(after),
      listener: {
        lines: (lines) => this.receive(source, lines),
        ended: (error) => {
          if (this.sources.get(key) !== source) return;
          this.sources.delete(key);
          this.onSourceEnded(pod, error, this.sources.size);
        },
      },
    };
    this.sources.set(key, source);
    this.gone.delete(pod);
    const entry = this.state.pods.get(pod);
    if (!entry || entry.uid !== uid) this.state.pods.set(pod, { uid, containers: new Map() });
    const kept = stream.join(source.listener);
    if (kept.length) this.receive(source, kept);
  }

  /**
   * Stops reading a pod (deleted, or no longer the workload's): what was received is still delivered, and its
   * position leaves the token after that (a workload's token does not grow with every pod it ever had).
   */
  detachPod(pod: string): void {
    for (const s of [...this.sources.values()]) if (s.pod === pod) this.detach(s);
    this.gone.add(pod);
  }

  /** Ends the subscription after the lines received so far: `error` (if any) reaches the reader last. */
  finish(error?: Error): void {
    if (this.ended) return;
    this.ending = { error };
    this.detachAll();
    this.wake();
  }

  private detachAll(): void {
    for (const s of [...this.sources.values()]) this.detach(s);
  }

  private detach(s: Source): void {
    const key = sourceKey(s.pod, s.container);
    if (this.sources.get(key) === s) this.sources.delete(key);
    s.stream.leave(s.listener);
  }

  private wake(): void {
    const w = this.arrived;
    this.arrived = undefined;
    w?.();
  }

  private receive(source: Source, lines: readonly StreamLine[]): void {
    if (this.queue.ended || this.ending) return;
    for (const line of lines) {
      if (!source.filter.passes(line.key)) continue;
      if (source.filter.gap) {
        // The kubelet no longer has the lines after the token's position: a clear end, never a silent gap.
        this.finish(
          resumeExpired(
            `the log of ${this.namespace}/${source.pod} container ${source.container} no longer holds the lines after the resumeToken's position (${line.key.slice(0, 23)}Z is the oldest after it: the log was rotated or the container replaced): subscribe again without resumeToken, and search the lines in between with logs`,
          ),
        );
        return;
      }
      this.pending.push({ source, line });
    }
    const { maxPendingLines, stallMs } = this.batching;
    if (
      this.pending.length > 10 * maxPendingLines ||
      (this.pending.length > maxPendingLines && Date.now() - this.lastAsked > stallMs)
    ) {
      // The reader stopped reading: what waits is dropped; the client resumes from the last chunk it read.
      this.pending = [];
      this.queue.end(
        apiError(
          ErrorCode.UPSTREAM_UNAVAILABLE,
          `more than ${maxPendingLines} lines waited unread; resume from the last resumeToken`,
          { service: 'logging' },
        ),
      );
      return;
    }
    if (this.pending.length) this.wake();
  }

  /** The reader waits: the next chunk, once there are lines (gathered for batchMs), or the end. */
  private async nextChunk(queue: AsyncQueue<LiveLogChunk>): Promise<void> {
    this.lastAsked = Date.now();
    if (!this.pending.length) {
      if (this.ending) return queue.end(this.ending.error);
      await new Promise<void>((resolve) => (this.arrived = resolve));
      if (queue.ended || !this.pending.length) return;
      if (this.pending.length < this.batching.maxLinesPerChunk && !this.ending) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.batching.batchMs);
          this.arrived = () => {
            if (this.pending.length >= this.batching.maxLinesPerChunk || this.ending || queue.ended) {
              clearTimeout(t);
              resolve();
            }
          };
        });
        this.arrived = undefined;
        if (queue.ended) return;
      }
    }
    queue.push(this.chunk());
  }

  /** Up to maxLinesPerChunk waiting lines, the containers merged by time, each container's lines in their order. */
  private chunk(): LiveLogChunk {
    let take: PendingLine[];
    if (this.pending.length <= this.batching.maxLinesPerChunk) {
      take = mergeByTime(this.pending);
      this.pending = [];
    } else {
      // More than one chunk waits: the oldest lines first (each source's first ones), the rest stay in order.
      const merged = mergeByTime(this.pending);
      take = merged.slice(0, this.batching.maxLinesPerChunk);
      this.pending = merged.slice(this.batching.maxLinesPerChunk);
    }
    const lines = take.map(({ source, line }) => {
      const entry = this.state.pods.get(source.pod);
      if (entry && entry.uid === source.uid)
        entry.containers.set(source.container, advance(entry.containers.get(source.container), line.key));
      return {
        timestamp: line.timestamp,
        message: line.message,
        stream: null,
        namespace: this.namespace,
        podName: source.pod,
        container: source.container,
        node: source.node(),
      };
    });
    for (const pod of this.gone) {
      if (this.pending.some((p) => p.source.pod === pod)) continue;
      this.gone.delete(pod);
      this.state.pods.delete(pod);
    }
    return { lines, resumeToken: encodeToken(this.state) };
  }
}

/** A k-way merge by timestamp of each source's lines (kept in arrival order within a source). */
function mergeByTime(pending: PendingLine[]): PendingLine[] {
  const bySource = new Map<Source, PendingLine[]>();
  for (const p of pending) {
    let list = bySource.get(p.source);
    if (!list) bySource.set(p.source, (list = []));
    list.push(p);
  }
  if (bySource.size === 1) return pending;
  const lists = [...bySource.values()];
  const heads = lists.map(() => 0);
  const out: PendingLine[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      if (heads[i] >= lists[i].length) continue;
      if (best < 0 || lists[i][heads[i]].line.key < lists[best][heads[best]].line.key) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best][heads[best]++]);
  }
}
