// The gateway: @apollo/gateway over the static supergraph, served by Apollo Server on services/common/http.ts.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { isIP } from 'node:net';
// Before @apollo/gateway: its telemetry is off in every process that runs a gateway.
import './no-telemetry.js';
import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestContextWillSendResponse } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloGateway, type GatewayConfig } from '@apollo/gateway';
import {
  GraphQLError,
  getOperationAST,
  Kind,
  parse,
  print,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { closeServer, createMetricsRegistry, createServiceHttpServer, listen } from '../services/common/http.js';
import {
  InMemoryLRUCache,
  jsonCodec,
  RedisKeyValueCache,
  stringCodec,
  type KeyValueCache,
} from '../services/common/kvcache.js';
import { createRedisClient, redactRedisUrl, redisReady } from '../services/common/redis.js';
import { createLogger, type Logger } from '../services/common/log.js';
import { KubegraphDataSource, stalenessOf, type GatewayContext } from './datasource.js';
import { SUPERGRAPH_PATH } from './compose.js';
import { costError, DEFAULT_LIMITS, LimitCode, limitRules, operationCost, type QueryLimits } from './limits.js';
import { readyzUrl } from './subgraphs.js';
import { SubscriptionExecutor } from './subscriptions.js';
import {
  bearerToken,
  connectionToken,
  developmentAuthenticator,
  isNotAllowed,
  isUnauthenticated,
  type Authenticator,
  type Identity,
} from './identity.js';
import { identityKey, signIdentity } from '../services/common/identity.js';
import { ANONYMOUS, isAnonymous } from '../services/common/authz.js';
import { ErrorCode } from '../services/common/errors.js';

type QueryPlanCache = NonNullable<NonNullable<GatewayConfig['queryPlannerConfig']>['cache']>;
type QueryPlan = QueryPlanCache extends KeyValueCache<infer P> ? P : never;

export interface GatewayOptions {
  port: number;
  host?: string;
  /** Overrides of the routing URLs written in the supergraph, by subgraph name. */
  subgraphUrls?: Record<string, string>;
  /** The supergraph SDL; default: the file schema/supergraph.graphql (or supergraphPath). */
  supergraphSdl?: string;
  supergraphPath?: string;
  /** With a Redis URL, persisted queries and query plans are cached there (shared by replicas); else in memory. */
  redisUrl?: string;
  /** Prefix of every Redis key of this gateway. */
  redisKeyPrefix?: string;
  limits?: Partial<QueryLimits>;
  introspection?: boolean;
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
}

export interface Gateway {
  url: string;
  port: number;
  metrics: Registry;
  /** The subgraphs and the URLs the gateway routes to. */
  subgraphs: Record<string, string>;
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

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

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const MAX_OPERATION_LABELS = 500;
const LIMIT_CODES = new Set<string>(Object.values(LimitCode));

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.logger ?? createLogger('gateway');
  const limits: QueryLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const supergraphSdl = opts.supergraphSdl ?? readFileSync(opts.supergraphPath ?? SUPERGRAPH_PATH, 'utf8');
  const supergraphHash = createHash('sha256').update(supergraphSdl).digest('hex').slice(0, 16);
  const subgraphTimeoutMs = opts.subgraphTimeoutMs ?? GATEWAY_DEFAULTS.subgraphTimeoutMs;
  const readyCacheMs = opts.readyCacheMs ?? GATEWAY_DEFAULTS.readyCacheMs;

  // ---- metrics
  const metrics = createMetricsRegistry('gateway');
  const requests = new Counter({
    name: 'kubegraph_gateway_requests_total',
    help: 'GraphQL requests by operation name and outcome',
    labelNames: ['operation', 'outcome'],
    registers: [metrics],
  });
  const duration = new Histogram({
    name: 'kubegraph_gateway_request_duration_seconds',
    help: 'GraphQL request duration by operation name and outcome',
    labelNames: ['operation', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics],
  });
  const fetchDuration = new Histogram({
    name: 'kubegraph_gateway_subgraph_fetch_duration_seconds',
    help: 'Duration of fetches to subgraphs by service and outcome',
    labelNames: ['service', 'outcome'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics],
  });
  const inFlight = new Gauge({
    name: 'kubegraph_gateway_requests_in_flight',
    help: 'GraphQL requests being processed',
    registers: [metrics],
  });
  const planCacheLookups = new Counter({
    name: 'kubegraph_gateway_query_plan_cache_total',
    help: 'Query plan cache lookups by result',
    labelNames: ['result'],
    registers: [metrics],
  });
  const operationLabels = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (operationLabels.has(name)) return name;
    if (operationLabels.size >= MAX_OPERATION_LABELS) return 'other';
    operationLabels.add(name);
    return name;
  };

  // ---- caches
  let redis: Redis | undefined;
  let apqCache: KeyValueCache<string> | undefined;
  let planStore: KeyValueCache<QueryPlan>;
  if (opts.redisUrl) {
    redis = createRedisClient(opts.redisUrl, log);
    if (!(await redisReady(redis, 2_000)))
      log.warn('redis not reachable at start: caches bypassed until it is', { redis: redactRedisUrl(opts.redisUrl) });
    const prefix = opts.redisKeyPrefix ?? GATEWAY_DEFAULTS.redisKeyPrefix;
    apqCache = new RedisKeyValueCache(redis, { prefix: `${prefix}apq:`, codec: stringCodec, logger: log });
    // Plans are only valid for the supergraph they were planned on: its hash is part of the key.
    planStore = new RedisKeyValueCache<QueryPlan>(redis, {
      prefix: `${prefix}plan:${supergraphHash}:`,
      codec: jsonCodec<QueryPlan>(),
      logger: log,
    });
  } else {
    planStore = new InMemoryLRUCache<QueryPlan>({ max: 2000 });
  }
  const queryPlanTtl = opts.queryPlanTtlSeconds ?? GATEWAY_DEFAULTS.queryPlanTtlSeconds;
  const planCache: QueryPlanCache = {
    async get(key) {
      const plan = await planStore.get(key);
      planCacheLookups.inc({ result: plan ? 'hit' : 'miss' });
      return plan;
    },
    set: (key, value) => planStore.set(key, value, { ttl: queryPlanTtl }),
    delete: (key) => planStore.delete(key),
    // Called when the supergraph changes; it never does at run time here (static supergraph), and Redis keys are
    // per supergraph hash anyway.
    clear: () => {
      if (planStore instanceof InMemoryLRUCache) planStore.clear();
    },
  };

  // ---- gateway
  const subgraphs: Record<string, string> = {};
  const dataSources: Record<string, KubegraphDataSource> = {};
  const signingKey = opts.identitySecret ? identityKey(opts.identitySecret) : undefined;
  const authenticator = opts.authenticator ?? developmentAuthenticator;
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger: {
      debug: () => {},
      info: (m: unknown) => log.info(String(m)),
      warn: (m: unknown) => log.warn(String(m)),
      error: (m: unknown) => log.error(String(m)),
    },
    queryPlannerConfig: { cache: planCache },
    buildService: ({ name, url }) => {
      const target = opts.subgraphUrls?.[name] ?? url;
      if (!target) throw new Error(`subgraph "${name}" has no URL in the supergraph and none is configured`);
      subgraphs[name] = target;
      const source = new KubegraphDataSource({
        name,
        url: target,
        timeoutMs: subgraphTimeoutMs,
        identityKey: signingKey,
        observe: (service, seconds, outcome) => fetchDuration.observe({ service, outcome }, seconds),
      });
      dataSources[name] = source;
      return source;
    },
  });

  // ---- request observation: one log line per request, metrics
  const seen = new WeakSet<object>();
  const observe: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart(rc) {
      const started = process.hrtime.bigint();
      if (rc.contextValue.req) seen.add(rc.contextValue.req);
      inFlight.inc();
      return {
        async didResolveOperation(rc2) {
          // The validation rule estimated the cost without variables; now their values are known.
          // Without variables the validation-time estimate was already exact.
          if (limits.maxCost <= 0 || !rc2.operation?.variableDefinitions?.length) return;
          const cost = operationCost(rc2.schema, rc2.document, rc2.operation, limits, rc2.request.variables ?? {});
          if (cost > limits.maxCost) throw costError(cost, limits.maxCost);
        },
        async willSendResponse(rc2) {
          inFlight.dec();
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const body = rc2.response.body;
          const result = body.kind === 'single' ? body.singleResult : body.initialResult;
          const errors: readonly GraphQLFormattedError[] = result.errors ?? [];
          const hasData = result.data !== undefined && result.data !== null;
          const outcome = errors.length === 0 ? 'success' : hasData ? 'partial' : 'error';
          const operation = operationLabel(rc2.operationName ?? rc2.request.operationName);
          requests.inc({ operation, outcome });
          duration.observe({ operation, outcome }, seconds);
          const codes = [...new Set(errors.map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')))];
          const services = [
            ...new Set(errors.map((e) => e.extensions?.service).filter((s): s is string => typeof s === 'string')),
          ];
          log.info('graphql request', {
            requestId: rc2.contextValue.requestId,
            operation: rc2.operationName ?? rc2.request.operationName ?? null,
            operationType: rc2.operation?.operation ?? null,
            queryHash: rc2.queryHash ?? null,
            outcome,
            status: rc2.response.http.status ?? 200,
            durationMs: Math.round(seconds * 1e4) / 10,
            ...(codes.length ? { errorCodes: codes } : {}),
            ...(services.length ? { services } : {}),
          });
        },
      };
    },
  };

  const persistedQueries = { cache: apqCache, ttl: opts.apqTtlSeconds ?? GATEWAY_DEFAULTS.apqTtlSeconds };
  const introspection = opts.introspection ?? process.env.NODE_ENV !== 'production';
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection,
    // Without introspection, error messages must not reveal the schema either ("Did you mean ...?").
    hideSchemaDetailsFromClientErrors: !introspection,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    persistedQueries: apqCache ? persistedQueries : { ttl: persistedQueries.ttl },
    cache: 'bounded',
    validationRules: limitRules(limits),
    formatError: introspection ? formatError : (formatted, error) => withoutSuggestions(formatError(formatted, error)),
    plugins: [
      refusedTokens,
      observe,
      requestErrorsPlugin,
      stalenessPlugin,
      // Nothing reported to Apollo whatever APOLLO_KEY says, and no landing page loaded from Apollo's CDN
      // (DESIGN.md "Network").
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginLandingPageDisabled(),
    ],
    logger: {
      debug: () => {},
      info: (m: unknown) => log.info(String(m)),
      warn: (m: unknown) => log.warn(String(m)),
      error: (m: unknown) => log.error(String(m)),
    },
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  // ---- readiness: every subgraph's /readyz answers 200; the answer is reused for readyCacheMs
  let readyAt = 0;
  let readyAnswer: Promise<boolean> | undefined;
  const notReady = new Set<string>();
  const checkSubgraphs = async (): Promise<boolean> => {
    const results = await Promise.all(
      Object.entries(subgraphs).map(async ([name, url]) => {
        try {
          const res = await fetch(readyzUrl(url), { signal: AbortSignal.timeout(Math.min(2_000, subgraphTimeoutMs)) });
          await res.arrayBuffer();
          return [name, res.status === 200] as const;
        } catch {
          return [name, false] as const;
        }
      }),
    );
    for (const [name, ok] of results) {
      if (!ok && !notReady.has(name)) log.warn('subgraph not ready', { subgraph: name });
      if (ok) notReady.delete(name);
      else notReady.add(name);
    }
    return results.length > 0 && results.every(([, ok]) => ok);
  };
  const ready = (): Promise<boolean> => {
    if (!readyAnswer || Date.now() - readyAt > readyCacheMs) {
      readyAt = Date.now();
      readyAnswer = checkSubgraphs();
    }
    return readyAnswer;
  };

  const server: Server = createServiceHttpServer<GatewayContext>({
    apollo,
    metrics,
    ready,
    maxBodyBytes: opts.maxBodyBytes ?? GATEWAY_DEFAULTS.maxBodyBytes,
    // No token is the anonymous caller. A refused token fails the request with UNAUTHENTICATED (HTTP 401) once the
    // operation is known (refusedTokens), unless it only logs in or refreshes.
    context: async ({ req }) => {
      const base = {
        req,
        requestId: requestIdOf(req.headers['x-request-id']),
        client: clientOf(req, opts.trustProxy ?? 0),
      };
      try {
        return { ...base, viewer: await authenticator.authenticate(bearerToken(req.headers.authorization)) };
      } catch (e) {
        if (isUnauthenticated(e)) return { ...base, viewer: ANONYMOUS, refusedToken: e };
        throw e;
      }
    },
    onResponse: ({ req, path, status, seconds }) => {
      // GraphQL requests refused before Apollo's request pipeline (body too large, CSRF prevention, bad JSON)
      // get their log line and count here.
      if (path !== '/graphql' || seen.has(req)) return;
      requests.inc({ operation: 'unknown', outcome: 'rejected' });
      duration.observe({ operation: 'unknown', outcome: 'rejected' }, seconds);
      log.info('graphql request', {
        requestId: requestIdOf(req.headers['x-request-id']),
        operation: null,
        outcome: 'rejected',
        status,
        durationMs: Math.round(seconds * 1e4) / 10,
      });
    },
  });
  // ---- subscriptions over graphql-ws, on the same path as HTTP
  const upstreamSubscriptions = new Gauge({
    name: 'kubegraph_gateway_upstream_subscriptions',
    help: 'Subscriptions open to subgraphs (shared by clients with the same upstream operation)',
    labelNames: ['service'],
    registers: [metrics],
  });
  const upstreamReconnects = new Counter({
    name: 'kubegraph_gateway_upstream_resubscribes_total',
    help: 'Upstream subscriptions reopened after a drop',
    labelNames: ['service'],
    registers: [metrics],
  });
  const eventsIn = new Counter({
    name: 'kubegraph_gateway_subscription_events_in_total',
    help: 'Events received from subgraphs',
    labelNames: ['service'],
    registers: [metrics],
  });
  const eventsOut = new Counter({
    name: 'kubegraph_gateway_subscription_events_out_total',
    help: 'Results queued to subscription clients',
    registers: [metrics],
  });
  const cutOff = new Counter({
    name: 'kubegraph_gateway_subscription_clients_cut_off_total',
    help: 'Clients disconnected because they stopped reading',
    registers: [metrics],
  });
  const enrichment = new Histogram({
    name: 'kubegraph_gateway_subscription_enrichment_seconds',
    help: 'Per-event time to run the rest of the plan (entity fetches) for every operation of an upstream',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [metrics],
  });
  const executor = new SubscriptionExecutor({
    supergraphSdl,
    dataSources: () => dataSources,
    subgraphUrls: () => subgraphs,
    log,
    maxQueue: opts.subscriptionQueueLimit ?? GATEWAY_DEFAULTS.subscriptionQueueLimit,
    keepAliveMs: opts.keepAliveMs ?? GATEWAY_DEFAULTS.keepAliveMs,
    backoff: opts.resubscribeBackoff,
    signIdentity: signingKey ? (identity) => signIdentity(signingKey, identity, opts.identityTtlSeconds) : undefined,
    refreshIdentity: authenticator.refresh ? (identity) => authenticator.refresh!(identity) : undefined,
    observe: {
      upstreamOpened: (service) => upstreamSubscriptions.inc({ service }),
      upstreamClosed: (service) => upstreamSubscriptions.dec({ service }),
      upstreamReconnect: (service) => upstreamReconnects.inc({ service }),
      eventIn: (service) => eventsIn.inc({ service }),
      eventsOut: (n) => eventsOut.inc(n),
      enrichment: (seconds) => enrichment.observe(seconds),
      clientCutOff: () => cutOff.inc(),
    },
  });
  new Gauge({
    name: 'kubegraph_gateway_subscriptions_active',
    help: 'Client subscriptions open',
    registers: [metrics],
    collect() {
      this.set(executor.stats().clients);
    },
  });
  const wsRules = [...specifiedRules, ...limitRules(limits)];
  /** The identity of each graphql-ws connection, from its connection_init. */
  const identities = new WeakMap<object, Identity>();
  /** Open, authenticated graphql-ws connections (their context → socket), for the session check. */
  const connections = new Map<object, import('ws').WebSocket>();
  type WsContext = GatewayContext & { identity: Identity; cutOff: () => void };
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const wsCleanup = useServer<Record<string, unknown> | undefined, { socket: import('ws').WebSocket }>(
    {
      // The token arrives in connection_init and is checked before any subscription: missing, invalid, expired or
      // revoked closes with 4401; a genuine token of a user who may not act (disabled, locked) with 4403; accounts
      // unreachable with 1013 (try again later). Closed here with our code: graphql-ws's own close (4403) that
      // follows `false` is then a no-op.
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        let identity: Identity;
        try {
          identity = await authenticator.authenticate(connectionToken(ctx.connectionParams));
        } catch (e) {
          log.info('graphql-ws connection refused', { reason: e instanceof Error ? e.message : String(e) });
          if (isNotAllowed(e)) socket.close(WS_FORBIDDEN, 'Forbidden');
          else if (isUnauthenticated(e)) socket.close(WS_UNAUTHORIZED, 'Unauthorized');
          else socket.close(WS_TRY_AGAIN_LATER, 'Try again later');
          return false;
        }
        // Nothing can be subscribed to anonymously: a connection without a token is refused outright.
        if (isAnonymous(identity)) {
          socket.close(WS_UNAUTHORIZED, 'Unauthorized');
          return false;
        }
        identities.set(ctx, identity);
        connections.set(ctx, socket);
        return true;
      },
      onClose: (ctx) => {
        connections.delete(ctx);
      },
      onSubscribe: (ctx, id, payload) => {
        let document;
        try {
          document = parse(payload.query);
        } catch (e) {
          return [e instanceof GraphQLError ? e : new GraphQLError(String(e))];
        }
        const errors = validate(executor.apiSchema, document, wsRules);
        if (errors.length)
          return errors.map(
            (e) =>
              new GraphQLError(introspection ? e.message : withoutSuggestions(e).message, {
                nodes: e.nodes,
                extensions: { ...e.extensions, code: e.extensions.code ?? 'GRAPHQL_VALIDATION_FAILED' },
              }),
          );
        const operation = getOperationAST(document, payload.operationName);
        if (!operation)
          return [new GraphQLError('Unable to identify operation', { extensions: { code: ErrorCode.BAD_USER_INPUT } })];
        const variables = payload.variables ?? {};
        if (limits.maxCost > 0) {
          const cost = operationCost(executor.apiSchema, document, operation, limits, variables);
          if (cost > limits.maxCost) return [costError(cost, limits.maxCost)];
        }
        const socket = ctx.extra.socket;
        const identity = identities.get(ctx);
        if (!identity)
          return [new GraphQLError('not authenticated', { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        const contextValue: WsContext = { requestId: `ws-${id}`, identity, cutOff: () => socket.terminate() };
        return {
          schema: executor.apiSchema,
          document,
          operationName: payload.operationName ?? undefined,
          variableValues: variables,
          contextValue,
        } satisfies ExecutionArgs;
      },
      subscribe: (args: ExecutionArgs) => {
        const ctx = args.contextValue as WsContext;
        try {
          return executor.subscribe({
            document: args.document,
            operationName: args.operationName,
            variables: (args.variableValues ?? {}) as Record<string, unknown>,
            identity: ctx.identity,
            context: { requestId: ctx.requestId, viewer: ctx.identity },
            onCutOff: ctx.cutOff,
          });
        } catch (e) {
          return {
            errors: [e instanceof GraphQLError ? e : new GraphQLError(e instanceof Error ? e.message : String(e))],
          } satisfies ExecutionResult;
        }
      },
      // Queries and mutations over graphql-ws take the HTTP path's pipeline (limits, plans, caches).
      execute: async (args: ExecutionArgs) => {
        const ctx = args.contextValue as WsContext;
        const res = await apollo.executeOperation(
          {
            query: print(args.document),
            operationName: args.operationName ?? undefined,
            variables: (args.variableValues ?? {}) as Record<string, unknown>,
          },
          { contextValue: { requestId: ctx.requestId, viewer: ctx.identity } },
        );
        return (res.body.kind === 'single' ? res.body.singleResult : res.body.initialResult) as ExecutionResult;
      },
    },
    wss,
    opts.keepAliveMs ?? GATEWAY_DEFAULTS.keepAliveMs,
  );

  // Credentials are checked at connection_init only; a session ended since (or a user disabled, locked, deleted) must
  // not keep its socket: each connection is checked again (cheap while accounts' revision is unchanged).
  const refresh = authenticator.refresh?.bind(authenticator);
  let sweeping = false;
  const sessionSweep = refresh
    ? setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        void Promise.all(
          [...connections].map(async ([ctx, socket]) => {
            const identity = identities.get(ctx);
            if (!identity) return;
            try {
              identities.set(ctx, await refresh(identity));
            } catch (e) {
              // accounts unreachable: keep the connection (its subscriptions' renewals will tell).
              if (!isUnauthenticated(e) && !isNotAllowed(e)) return;
              connections.delete(ctx);
              log.info('graphql-ws connection closed: credentials no longer valid', {
                reason: e instanceof Error ? e.message : String(e),
              });
              socket.close(
                isNotAllowed(e) ? WS_FORBIDDEN : WS_UNAUTHORIZED,
                isNotAllowed(e) ? 'Forbidden' : 'Unauthorized',
              );
            }
          }),
        ).finally(() => (sweeping = false));
      }, opts.wsSessionCheckMs ?? GATEWAY_DEFAULTS.wsSessionCheckMs)
    : undefined;
  sessionSweep?.unref();

  new Gauge({
    name: 'kubegraph_gateway_ws_connections',
    help: 'Open graphql-ws connections from clients',
    registers: [metrics],
    collect() {
      this.set(wss.clients.size);
    },
  });

  const port = await listen(server, opts.port, opts.host ?? GATEWAY_DEFAULTS.host);
  const host = opts.host ?? GATEWAY_DEFAULTS.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/graphql`;
  log.info('gateway listening', { url, subgraphs, cache: redis ? 'redis' : 'memory', introspection });

  return {
    url,
    port,
    metrics,
    subgraphs,
    ready,
    async close() {
      if (sessionSweep) clearInterval(sessionSweep);
      for (const c of wss.clients) c.terminate();
      await wsCleanup.dispose();
      await executor.close();
      await new Promise<void>((r) => wss.close(() => r()));
      await closeServer(server);
      await apollo.stop();
      if (redis) await redis.quit().catch(() => redis?.disconnect());
    },
  };
}

/** graphql-ws close codes of refused connections (README "Subscriptions"). */
const WS_UNAUTHORIZED = 4401;
const WS_FORBIDDEN = 4403;
const WS_TRY_AGAIN_LATER = 1013;

/** Root fields that need no identity: a caller with a stale token must still be able to log in again. */
const SESSION_FIELDS = new Set(['login', 'refreshToken', 'logout']);

/**
 * Whether an operation only logs in, refreshes or logs out: a mutation whose root selections are only those fields
 * (no fragments, whose content would have to be checked too). Only such an operation runs when the caller's token is
 * refused, as the anonymous caller; every other one answers UNAUTHENTICATED (401), so a bad token never passes as
 * no token.
 */
export function sessionOperationOnly(operation: OperationDefinitionNode): boolean {
  const roots = operation.selectionSet.selections;
  return (
    operation.operation === 'mutation' &&
    roots.length > 0 &&
    roots.every((s) => s.kind === Kind.FIELD && SESSION_FIELDS.has(s.name.value))
  );
}

const refusedTokens: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart(rc) {
    const refused = rc.contextValue.refusedToken;
    if (!refused) return;
    return {
      async didResolveOperation(rc2) {
        if (!rc2.operation || !sessionOperationOnly(rc2.operation)) throw refused;
      },
    };
  },
};

/** The client's address (through GATEWAY_TRUST_PROXY proxies) and user agent, forwarded for login records. */
function clientOf(req: IncomingMessage, trustProxy: number): { ip?: string; userAgent?: string } {
  const socketAddress = req.socket.remoteAddress;
  let ip = socketAddress;
  if (trustProxy > 0) {
    const header = req.headers['x-forwarded-for'];
    const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    // Each trusted proxy appended the address it saw: from the right, the entry `trustProxy` places in is the
    // client's; entries further left came from the client itself and may be forged.
    const chain = [socketAddress, ...entries.reverse()];
    const picked = chain[Math.min(trustProxy, chain.length - 1)];
    ip = picked && isIP(picked) ? picked : socketAddress;
  }
  const ua = req.headers['user-agent'];
  return { ...(ip ? { ip } : {}), ...(typeof ua === 'string' ? { userAgent: ua.slice(0, 512) } : {}) };
}

function requestIdOf(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return v && /^[A-Za-z0-9._-]{1,128}$/.test(v) ? v : randomUUID();
}

/** graphql-js's hints at names of the schema ("Did you mean ...?"), which it always puts at the end of a message. */
const SUGGESTION = / ?Did you mean .+\?$/s;

/** An error without its schema hints: when introspection is off, messages must not reveal the schema either. */
export function withoutSuggestions<E extends { message: string }>(e: E): E {
  return SUGGESTION.test(e.message) ? { ...e, message: e.message.replace(SUGGESTION, '') } : e;
}

/** What a subgraph said about staleness (extensions.stale, lastSyncedAt), in the client's response too. */
const stalenessPlugin: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async willSendResponse(rc) {
        const staleness = stalenessOf(rc.contextValue);
        if (!staleness || rc.response.body.kind !== 'single') return;
        const result = rc.response.body.singleResult;
        result.extensions = { ...result.extensions, ...staleness };
      },
    };
  },
};

/** Apollo Server answers a persisted query whose hash does not match its text with this message and no code. */
const HASH_MISMATCH = 'provided sha does not match query';
const MEDIA_JSON = 'application/json';
const MEDIA_GRAPHQL_RESPONSE = 'application/graphql-response+json';
/** The codes of request errors (the document cannot run) that application/json answers with 200. */
const REQUEST_ERROR_CODES = new Set<string>([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  ErrorCode.BAD_USER_INPUT,
  ...LIMIT_CODES,
]);
/** Requests whose operation cannot be determined: 400 whatever the media type (issue 13). */
const unresolvedOperations = new WeakSet<object>();

/**
 * The status codes of the GraphQL-over-HTTP specification: a request that names no operation of its document (or
 * holds several and names none) is the client's mistake, 400 BAD_USER_INPUT (Apollo's gateway would answer 500);
 * and for a client that asks for `application/json` in its Accept header (the legacy media type), a document that
 * fails to parse or validate, or variables that fail coercion, answer 200 with the errors, while
 * `application/graphql-response+json` keeps 400. Without an Accept header the answer stays 400, as before.
 */
const requestErrorsPlugin: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation(rc) {
        if (rc.operation) return;
        unresolvedOperations.add(rc.request);
        const names = rc.document.definitions.filter((d) => d.kind === 'OperationDefinition').length;
        const message = rc.request.operationName
          ? `Unknown operation named "${rc.request.operationName}".`
          : names > 1
            ? 'Must provide operation name if query contains multiple operations.'
            : 'The document holds no operation to run.';
        throw new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } } });
      },
      async willSendResponse(rc) {
        if (rc.response.http.status !== 400 || rc.response.body.kind !== 'single') return;
        const result = rc.response.body.singleResult;
        if (result.data !== undefined || !result.errors?.length || unresolvedOperations.has(rc.request)) return;
        if (!result.errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)))) return;
        if (prefersLegacyJson(rc)) {
          rc.response.http.status = 200;
          rc.response.http.headers.set('content-type', `${MEDIA_JSON}; charset=utf-8`);
        }
      },
    };
  },
};

/**
 * Whether the client's Accept header names application/json and prefers it to application/graphql-response+json
 * (higher quality, or equal and listed first). Wildcards alone (what fetch and curl send by default) name no
 * preference: such clients keep the 400 they have always had.
 */
function prefersLegacyJson(rc: GraphQLRequestContextWillSendResponse<GatewayContext>): boolean {
  const accept = rc.request.http?.headers.get('accept');
  if (!accept) return false;
  const ranges = accept.split(',').map((part, index) => {
    const [range, ...params] = part
      .trim()
      .toLowerCase()
      .split(';')
      .map((x) => x.trim());
    const q = params.find((p) => p.startsWith('q='));
    return { range, q: q ? Number(q.slice(2)) : 1, index };
  });
  const match = (type: string) => {
    const [main] = type.split('/');
    const found =
      ranges.find((r) => r.range === type) ??
      ranges.find((r) => r.range === `${main}/*`) ??
      ranges.find((r) => r.range === '*/*');
    return found && found.q > 0 ? found : undefined;
  };
  const json = ranges.find((r) => r.range === MEDIA_JSON && r.q > 0);
  const modern = match(MEDIA_GRAPHQL_RESPONSE);
  if (!json) return false;
  if (!modern) return true;
  return json.q > modern.q || (json.q === modern.q && json.index <= modern.index);
}

/**
 * Errors as clients see them: the limit codes survive Apollo's GRAPHQL_VALIDATION_FAILED wrapping, upstream errors
 * name their service as `service`, and nothing of an upstream's raw HTTP response or stack leaks out.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const extensions: Record<string, unknown> = { ...formatted.extensions };
  const original = (error as { originalError?: unknown } | undefined)?.originalError;
  if (
    original instanceof GraphQLError &&
    typeof original.extensions.code === 'string' &&
    LIMIT_CODES.has(original.extensions.code)
  ) {
    extensions.code = original.extensions.code;
  }
  if (
    formatted.message === HASH_MISMATCH &&
    (extensions.code === undefined || extensions.code === 'INTERNAL_SERVER_ERROR')
  ) {
    extensions.code = 'PERSISTED_QUERY_HASH_MISMATCH';
  }
  if (typeof extensions.serviceName === 'string') {
    extensions.service ??= extensions.serviceName;
    delete extensions.serviceName;
  }
  delete extensions.response;
  delete extensions.exception;
  delete extensions.stacktrace;
  return { ...formatted, extensions };
}
