// Serving: GET .../pods/<name>/log, once or following.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store, StoreEvent } from '../store.js';
import type { KObject } from '../types.js';
import { type LogOptions, validateOptions } from './options.js';
import { type Instance, pickContainer, timeOf, statusOf, endOf, resolveInstance } from './instance.js';
import { Schedule, type Line } from './timing.js';
import { rfc3339Nano, linesOf, history } from './lines.js';

const format = (l: Line, timestamps: boolean | undefined) =>
  timestamps ? `${rfc3339Nano(l.t, l.ns)} ${l.text}\n` : `${l.text}\n`;

// ------------------------------------------------------------------ serving

/** Serves GET .../pods/<name>/log for an existing pod object as the real kubelet/apiserver does (text/plain). */
export function servePodLog(
  store: Store,
  pod: KObject,
  opts: LogOptions,
  req: IncomingMessage,
  res: ServerResponse,
  clock?: { speed: number },
): void {
  const podName = pod.metadata.name ?? '';
  validateOptions(podName, opts);
  const container = pickContainer(pod, opts.container);
  // A pod not yet on a node has no kubelet to ask: the real server answers with an empty log.
  if (!pod.spec?.nodeName) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end();
    return;
  }
  const inst = resolveInstance(pod, container, Boolean(opts.previous));
  const sched = new Schedule(inst, clock?.speed ?? 1);
  const now = Date.now();
  const since =
    opts.sinceTime !== undefined
      ? Date.parse(opts.sinceTime)
      : opts.sinceSeconds !== undefined
        ? now - opts.sinceSeconds * 1000
        : undefined;
  const { lines, events } = history(inst, sched, now, since === undefined ? opts.tailLines : undefined);
  let shown = since === undefined ? lines : lines.filter((l) => l.t >= since);
  if (opts.tailLines !== undefined) shown = opts.tailLines === 0 ? [] : shown.slice(-opts.tailLines);
  let budget = opts.limitBytes ?? Infinity;
  const cut = (text: string): Buffer => {
    let buf = Buffer.from(text);
    if (buf.length > budget) buf = buf.subarray(0, budget);
    budget -= buf.length;
    return buf;
  };
  const body = cut(shown.map((l) => format(l, opts.timestamps)).join(''));

  // A finished instance (or `previous`) has nothing more to say; so does a container that is not running.
  const live = opts.follow && !opts.previous && inst.end === undefined && budget > 0;
  if (!live) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  if (body.length) res.write(body);
  else res.flushHeaders();
  followLog(store, pod, inst, sched, events, opts, req, res, cut, () => budget);
}

function followLog(
  store: Store,
  pod: KObject,
  inst: Instance,
  sched: Schedule,
  emitted: number,
  opts: LogOptions,
  req: IncomingMessage,
  res: ServerResponse,
  cut: (text: string) => Buffer,
  budget: () => number,
): void {
  let next = emitted;
  let timer: NodeJS.Timeout | undefined;
  let done = false;

  const stop = () => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    unsubscribe();
    res.off('close', stop);
  };
  const finish = () => {
    if (done) return;
    stop();
    if (!res.writableEnded) res.end();
  };
  /** Writes the events due by `upTo`; false once the byte budget is spent. */
  const flush = (upTo: number, finished: boolean): boolean => {
    const n = sched.countUpTo(upTo);
    const lines = n > next || finished ? linesOf(inst, sched, next, n, finished) : [];
    next = Math.max(next, n);
    if (lines.length && !res.writableEnded) res.write(cut(lines.map((l) => format(l, opts.timestamps)).join('')));
    return budget() > 0;
  };
  const schedule = () => {
    if (done) return;
    if (next >= sched.maxEvents) return; // a crashing program that has said its last: wait for it to be terminated
    const wait = Math.min(5000, Math.max(10, sched.time(next) - Date.now() + 1));
    timer = setTimeout(tick, wait);
  };
  const tick = () => {
    timer = undefined;
    if (done) return;
    if (!flush(Date.now(), false)) return finish();
    schedule();
  };

  const uid = pod.metadata.uid;
  const unsubscribe = store.subscribe((ev: StoreEvent) => {
    if (done || ev.rt.group !== '' || ev.rt.kind !== 'Pod') return;
    const o = ev.object;
    if (o.metadata.uid !== uid) return;
    if (ev.type === 'DELETED') return finish();
    const cs = statusOf(o, inst.container);
    const running = cs?.state?.running;
    if (running && timeOf(running.startedAt) === inst.start) return;
    // The container stopped (or was replaced by a new instance): write what it said until then, and end.
    const terminated = cs?.state?.terminated ?? (running ? undefined : cs?.lastState?.terminated);
    if (terminated && timeOf(terminated.startedAt) === inst.start) {
      inst.end = Math.max(inst.start, endOf(terminated.finishedAt) ?? Date.now());
      if (terminated.exitCode !== undefined) inst.exitCode = Number(terminated.exitCode);
      flush(inst.end, true);
    } else {
      flush(Date.now(), false);
    }
    finish();
  });
  // The response closes when the client goes away (or once it has ended).
  res.once('close', stop);
  req.socket?.setNoDelay(true);
  if (res.destroyed) return stop();
  schedule();
}
