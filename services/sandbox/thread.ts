// `npm start` runs the sandbox cluster, and on it the Elasticsearch stand-in fed with its containers' logs, in a
// worker thread of its own (services/sandbox/thread-main.ts): what it simulates is the world around kubegraph, its
// own machines in production, and on a 2-core machine its start (the cluster's seed, controllers, TLS) and its
// serving (every LIST and watch the subgraphs make, every log line shipped) then take the other core instead of
// kubegraph's event loop (issue 19 §4). No tracing preload there: the cluster's spans are not kubegraph's.
import { launchThread } from '../common/thread.js';
import type { SandboxOptions } from './sandbox.js';

export interface SandboxThreadOptions {
  /** Plain data only (it is copied to the thread): no `now`. */
  sandbox: Omit<SandboxOptions, 'now'>;
  /** Also start the Elasticsearch stand-in, fed by the log shipper with the sandbox's container logs. */
  es?: { port: number; host: string; indexPrefix?: string };
}

export interface SandboxThread {
  url: string;
  kubeconfig: string;
  kubeconfigPath?: string;
  /** The Elasticsearch stand-in's URL, when asked for. */
  esUrl?: string;
  close(): Promise<void>;
}

/** What the thread posts. */
export type SandboxThreadMessage =
  | { type: 'started'; url: string; kubeconfig: string; kubeconfigPath?: string; esUrl?: string }
  | { type: 'failed'; message: string };

/**
 * Starts the thread; resolves once the sandbox (and the stand-in) listen. `onFailure` hears of the thread ending
 * unasked afterwards (an uncaught error in it): the cluster is gone.
 */
export function startSandboxThread(
  options: SandboxThreadOptions,
  onFailure: (error: Error) => void,
): Promise<SandboxThread> {
  const thread = launchThread(new URL('./thread-main.ts', import.meta.url), options, false);
  const { worker } = thread;
  return new Promise((resolve, reject) => {
    let started = false;
    worker.on('message', (m: SandboxThreadMessage) => {
      if (m.type === 'failed') reject(new Error(m.message));
      else if (m.type === 'started') {
        started = true;
        resolve({
          url: m.url,
          kubeconfig: m.kubeconfig,
          kubeconfigPath: m.kubeconfigPath,
          esUrl: m.esUrl,
          close: () => thread.close('close'),
        });
      }
    });
    worker.on('error', (e) => (started ? onFailure(e) : reject(e)));
    worker.on('exit', (code) => {
      if (!started) reject(new Error(`the sandbox thread ended (${code}) before the sandbox started`));
      else if (!thread.closing()) onFailure(new Error(`the sandbox thread ended (${code})`));
    });
  });
}
