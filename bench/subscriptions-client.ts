// The measuring clients of the subscriptions benchmark (bench/subscriptions.bench.ts): graphql-transport-ws spoken
// directly over `ws`, and where their latencies go.
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

export const QUERY = `subscription Bench($ns: String) { podStatusChanged(namespace: $ns) { type resumeToken pod { name labels } } }`;

/** Microseconds on the wall clock, as the cluster process stamps its changes. */
export const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

/** Latencies (ms) in a growable Float64Array: millions of samples without millions of boxed numbers. */
export class Recorder {
  private buf = new Float64Array(1 << 16);
  n = 0;
  add(x: number): void {
    if (this.n === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = x;
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort();
  }
}

export const pct = (sorted: Float64Array, p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN;

interface ServerMessage {
  type: string;
  id?: string;
  payload?:
    | {
        data?: { podStatusChanged?: { pod?: { labels?: Record<string, string> } } } | null;
        errors?: { message: string }[];
      }
    | { message: string }[];
}

/**
 * One graphql-ws client (the graphql-transport-ws protocol spoken directly over `ws`, so that 5,000 of them in one
 * process cost little more than the parsing of what they receive): connection_init, one subscribe, pongs, and for
 * every `next` the latency from the `t` label of the changed pod to the message's arrival.
 */
export class BenchClient {
  /** Events of the measured window received, and those out of order (seq not above the previous one). */
  received = 0;
  disorder = 0;
  /** Events received outside a measured window (warm-up). */
  warm = 0;
  errors = 0;
  ended: string | undefined;
  private lastSeq = -1;
  private ws!: WebSocket;
  /** Where latencies go while a window is open, and the first seq of that window. */
  static window: { fromSeq: number; toSeq: number } | undefined;

  constructor(
    readonly url: string,
    /** null: every namespace. */
    readonly namespace: string | null,
    private readonly recorder: () => Recorder,
  ) {}

  resetWindow(): void {
    this.received = 0;
    this.disorder = 0;
  }

  connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { perMessageDeflate: false });
      this.ws = ws;
      const send = (m: unknown) => ws.send(JSON.stringify(m));
      ws.on('open', () => send({ type: 'connection_init', payload: {} }));
      ws.on('error', (e) => {
        this.ended ??= `error: ${e.message}`;
        reject(e);
      });
      ws.on('close', (code, reason) => {
        this.ended ??= `closed ${code} ${reason.toString()}`;
        reject(new Error(this.ended));
      });
      ws.on('message', (data: Buffer) => {
        const arrival = nowUs();
        const m = JSON.parse(data.toString()) as ServerMessage;
        switch (m.type) {
          case 'connection_ack':
            send({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: { ns: this.namespace } } });
            resolve();
            return;
          case 'ping':
            send({ type: 'pong' });
            return;
          case 'next': {
            const payload = Array.isArray(m.payload) ? undefined : m.payload;
            if (payload?.errors?.length) this.errors++;
            const labels = payload?.data?.podStatusChanged?.pod?.labels;
            if (!labels?.seq) return;
            const seq = Number(labels.seq);
            const w = BenchClient.window;
            if (!w || seq < w.fromSeq || seq > w.toSeq) {
              this.warm++;
              return;
            }
            if (seq <= this.lastSeq) this.disorder++;
            this.lastSeq = seq;
            this.received++;
            this.recorder().add((arrival - Number(labels.t)) / 1000);
            return;
          }
          case 'error':
          case 'complete':
            this.ended ??= `${m.type}: ${JSON.stringify(m.payload ?? null)}`;
            return;
        }
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

export async function connectAll(clients: BenchClient[], concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, clients.length) }, async () => {
      while (next < clients.length) await clients[next++].connect();
    }),
  );
}

export async function until(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>): Promise<number> {
  const start = performance.now();
  while (!(await cond())) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return performance.now() - start;
}
