// The sandbox server's options, and the knobs tests use to make it misbehave.
import type { Store } from '../store.js';

/** Knobs for tests that need a misbehaving cluster. */
export interface Faults {
  /** Share (0..1) of API requests answered with `failCode` instead of being served. */
  failRatio: number;
  failCode: 429 | 500 | 503;
  /** Share (0..1) of API requests delayed by `delayMs`. */
  delayRatio: number;
  delayMs: number;
  /** Resource plurals every request for is refused with 403 Forbidden, as RBAC refuses them on a real server. */
  forbiddenResources: string[];
}

export interface ServerOptions {
  store: Store;
  /** Bearer token clients must present; unset accepts every caller. */
  token?: string;
  /**
   * Also serve callers that send no `Authorization` header at all when they connect from a loopback address (a wrong
   * token still gets 401; other addresses still need the token). For plain HTTP: client-go (kubectl, helm) never sends
   * credentials to an `http://` server (clientcmd reads a kubeconfig's user only when `rest.IsConfigTransportTLS`).
   */
  anonymousLoopback?: boolean;
  tls?: { key: string; cert: string };
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK. */
  bookmarkIntervalMs?: number;
  /** How long a watch without timeoutSeconds lasts before the server ends it (real servers: 30-60 minutes). */
  watchTimeoutSeconds?: number;
  /** Speed of simulated time for log streaming. */
  speed?: number;
  metrics?: () => Promise<{ contentType: string; body: string }>;
}
