// A worker thread of `npm start` running a TypeScript entry, loaded through scripts/start.mjs as the main thread's
// own code is (bundled, cached): npm start puts the parts that need no shared memory with the subgraphs (the sandbox
// cluster, the gateway) on threads of their own, so that on a small machine their start takes another core
// (issue 19 §4).
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const LAUNCHER = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));

export interface LaunchedThread {
  worker: Worker;
  /** Whether close() was called. */
  closing(): boolean;
  /**
   * Posts `message` (the entry's own "close") once and resolves when the thread has ended; at once for a thread that
   * ended already (after a failure).
   */
  close(message: unknown): Promise<void>;
}

/**
 * Starts `entry` (a .ts file) on a new thread with `data` as its workerData (plain data: it is copied). `preload`:
 * with the tracing preload before it, as the main thread has (spans of kubegraph's own code).
 */
export function launchThread(entry: URL, data: unknown, preload: boolean): LaunchedThread {
  const worker = new Worker(LAUNCHER, {
    argv: [fileURLToPath(entry), ...(preload ? [] : ['--without-preload'])],
    workerData: data,
  });
  // Made now, not at close: a thread that already ended has no 'exit' to come.
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let closed: Promise<void> | undefined;
  return {
    worker,
    closing: () => closed !== undefined,
    close: (message) =>
      (closed ??= (() => {
        worker.postMessage(message);
        return ended;
      })()),
  };
}
