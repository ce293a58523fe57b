// The workloads subgraph's environment variables, validated once at start (README "Configuration"). The cluster
// itself comes from KUBECONFIG (or the pod's service account) through KubeConfig.loadFromDefault().
import { envHttpUrl, envInt, envString } from '../common/config.js';
import type { AccountsClientOptions } from './clients/accounts.js';

/** How long the watches may be down before /readyz fails (WORKLOADS_STALE_AFTER_MS). */
export const DEFAULT_STALE_AFTER_MS = 60_000;

export function workloadsOptionsFromEnv(): {
  port: number;
  host: string;
  staleAfterMs: number;
  accounts: AccountsClientOptions;
} {
  return {
    port: envInt('WORKLOADS_PORT', 4002, { min: 0, max: 65535 }),
    host: envString('WORKLOADS_HOST', '127.0.0.1')!,
    staleAfterMs: envInt('WORKLOADS_STALE_AFTER_MS', DEFAULT_STALE_AFTER_MS, { min: 1000, max: 3_600_000 }),
    accounts: accountsFromEnv(),
  };
}

/** accounts' internal endpoints, on the origin of ACCOUNTS_URL (the gateway's variable for the same service). */
function accountsFromEnv(): AccountsClientOptions {
  const raw = envHttpUrl('ACCOUNTS_URL', 'http://host:port/graphql') ?? 'http://127.0.0.1:4001/graphql';
  return { url: new URL(raw).origin, internalToken: envString('ACCOUNTS_INTERNAL_TOKEN') };
}
