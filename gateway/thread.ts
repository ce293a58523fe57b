// `npm start` runs the gateway on a worker thread of its own (gateway/thread-main.ts), started at once: building the
// supergraph's schemas and query planner, the most of the gateway's start, needs neither the subgraphs' URLs nor
// accounts (gateway.ts prepareGateway), so it runs on the other core while the subgraphs start on this one; it
// listens once they are up (issue 19 §4). With the tracing preload, as on the main thread: its spans are kubegraph's.
import { launchThread } from '../services/common/thread.js';
import type { GatewayOptions } from './gateway.js';

export interface GatewayThreadOptions {
  /** Plain data only (it is copied to the thread): no authenticator, logger or subgraph URLs (see `listen`). */
  gateway: Omit<GatewayOptions, 'authenticator' | 'logger' | 'subgraphUrls'>;
  /** accounts' internal token, for the authenticator (gateway/identity.ts accountsAuthenticator). */
  internalToken?: string;
}

/** What `listen` tells the thread: where the subgraphs are, and accounts' base URL (tokens are checked there). */
export interface GatewayThreadRouting {
  subgraphUrls: Record<string, string>;
  accountsUrl: string;
}

export type GatewayThreadMessage =
  { type: 'listening'; url: string; port: number } | { type: 'failed'; message: string };

export interface GatewayThread {
  /** Routes to the subgraphs and serves; resolves with its URL once it listens. */
  listen(routing: GatewayThreadRouting): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

/**
 * Starts the thread, which prepares the gateway at once. `onFailure` hears of the thread failing once it listens;
 * a failure before (building the supergraph) fails `listen`.
 */
export function startGatewayThread(options: GatewayThreadOptions, onFailure: (error: Error) => void): GatewayThread {
  const thread = launchThread(new URL('./thread-main.ts', import.meta.url), options, true);
  const { worker } = thread;
  let listening = false;
  let failure: Error | undefined;
  let answer: { resolve(v: { url: string; port: number }): void; reject(e: Error): void } | undefined;
  const failed = (e: Error) => {
    if (thread.closing() || failure) return;
    failure = e;
    if (listening) onFailure(e);
    else answer?.reject(e);
  };
  worker.on('message', (m: GatewayThreadMessage) => {
    if (m.type === 'failed') return failed(new Error(m.message));
    listening = true;
    answer?.resolve({ url: m.url, port: m.port });
  });
  worker.on('error', failed);
  worker.on('exit', (code) => failed(new Error(`the gateway thread ended (${code})`)));
  return {
    listen: (routing) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        answer = { resolve, reject };
        worker.postMessage({ type: 'listen', routing });
      }),
    close: () => thread.close({ type: 'close' }),
  };
}
