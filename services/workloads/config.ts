// The workloads subgraph's environment variables, validated once at start (README "Configuration"). The cluster
// itself comes from KUBECONFIG (or the pod's service account) through KubeConfig.loadFromDefault().
import { ConfigError, envInt, envString } from '../common/config.js';
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
  const raw = envString('ACCOUNTS_URL', 'http://127.0.0.1:4001/graphql')!;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      `ACCOUNTS_URL=${JSON.stringify(raw)} is not a valid value: expected http://host:port/graphql`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`ACCOUNTS_URL=${JSON.stringify(raw)} is not a valid value: expected an http(s) URL`);
  return { url: url.origin, internalToken: envString('ACCOUNTS_INTERNAL_TOKEN') };
}
