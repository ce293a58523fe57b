// A worker thread of `npm start` running a TypeScript entry, loaded through scripts/start.mjs as the main thread's
// own code is (bundled, cached): npm start puts the parts that need no shared memory with the subgraphs (the sandbox
// cluster, the gateway) on threads of their own, so that on a small machine their start takes another core
// (issue 19 §4).
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const LAUNCHER = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));

/**
 * Starts `entry` (a .ts file) on a new thread with `data` as its workerData (plain data: it is copied). `preload`:
 * with the tracing preload before it, as the main thread has (spans of kubegraph's own code).
 */
export function launchThread(entry: URL, data: unknown, preload: boolean): Worker {
  return new Worker(LAUNCHER, {
    argv: [fileURLToPath(entry), ...(preload ? [] : ['--without-preload'])],
    workerData: data,
  });
}
