// The monitoring subgraph server: the shared subgraph bootstrap (common/subgraph-server.ts), Prometheus behind it.
import { resolve } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { breakerSettings } from '../common/breaker.js';
import { createMetricsRegistry } from '../common/http.js';
import { degradingFields } from '../common/field-errors.js';
import { createSubgraphServer, startedSubgraph, type StartedSubgraph } from '../common/subgraph-server.js';
import { startOptionalTenancy } from '../common/tenancy.js';
import { createLogger, type Logger } from '../common/log.js';
import { PrometheusClient } from './clients/prometheus.js';
import { createMonitoringModel, PrometheusAccess, type MonitoringModel } from './model/index.js';
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

export type MonitoringSubgraph = StartedSubgraph<{ model: MonitoringModel }>;

export async function startMonitoringSubgraph(opts: MonitoringSubgraphOptions): Promise<MonitoringSubgraph> {
  const log = opts.log ?? createLogger('monitoring');
  const metrics = createMetricsRegistry('monitoring');
  const client = opts.prometheusUrl
    ? new PrometheusClient({
        url: opts.prometheusUrl,
        timeoutMs: opts.prometheusTimeoutMs ?? 5000,
        ...breakerSettings(opts.prometheusBreakerMs),
        metrics,
      })
    : undefined;
  const access = new PrometheusAccess({ client, log, rulesTtlMs: opts.rulesTtlMs ?? 60_000 });
  const model = createMonitoringModel({ access, rateWindow: opts.rateWindow ?? '5m' });
  void access.refreshRules();

  const tenancy = await startOptionalTenancy(opts.kubeConfig, log);
  const server = await createSubgraphServer<MonitoringContext>({
    name: 'monitoring',
    schemaPath: SCHEMA_PATH,
    resolvers: createResolvers(),
    port: opts.port,
    host: opts.host,
    log,
    metrics,
    identitySecret: opts.identitySecret,
    // Fields that answered [] instead of failing (see resolvers.ts orEmpty) still report their errors.
    ...degradingFields(tenancy, model),
    // Ready once serving: a Prometheus outage fails metric fields, it must not take the gateway's readiness down.
    ready: () => true,
    logFields: { prometheus: opts.prometheusUrl ?? null },
  }).catch(async (e: unknown) => {
    await tenancy?.stop();
    throw e;
  });
  if (!client) log.warn('PROMETHEUS_URL is unset: metric fields answer UPSTREAM_UNAVAILABLE');
  return startedSubgraph(server, { model }, async () => {
    await tenancy?.stop();
  });
}
