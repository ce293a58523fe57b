// The gateway: @apollo/gateway over the static supergraph, served by Apollo Server on services/common/http.ts, and
// graphql-ws on the same server. startGateway assembles one module per concern: metrics (metrics.ts), caches
// (caches.ts), identity and the graphql-ws connections' auth (auth.ts), limits (limits.ts), request logs
// (request-log.ts), bad input and error shapes (http-errors.ts), readiness (readiness.ts), graphql-ws (ws-server.ts)
// and the subscriptions it runs (subscriptions.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
// Before @apollo/gateway: its telemetry is off in every process that runs a gateway.
import './no-telemetry.js';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import type { Registry } from 'prom-client';
import { isProduction } from '../services/common/config.js';
import { closeServer, createServiceHttpServer, listen } from '../services/common/http.js';
import { firstRoute, ideRoute } from './ide.js';
import { identityKey, signIdentity } from '../services/common/identity.js';
import { createLogger, type Logger } from '../services/common/log.js';
import { connectionAuth, httpContext, refusedTokensPlugin } from './auth.js';
import { createGatewayCaches } from './caches.js';
import { SUPERGRAPH_PATH } from './subgraphs.js';
import { GATEWAY_DEFAULTS } from './config.js';
import { KubegraphDataSource, stalenessPlugin, tracingPlugin, type GatewayContext } from './datasource.js';
import { errorFormatter, requestErrorsPlugin } from './http-errors.js';
import { developmentAuthenticator, type Authenticator } from './identity.js';
import { logExportRoute } from './log-export.js';
import { costLimitPlugin, DEFAULT_LIMITS, limitRules, type QueryLimits } from './limits.js';
import { createGatewayMetrics } from './metrics.js';
import { createPlanExecutor } from './plan-executor.js';
import { subgraphReadiness } from './readiness.js';
import { requestLog } from './request-log.js';
import { SubscriptionExecutor } from './subscriptions.js';
import { attachGatewayWsServer } from './ws-server.js';

export interface GatewayOptions {
  port: number;
  host?: string;
  /** Overrides of the routing URLs written in the supergraph, by subgraph name. */
  subgraphUrls?: Record<string, string>;
  /** The supergraph SDL; default: the file schema/supergraph.graphql (or supergraphPath). */
  supergraphSdl?: string;
  supergraphPath?: string;
  /**
   * Whether the supergraph is validated as it is loaded (about 0.3 s of CPU); default Apollo's: except in production.
   * `npm start` skips it for schema/supergraph.graphql, which composition validated when it wrote it (npm run
   * compose; test/supergraph.test.ts checks the file is what composition writes).
   */
  validateSupergraph?: boolean;
  /** With a Redis URL, persisted queries and query plans are cached there (shared by replicas); else in memory. */
  redisUrl?: string;
  /** Prefix of every Redis key of this gateway. */
  redisKeyPrefix?: string;
  limits?: Partial<QueryLimits>;
  introspection?: boolean;
  /** GraphiQL for browsers on GET /graphql (gateway/ide.ts); default: on unless NODE_ENV=production. */
  ide?: boolean;
  /** Largest request body (and GET query string), bytes. */
  maxBodyBytes?: number;
  subgraphTimeoutMs?: number;
  /** How long a /readyz answer of the subgraphs is reused. */
  readyCacheMs?: number;
  apqTtlSeconds?: number;
  queryPlanTtlSeconds?: number;
  logger?: Logger;
  /** Results a subscription client may have waiting before it is cut off. */
  subscriptionQueueLimit?: number;
  /** graphql-ws pings to clients and to subgraphs (ms). */
  keepAliveMs?: number;
  /** Back-off of upstream resubscription (ms). */
  resubscribeBackoff?: { min: number; max: number };
  /** Verifies callers' tokens; default: everyone is the development identity (no accounts configured). */
  authenticator?: Authenticator;
  /** The secret the forwarded identity is signed with (KUBEGRAPH_IDENTITY_SECRET); unset: no identity is forwarded. */
  identitySecret?: string;
  /** Lifetime (s) of the identity sent with upstream subscriptions: how long one runs on roles since changed (60). */
  identityTtlSeconds?: number;
  /**
   * Proxies in front of the gateway whose X-Forwarded-For entries are trusted (GATEWAY_TRUST_PROXY): the client's
   * address is the entry that many places from the right. 0 (default): the socket's address, X-Forwarded-For ignored.
   */
  trustProxy?: number;
  /**
   * How often each graphql-ws connection's credentials are checked again (ms): a connection whose session ended
   * (logout, password change, refresh-token reuse) or whose user may no longer act is closed (4401 / 4403).
   */
  wsSessionCheckMs?: number;
  /** Query plans run by gateway/plan-executor.ts, Apollo's executor for what it does not handle (default: on). */
  planExecutor?: boolean;
}

export interface Gateway {
  url: string;
  port: number;
  metrics: Registry;
  /** The subgraphs and the URLs the gateway routes to. */
  subgraphs: Record<string, string>;
  ready(): Promise<boolean>;
  close(): Promise<void>;
  /** Requests answered by gateway/plan-executor.ts and by Apollo's executor (undefined: planExecutor off). */
  planStats?: () => { ours: number; apollo: number };
}

/** Apollo's logger interface over ours (Apollo's debug lines are dropped). */
const apolloLogger = (log: Logger) => ({
  debug: () => {},
  info: (m: unknown) => log.info(String(m)),
  warn: (m: unknown) => log.warn(String(m)),
  error: (m: unknown) => log.error(String(m)),
});

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  return (await prepareGateway(opts)).listen(opts);
}

/** Where a prepared gateway routes, and who its callers are (GatewayOptions' of the same names). */
export interface GatewayRouting {
  subgraphUrls?: Record<string, string>;
  authenticator?: Authenticator;
}

/** A gateway up to serving: its supergraph built and its server started, not yet listening. */
export interface PreparedGateway {
  /** Routes to `routing`'s subgraph URLs (those the supergraph has otherwise) and serves; once. */
  listen(routing: GatewayRouting): Promise<Gateway>;
  /** Stops it without its ever listening. */
  close(): Promise<void>;
}

/**
 * The part of the start that needs neither the subgraphs' URLs nor the authenticator, the most of it (building the
 * supergraph's schemas and query planner: issue 19 §4): `npm start` runs it while its subgraphs start
 * (gateway/thread.ts). `opts.subgraphUrls` and `opts.authenticator` are not read here.
 */
export async function prepareGateway(
  opts: Omit<GatewayOptions, 'subgraphUrls' | 'authenticator'>,
): Promise<PreparedGateway> {
  const o = { ...GATEWAY_DEFAULTS, ...definedOnly(opts) };
  const log = opts.logger ?? createLogger('gateway');
  const limits: QueryLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const supergraphSdl = opts.supergraphSdl ?? readFileSync(opts.supergraphPath ?? SUPERGRAPH_PATH, 'utf8');
  const introspection = opts.introspection ?? !isProduction();
  const signingKey = opts.identitySecret ? identityKey(opts.identitySecret) : undefined;
  const metrics = createGatewayMetrics();
  const caches = await createGatewayCaches({
    redisUrl: opts.redisUrl,
    redisKeyPrefix: o.redisKeyPrefix,
    supergraphHash: createHash('sha256').update(supergraphSdl).digest('hex').slice(0, 16),
    queryPlanTtlSeconds: o.queryPlanTtlSeconds,
    log,
    onPlanLookup: metrics.planCacheLookup,
  });

  const subgraphs: Record<string, string> = {};
  const dataSources: Record<string, KubegraphDataSource> = {};
  const plans =
    opts.planExecutor === false
      ? undefined
      : createPlanExecutor({ plans: caches.plans, dataSources: () => dataSources });
  const gateway = new ApolloGateway({
    supergraphSdl,
    // Undefined: Apollo's default.
    validateSupergraph: opts.validateSupergraph,
    logger: apolloLogger(log),
    queryPlannerConfig: { cache: plans?.plans ?? caches.plans },
    // The supergraph's URLs until `listen` is told others (the data sources read theirs at each fetch).
    buildService: ({ name, url }) => {
      subgraphs[name] = url ?? '';
      return (dataSources[name] = new KubegraphDataSource({
        name,
        url: url ?? '',
        timeoutMs: o.subgraphTimeoutMs,
        identityKey: signingKey,
        observe: metrics.subgraphFetch,
      }));
    },
  });

  const requests = requestLog(metrics, log);
  const apollo = new ApolloServer<GatewayContext>({
    gateway: plans?.wrap(gateway) ?? gateway,
    introspection,
    // Without introspection, error messages must not reveal the schema either ("Did you mean ...?").
    hideSchemaDetailsFromClientErrors: !introspection,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    persistedQueries: { ...(caches.apq ? { cache: caches.apq } : {}), ttl: o.apqTtlSeconds },
    cache: 'bounded',
    validationRules: limitRules(limits),
    formatError: errorFormatter(introspection),
    plugins: [
      refusedTokensPlugin,
      costLimitPlugin(limits),
      requests.plugin,
      requestErrorsPlugin,
      stalenessPlugin,
      tracingPlugin,
      // Nothing reported to Apollo whatever APOLLO_KEY says, and no landing page loaded from Apollo's CDN
      // (DESIGN.md "Network").
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginLandingPageDisabled(),
    ],
    logger: apolloLogger(log),
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  let listening = false;
  const stopPrepared = async () => {
    await apollo.stop();
    await caches.close();
  };
  return {
    close: stopPrepared,
    listen: async (routing) => {
      if (listening) throw new Error('the gateway listens already');
      listening = true;
      const missing = Object.keys(dataSources).find((name) => !(routing.subgraphUrls?.[name] ?? subgraphs[name]));
      if (missing) {
        await stopPrepared();
        throw new Error(`subgraph "${missing}" has no URL in the supergraph and none is configured`);
      }
      for (const name of Object.keys(dataSources))
        subgraphs[name] = dataSources[name]!.url = routing.subgraphUrls?.[name] ?? subgraphs[name]!;
      return serve(routing.authenticator ?? developmentAuthenticator);
    },
  };

  async function serve(authenticator: Authenticator): Promise<Gateway> {
    const ready = subgraphReadiness({ subgraphs, timeoutMs: o.subgraphTimeoutMs, cacheMs: o.readyCacheMs, log });
    const server: Server = createServiceHttpServer<GatewayContext>({
      apollo,
      metrics: metrics.registry,
      ready,
      maxBodyBytes: o.maxBodyBytes,
      context: httpContext(authenticator, opts.trustProxy ?? 0),
      onResponse: requests.onResponse,
      // GraphiQL for browsers (ide.ts), and GET /logs/export, streamed from the logging subgraph (log-export.ts).
      routes: firstRoute(
        (opts.ide ?? !isProduction()) ? ideRoute({ path: '/graphql' }) : undefined,
        logExportRoute({
          authenticator,
          signingKey,
          loggingUrl: () => subgraphs.logging,
          timeoutMs: o.subgraphTimeoutMs,
          log,
        }),
      ),
    });

    const executor = new SubscriptionExecutor({
      supergraphSdl,
      dataSources: () => dataSources,
      subgraphUrls: () => subgraphs,
      log,
      maxQueue: o.subscriptionQueueLimit,
      keepAliveMs: o.keepAliveMs,
      backoff: opts.resubscribeBackoff,
      signIdentity: signingKey ? (identity) => signIdentity(signingKey, identity, opts.identityTtlSeconds) : undefined,
      refreshIdentity: authenticator.refresh ? (identity) => authenticator.refresh!(identity) : undefined,
      observe: metrics.subscriptions,
    });
    const auth = connectionAuth(authenticator, log, o.wsSessionCheckMs);
    const ws = attachGatewayWsServer({
      server,
      apollo,
      executor,
      auth,
      limits,
      introspection,
      keepAliveMs: o.keepAliveMs,
    });
    metrics.watch({ wsConnections: ws.connections, clientSubscriptions: () => executor.stats().clients });

    const port = await listen(server, opts.port, o.host);
    const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/graphql`;
    log.info('gateway listening', { url, subgraphs, cache: caches.backend, introspection });

    return {
      url,
      port,
      metrics: metrics.registry,
      subgraphs,
      ready,
      planStats: plans?.stats,
      async close() {
        auth.close();
        await ws.close();
        await executor.close();
        await closeServer(server);
        await apollo.stop();
        await caches.close();
      },
    };
  }
}

/** The options that are set: an option given as undefined takes its default. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
