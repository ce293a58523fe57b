// One subscriber of live logs: the container streams it reads (one for podLogs' container, one per container of
// each pod for workloadLogs), merged into LogChunks with a resume token, on a bounded queue (asyncQueue).
//
// Lines are batched: everything that arrives within `batchMs` of the first waiting line goes into one chunk (at most
// `maxLinesPerChunk` lines; a full chunk goes at once). A subscriber that stops reading overflows its queue and ends
// with an error its client resumes from (the token of the last chunk it read), so one slow reader never holds lines
// in memory without bound nor slows the others.
import { asyncQueue, type AsyncQueue } from '../../common/async-queue.js';
import { apiError, ErrorCode } from '../../common/errors.js';
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
  /** A chunk waits at most this long for more lines (ms). */
  batchMs: number;
  maxLinesPerChunk: number;
  /** Chunks that may wait unread before the subscriber is cut off (it resumes from its token). */
  maxPendingChunks: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { batchMs: 50, maxLinesPerChunk: 500, maxPendingChunks: 200 };

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
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly namespace: string,
    /** Positions delivered so far (from the client's token, then advanced chunk by chunk). */
    private readonly state: ResumeState,
    private readonly batching: BatchingOptions,
    /** What a source that ends does to the subscription: end it (podLogs) or just drop that pod (workloadLogs). */
    private readonly onSourceEnded: (pod: string, error: Error, remaining: number) => void,
    /** Called once when the subscriber ends (its client left, it overflowed or it ended). */
    onEnd: () => void,
  ) {
    this.queue = asyncQueue<LiveLogChunk>({
      maxPending: batching.maxPendingChunks,
      onOverflow: () =>
        apiError(
          ErrorCode.UPSTREAM_UNAVAILABLE,
          `the subscriber fell ${batching.maxPendingChunks} chunks behind; resume from the last resumeToken`,
          { service: 'logging' },
        ),
      onEnd: () => {
        this.finished = true;
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        this.pending = [];
        for (const s of [...this.sources.values()]) this.detach(s);
        onEnd();
      },
    });
  }

  get ended(): boolean {
    return this.finished || this.queue.ended;
  }

  /** The position this subscriber has delivered for a container (undefined: none yet). */
  positionOf(pod: string, container: string): Position | undefined {
    return this.state.pods.get(pod)?.containers.get(container);
  }

  /** Whether the subscriber reads this pod's container already. */
  has(pod: string, container: string): boolean {
    return this.sources.has(sourceKey(pod, container));
  }

  pods(): Set<string> {
    return new Set([...this.sources.values()].map((s) => s.pod));
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
    const entry = this.state.pods.get(pod);
    if (!entry || entry.uid !== uid) this.state.pods.set(pod, { uid, containers: new Map() });
    const kept = stream.join(source.listener);
    if (kept.length) this.receive(source, kept);
  }

  /** Stops reading a pod (it was deleted): what was received is still delivered; its position is forgotten after. */
  detachPod(pod: string): void {
    for (const s of [...this.sources.values()]) if (s.pod === pod) this.detach(s);
    this.flush();
    this.state.pods.delete(pod);
  }

  /** Ends the subscription after what was received: `error` (if any) is thrown to the reader last. */
  finish(error?: Error): void {
    if (this.ended) return;
    this.flush();
    this.queue.end(error);
  }

  private detach(s: Source): void {
    const key = sourceKey(s.pod, s.container);
    if (this.sources.get(key) === s) this.sources.delete(key);
    s.stream.leave(s.listener);
  }

  private receive(source: Source, lines: readonly StreamLine[]): void {
    if (this.ended) return;
    for (const line of lines) if (source.filter.passes(line.key)) this.pending.push({ source, line });
    if (this.pending.length >= this.batching.maxLinesPerChunk) this.flush();
    else if (this.pending.length && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.batching.batchMs);
    }
  }

  /** Everything waiting, as chunks: the containers merged by time, each container's lines in their order. */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.length || this.queue.ended) return;
    const merged = mergeByTime(this.pending);
    this.pending = [];
    for (let i = 0; i < merged.length; i += this.batching.maxLinesPerChunk) {
      const part = merged.slice(i, i + this.batching.maxLinesPerChunk);
      const lines = part.map(({ source, line }) => {
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
      if (!this.queue.push({ lines, resumeToken: encodeToken(this.state) })) return;
    }
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
