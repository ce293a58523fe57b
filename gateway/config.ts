// The gateway's configuration from the environment, validated once at start (services/common/config.ts).
import { ConfigError, envBool, envInt, envString, isProduction } from '../services/common/config.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { GatewayOptions } from './gateway.js';
import { SUBGRAPHS, subgraphUrlsFromEnv } from './subgraphs.js';
import { accountsAuthenticator } from './identity.js';
import { IDENTITY_SECRET_ENV, identityKey } from '../services/common/identity.js';

/** Here rather than in gateway.ts: what reads the configuration need not load the gateway (services/start.ts). */
export const GATEWAY_DEFAULTS = {
  host: '127.0.0.1',
  redisKeyPrefix: 'kubegraph:gateway:',
  maxBodyBytes: 100 * 1024,
  subgraphTimeoutMs: 10_000,
  readyCacheMs: 2_000,
  apqTtlSeconds: 24 * 3600,
  queryPlanTtlSeconds: 24 * 3600,
  subscriptionQueueLimit: 1000,
  keepAliveMs: 12_000,
  wsSessionCheckMs: 2_000,
};

export function gatewayOptionsFromEnv(): GatewayOptions {
  const redisUrl = envString('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(
      `REDIS_URL=${JSON.stringify(redisUrl)} is not a valid value: expected redis://host:port[/db] or rediss://...`,
    );
  }
  const subgraphUrls = subgraphUrlsFromEnv();
  const identitySecret = envString(IDENTITY_SECRET_ENV);
  if (identitySecret !== undefined) identityKey(identitySecret);
  // Tokens are checked with accounts: its JWKS and internal endpoints are on the same origin as its GraphQL URL.
  const accountsOrigin = new URL(subgraphUrls.accounts ?? SUBGRAPHS.accounts.url).origin;
  return {
    identitySecret,
    authenticator: accountsAuthenticator({
      accountsUrl: accountsOrigin,
      internalToken: envString('ACCOUNTS_INTERNAL_TOKEN'),
    }),
    port: envInt('GATEWAY_PORT', 4000, { min: 0, max: 65535 }),
    host: envString('GATEWAY_HOST', GATEWAY_DEFAULTS.host),
    subgraphUrls,
    supergraphPath: envString('GATEWAY_SUPERGRAPH'),
    redisUrl,
    redisKeyPrefix: envString('REDIS_KEY_PREFIX', GATEWAY_DEFAULTS.redisKeyPrefix),
    introspection: envBool('GRAPHQL_INTROSPECTION', !isProduction()),
    ide: envBool('GATEWAY_IDE', !isProduction()),
    limits: {
      maxDepth: envInt('GATEWAY_MAX_DEPTH', DEFAULT_LIMITS.maxDepth, { min: 0 }),
      maxAliases: envInt('GATEWAY_MAX_ALIASES', DEFAULT_LIMITS.maxAliases, { min: 0 }),
      maxCost: envInt('GATEWAY_MAX_COST', DEFAULT_LIMITS.maxCost, { min: 0 }),
      defaultPageSize: envInt('GATEWAY_DEFAULT_PAGE_SIZE', DEFAULT_LIMITS.defaultPageSize, { min: 1 }),
      defaultListSize: envInt('GATEWAY_DEFAULT_LIST_SIZE', DEFAULT_LIMITS.defaultListSize, { min: 1 }),
    },
    maxBodyBytes: envInt('GATEWAY_MAX_BODY_BYTES', GATEWAY_DEFAULTS.maxBodyBytes, { min: 1024 }),
    subgraphTimeoutMs: envInt('GATEWAY_SUBGRAPH_TIMEOUT_MS', GATEWAY_DEFAULTS.subgraphTimeoutMs, { min: 1 }),
    apqTtlSeconds: envInt('GATEWAY_APQ_TTL_SECONDS', GATEWAY_DEFAULTS.apqTtlSeconds, { min: 0 }),
    queryPlanTtlSeconds: envInt('GATEWAY_QUERY_PLAN_TTL_SECONDS', GATEWAY_DEFAULTS.queryPlanTtlSeconds, { min: 0 }),
    subscriptionQueueLimit: envInt('GATEWAY_SUBSCRIPTION_QUEUE_LIMIT', GATEWAY_DEFAULTS.subscriptionQueueLimit, {
      min: 1,
    }),
    keepAliveMs: envInt('GATEWAY_WS_KEEPALIVE_MS', GATEWAY_DEFAULTS.keepAliveMs, { min: 100 }),
    trustProxy: trustProxyFromEnv(),
  };
}

/**
 * GATEWAY_TRUST_PROXY: how many proxies (load balancers) in front of the gateway append to X-Forwarded-For. `false`
 * or `0` (default): the client is the socket's peer; `true`: one proxy; a number: that many.
 */
export function trustProxyFromEnv(): number {
  const raw = envString('GATEWAY_TRUST_PROXY');
  if (raw === undefined || /^(false|no|off)$/i.test(raw)) return 0;
  if (/^(true|yes|on)$/i.test(raw)) return 1;
  if (/^\d{1,2}$/.test(raw) && Number(raw) <= 10) return Number(raw);
  throw new ConfigError(
    `GATEWAY_TRUST_PROXY=${JSON.stringify(raw)} is not a valid value: expected true, false, or the number of proxies in front of the gateway (0 to 10)`,
  );
}
