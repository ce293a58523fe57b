// The monitoring subgraph server: Apollo Server over the shared HTTP bootstrap, Prometheus behind it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { Counter, Histogram } from 'prom-client';
import type * as k8s from '@kubernetes/client-node';
import { closeServer, createMetricsRegistry, createServiceHttpServer, listen, viewerOf } from '../common/http.js';
import { withTenancy } from '../common/authz.js';
import { identityKey as createIdentityKey } from '../common/identity.js';
import { NamespaceTenancy } from '../common/tenancy.js';
import { createLogger, type Logger } from '../common/log.js';
import { PrometheusClient } from './clients/prometheus.js';
import { createMonitoringModel, DEV_VIEWER, PrometheusAccess, type MonitoringModel } from './model/index.js';
import { createResolvers, type MonitoringContext } from './resolvers.js';

export const SCHEMA_PATH = resolve(import.meta.dirname, '../../schema/monitoring.graphql');

export interface MonitoringSubgraphOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Prometheus's base URL; undefined: metric fields answer UPSTREAM_UNAVAILABLE naming PROMETHEUS_URL. */
  prometheusUrl?: string;
  /** Per Prometheus request (default 5000 ms, below the gateway's subgraph timeout). */
  prometheusTimeoutMs?: number;
  /** After 3 failures in a row, Prometheus is not asked again for this long (default 5000 ms; 0: no breaker). */
  prometheusBreakerMs?: number;
  /** The window of rate() (default 5m). */
  rateWindow?: string;
  /** How long a lookup of Prometheus's recording rules is reused (default 60 s). */
  rulesTtlMs?: number;
  log?: Logger;
  /**
   * The secret of the gateway's identity signature (KUBEGRAPH_IDENTITY_SECRET): requests without a valid signed
   * identity are refused with 401. Unset (tests of the subgraph alone): every request is the development identity.
   */
  identitySecret?: string;
  /** The cluster, for which workspace each project is in (workspace roles); unset: only project roles count. */
  kubeConfig?: k8s.KubeConfig;
}

export interface MonitoringSubgraph {
  url: string;
  port: number;
  model: MonitoringModel;
  close(): Promise<void>;
}

export async function startMonitoringSubgraph(opts: MonitoringSubgraphOptions): Promise<MonitoringSubgraph> {
  const log = opts.log ?? createLogger('monitoring');
  const metrics = createMetricsRegistry('monitoring');
  const breakerMs = opts.prometheusBreakerMs ?? 5000;
  const client = opts.prometheusUrl
    ? new PrometheusClient({
        url: opts.prometheusUrl,
        timeoutMs: opts.prometheusTimeoutMs ?? 5000,
        breakerFailures: breakerMs > 0 ? 3 : 0,
        breakerOpenMs: breakerMs,
        metrics,
      })
    : undefined;
  const access = new PrometheusAccess({ client, log, rulesTtlMs: opts.rulesTtlMs ?? 60_000 });
  const model = createMonitoringModel({ access, rateWindow: opts.rateWindow ?? '5m' });
  void access.refreshRules();

  const resolverDuration = new Histogram({
    name: 'kubegraph_monitoring_resolver_duration_seconds',
    help: 'Duration of root field resolvers (Query, _entities).',
    labelNames: ['field', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [metrics],
  });
  const requests = new Counter({
    name: 'kubegraph_monitoring_requests_total',
    help: 'GraphQL requests, by outcome.',
    labelNames: ['outcome'],
    registers: [metrics],
  });

  const plugin: ApolloServerPlugin<MonitoringContext> = {
    async requestDidStart() {
      return {
        async executionDidStart() {
          return {
            willResolveField({ info }) {
              if (info.parentType.name !== 'Query') return;
              const end = resolverDuration.startTimer({ field: `Query.${info.fieldName}` });
              return (error) => end({ outcome: error ? 'error' : 'ok' });
            },
          };
        },
        async willSendResponse({ response, contextValue }) {
          const body = response.body;
          if (body.kind !== 'single') return;
          // Fields that answered [] instead of failing (see resolvers.ts orEmpty) still report their errors.
          if (contextValue.fieldErrors.length)
            body.singleResult.errors = [
              ...(body.singleResult.errors ?? []),
              ...contextValue.fieldErrors.map((e) => e.toJSON()),
            ];
          requests.inc({ outcome: body.singleResult.errors?.length ? 'error' : 'ok' });
        },
      };
    },
  };

  const schema = buildSubgraphSchema({
    typeDefs: parse(readFileSync(SCHEMA_PATH, 'utf8')),
    resolvers: createResolvers() as never,
  });
  const apollo = new ApolloServer<MonitoringContext>({
    schema,
    // Federated traces only serve Apollo's hosted studio, which kubegraph does not report to.
    plugins: [plugin, ApolloServerPluginInlineTraceDisabled()],
    includeStacktraceInErrorResponses: false,
    // The process's own signal handlers close everything in order (Apollo's would stop it and re-raise the signal,
    // killing the process before the rest has closed).
    stopOnTerminationSignals: false,
  });
  await apollo.start();
  const identityKey = opts.identitySecret ? createIdentityKey(opts.identitySecret) : undefined;
  const tenancy = opts.kubeConfig ? new NamespaceTenancy(opts.kubeConfig, log) : undefined;
  await tenancy
    ?.start()
    .catch((e: unknown) =>
      log.warn('namespace watch not started; workspace roles do not count until it is', { error: String(e) }),
    );
  const server = createServiceHttpServer<MonitoringContext>({
    apollo,
    metrics,
    identityKey,
    context: async ({ req }) => {
      const viewer = withTenancy(identityKey ? viewerOf(req)! : DEV_VIEWER, tenancy);
      return { viewer, session: model.session(viewer), fieldErrors: [] };
    },
    // Ready once serving: a Prometheus outage fails metric fields, it must not take the gateway's readiness down.
    ready: () => true,
  });
  const host = opts.host ?? '127.0.0.1';
  const port = await listen(server, opts.port, host);
  const url = `http://${host}:${port}/graphql`;
  log.info('monitoring subgraph listening', { url, prometheus: opts.prometheusUrl ?? null });
  if (!client) log.warn('PROMETHEUS_URL is unset: metric fields answer UPSTREAM_UNAVAILABLE');
  return {
    url,
    port,
    model,
    async close() {
      await closeServer(server);
      await tenancy?.stop();
      await apollo.stop();
    },
  };
}
