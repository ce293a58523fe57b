// The log shipper, in the spirit of Fluent Bit's `tail` input + `kubernetes` filter + `es` output as KubeSphere
// deploys it: every simulated container's lines of a sandbox (computed by the sandbox's pure log functions, read
// in-process from its store) go to Elasticsearch with `_bulk`, one document per line in the Fluent Bit shape
// (`@timestamp`, `log`, `time`, `stream`, `kubernetes.{...}`), into daily indices `<prefix>-YYYY.MM.DD`.
//
// startShipper(options: ShipperOptions): Shipper
//   options.store       the sandbox's Store (sandbox.store)
//   options.url         Elasticsearch base URL (the stand-in's or any cluster's)
//   options.speed       the sandbox's speed setting (its log timing depends on it; default 1)
//   options.indexPrefix default 'ks-logstash-log'
//   options.onShipped   called with the documents Elasticsearch acknowledged (ground truth for tests)
//   Shipper: { shipped (count), dropped, flush(): Promise<void> (tail and send now), stats(), close() }
//
// Each line is read exactly once: a cursor per container instance (pod uid, container, start) advances only over
// lines taken into the buffer; lines of a container that ended, restarted or whose pod was deleted are read from the
// store's change events before the pod's state moves on. Every document has a deterministic _id (hash of the
// instance and line number) and is sent with `create`, so a retried bulk never writes a line twice.
import { createHash } from 'node:crypto';
import type { KObject } from '../common/k8s/object.js';
import type { Store, StoreEvent } from '../sandbox/store.js';
import { resolveInstance, statusOf, type Instance } from '../sandbox/logs/instance.js';
import { linesOf } from '../sandbox/logs/lines.js';
import { MAX_LOG_LINES } from '../sandbox/logs/options.js';
import { Schedule } from '../sandbox/logs/timing.js';
import { rfc3339Nano } from '../sandbox/logs/lines.js';

export interface ShippedDocument {
  _index: string;
  _id: string;
  _source: FluentBitRecord;
}

export interface FluentBitRecord {
  '@timestamp': string;
  log: string;
  time: string;
  stream: 'stdout' | 'stderr';
  kubernetes: {
    pod_name: string;
    namespace_name: string;
    pod_id: string;
    labels?: Record<string, string>;
    host: string;
    container_name: string;
    docker_id: string;
    container_hash: string;
    container_image: string;
  };
}

export interface ShipperOptions {
  store: Store;
  url: string;
  speed?: number;
  indexPrefix?: string;
  /** How often lines are tailed and sent (default 1000 ms, Fluent Bit's Flush 1). */
  flushIntervalMs?: number;
  /** Lines held while Elasticsearch is slow or down; tailing pauses when full (default 50,000). */
  maxBufferedDocs?: number;
  /** Documents per `_bulk` request (default 2,000). */
  maxBulkDocs?: number;
  /** How long a bulk request may take before it is retried (default 30 s). */
  requestTimeoutMs?: number;
  /** Extra request headers (Authorization for basic auth or an API key). */
  headers?: Record<string, string>;
  onShipped?: (docs: ShippedDocument[]) => void;
  /** Called when a bulk request fails as a whole or items are refused (for logs). */
  onError?: (message: string) => void;
}

export interface ShipperStats {
  shipped: number;
  /** Documents Elasticsearch refused for good (mapping errors): not retried. */
  dropped: number;
  buffered: number;
  /** Bulk requests or items that failed and were kept for another try. */
  retries: number;
}

export interface Shipper {
  readonly shipped: number;
  readonly dropped: number;
  stats(): ShipperStats;
  /** Tails every container now and sends everything buffered; resolves when Elasticsearch has answered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Cursor {
  /** The next event (line group) of the instance to read. */
  next: number;
  done: boolean;
  uid: string;
}

interface Pending {
  doc: ShippedDocument;
  attempts: number;
}

const DEFAULT_PREFIX = 'ks-logstash-log';

const two = (n: number) => String(n).padStart(2, '0');
export const dailyIndex = (prefix: string, t: number): string => {
  const d = new Date(t);
  return `${prefix}-${d.getUTCFullYear()}.${two(d.getUTCMonth() + 1)}.${two(d.getUTCDate())}`;
};

/** Fluent Bit's kubernetes filter with Replace_Dots: label keys with dots would clash as object paths. */
const replaceDots = (labels: Record<string, string> | undefined): Record<string, string> | undefined =>
  labels && Object.fromEntries(Object.entries(labels).map(([k, v]) => [k.replace(/\./g, '_'), v]));

const stripScheme = (id: unknown): string => (typeof id === 'string' ? id.replace(/^[a-z]+:\/\//, '') : '');

type ContainerState = { startedAt?: string; finishedAt?: string; containerID?: string };

function containerNames(pod: KObject): string[] {
  const spec = pod.spec as { initContainers?: { name: string }[]; containers?: { name: string }[] } | undefined;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.name);
}

export function startShipper(options: ShipperOptions): Shipper {
  const store = options.store;
  const speed = options.speed ?? 1;
  const prefix = options.indexPrefix ?? DEFAULT_PREFIX;
  const maxBuffered = options.maxBufferedDocs ?? 50_000;
  const maxBulk = options.maxBulkDocs ?? 2000;
  const base = options.url.replace(/\/+$/, '');
  const podType = store.type('', 'pods');
  const cursors = new Map<string, Cursor>();
  const buffer: Pending[] = [];
  let shipped = 0;
  let dropped = 0;
  let retries = 0;
  let closed = false;
  let sending: Promise<void> | undefined;
  let backoffUntil = 0;

  /** Reads the lines of one instance that fell due by now (or by its end) into the buffer. */
  const tailInstance = (pod: KObject, inst: Instance, state: ContainerState | undefined, now: number) => {
    let cursor = cursors.get(inst.seed);
    const sched = new Schedule(inst, speed);
    const upTo = inst.end ?? now;
    const due = sched.countUpTo(upTo);
    if (!cursor) {
      // A container seen for the first time: its retained log (what `kubectl logs` would show), as tail with
      // Read_from_Head reads a file from its start.
      cursor = { next: Math.max(0, due - MAX_LOG_LINES), done: false, uid: pod.metadata.uid ?? '' };
      cursors.set(inst.seed, cursor);
    }
    if (cursor.done) return;
    const finished = inst.end !== undefined;
    const room = maxBuffered - buffer.length;
    if (room <= 0) return;
    // Whole events only, within the room left (an event may render several lines).
    let to = due;
    if (to - cursor.next > room) to = cursor.next + room;
    const complete = finished && to === due;
    if (to <= cursor.next && !complete) return;
    const lines = linesOf(inst, sched, cursor.next, to, complete);
    const cs = statusOf(pod, inst.container) as { containerID?: string; imageID?: string; image?: string } | undefined;
    const labels = replaceDots(pod.metadata.labels);
    const host = typeof pod.spec?.nodeName === 'string' ? pod.spec.nodeName : '';
    // Lines of one event share its time; their order within it tells them apart (events are never split).
    let nth = 0;
    lines.forEach((line, i) => {
      nth = i > 0 && lines[i - 1].t === line.t && lines[i - 1].ns === line.ns ? nth + 1 : 0;
      const record: FluentBitRecord = {
        '@timestamp': new Date(line.t).toISOString(),
        log: `${line.text}\n`,
        time: rfc3339Nano(line.t, line.ns),
        stream: 'stdout',
        kubernetes: {
          pod_name: inst.pod,
          namespace_name: inst.namespace,
          pod_id: pod.metadata.uid ?? '',
          ...(labels && Object.keys(labels).length ? { labels } : {}),
          host,
          container_name: inst.container,
          docker_id: stripScheme(state?.containerID ?? cs?.containerID),
          container_hash: stripScheme(cs?.imageID),
          container_image: inst.image,
        },
      };
      const id = createHash('sha1').update(`${inst.seed}|${line.t}|${line.ns}|${nth}`).digest('base64url').slice(0, 20);
      buffer.push({ doc: { _index: dailyIndex(prefix, line.t), _id: id, _source: record }, attempts: 0 });
    });
    cursor.next = Math.max(cursor.next, to);
    if (complete) cursor.done = true;
  };

  /** Every container instance of a pod that has a log: the previous run and the current one. */
  const tailPod = (pod: KObject, now: number) => {
    if (!pod.spec?.nodeName) return;
    for (const container of containerNames(pod)) {
      const cs = statusOf(pod, container) as
        { state?: Record<string, ContainerState>; lastState?: { terminated?: ContainerState } } | undefined;
      if (!cs) continue;
      const seen = new Set<string>();
      for (const previous of [true, false]) {
        let inst: Instance;
        try {
          inst = resolveInstance(pod, container, previous);
        } catch {
          continue; // no such run (waiting to start, no previous one)
        }
        if (seen.has(inst.seed)) continue;
        seen.add(inst.seed);
        const state = previous
          ? cs.lastState?.terminated
          : (cs.state?.running ?? cs.state?.terminated ?? cs.lastState?.terminated);
        tailInstance(pod, inst, state, now);
      }
    }
  };

  const tailAll = () => {
    const now = Date.now();
    for (const pod of store.list(podType)) tailPod(pod, now);
  };

  // A pod's state is read from its change events too, so a run that ends (or a pod deleted) between two flushes has
  // its last lines read before its status moves on.
  const unsubscribe = store.subscribe((ev: StoreEvent) => {
    if (closed || ev.rt.group !== '' || ev.rt.kind !== 'Pod') return;
    const now = Date.now();
    // The new state names how a run ended (its finish time), so it is read, not the old one: a run read "up to now"
    // from its old running state could get lines past its end.
    tailPod(ev.object, now);
    if (ev.type === 'DELETED') {
      const uid = ev.object.metadata.uid;
      for (const [seed, c] of cursors) if (c.uid === uid) cursors.delete(seed);
    }
  });

  const sendBatch = async (batch: Pending[]): Promise<void> => {
    const body = batch
      .map(
        (p) =>
          `${JSON.stringify({ create: { _index: p.doc._index, _id: p.doc._id } })}\n${JSON.stringify(p.doc._source)}\n`,
      )
      .join('');
    let response: Response;
    try {
      response = await fetch(`${base}/_bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...options.headers },
        body,
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new Error(`bulk request failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const text = await response.text();
    if (!response.ok) throw new Error(`bulk request answered ${response.status}: ${text.slice(0, 200)}`);
    const result = JSON.parse(text) as {
      errors: boolean;
      items: Record<string, { status: number; error?: { type?: string; reason?: string } }>[];
    };
    const acknowledged: ShippedDocument[] = [];
    const again: Pending[] = [];
    result.items.forEach((item, i) => {
      const r = Object.values(item)[0];
      const p = batch[i];
      // 409: written by an earlier try whose answer was lost.
      if (r.status < 300 || r.status === 409) acknowledged.push(p.doc);
      else if (r.status === 429 || r.status >= 500) {
        p.attempts++;
        again.push(p);
      } else {
        dropped++;
        options.onError?.(`document refused (${r.status} ${r.error?.type ?? ''}): ${r.error?.reason ?? ''}`);
      }
    });
    shipped += acknowledged.length;
    if (acknowledged.length) options.onShipped?.(acknowledged);
    if (again.length) {
      retries += again.length;
      buffer.unshift(...again);
    }
  };

  const sendAll = async (): Promise<void> => {
    while (buffer.length && !closed) {
      if (Date.now() < backoffUntil) return;
      const batch = buffer.splice(0, maxBulk);
      try {
        await sendBatch(batch);
        backoffUntil = 0;
      } catch (e) {
        buffer.unshift(...batch);
        retries++;
        backoffUntil = Date.now() + 1000;
        options.onError?.(e instanceof Error ? e.message : String(e));
        return;
      }
    }
  };

  const cycle = (): Promise<void> => {
    if (sending) return sending;
    sending = (async () => {
      try {
        tailAll();
        await sendAll();
      } finally {
        sending = undefined;
      }
    })();
    return sending;
  };

  const timer = setInterval(() => void cycle(), options.flushIntervalMs ?? 1000);
  timer.unref();

  return {
    get shipped() {
      return shipped;
    },
    get dropped() {
      return dropped;
    },
    stats: () => ({ shipped, dropped, buffered: buffer.length, retries }),
    async flush() {
      if (sending) await sending;
      backoffUntil = 0;
      await cycle();
    },
    async close() {
      clearInterval(timer);
      unsubscribe();
      if (sending) await sending.catch(() => undefined);
      // What fell due until now goes out once more before stopping, as Fluent Bit flushes on shutdown.
      await cycle().catch(() => undefined);
      closed = true;
    },
  };
}
