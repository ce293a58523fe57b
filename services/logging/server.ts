// The logging subgraph server: the shared subgraph bootstrap (common/subgraph-server.ts), Elasticsearch behind the
// search fields and the export, the Kubernetes pod log API behind the live ones (live-resolvers.ts).
import { resolve } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { breakerSettings } from '../common/breaker.js';
import { createMetricsRegistry } from '../common/http.js';
import { identityKey as createIdentityKey } from '../common/identity.js';
import { createLogger, type Logger } from '../common/log.js';
import { degradingFields } from '../common/field-errors.js';
import {
  createSubgraphServer,
  startedSubgraph,
  type StartedSubgraph,
  type SubgraphResolvers,
} from '../common/subgraph-server.js';
import { startOptionalTenancy } from '../common/tenancy.js';
import { ElasticsearchClient, type ElasticsearchConnection } from './clients/elasticsearch.js';
import { exportRoute } from './export.js';
import { createLiveLogResolvers, type LiveLogResolvers } from './live-resolvers.js';
import { createLoggingModel, CursorCodec, ElasticsearchAccess, type LoggingModel } from './model/index.js';
import { createResolvers, type LoggingContext } from './resolvers.js';
import { DEFAULT_INDEX_PREFIX, DEFAULT_LONGEST_LINE } from './config.js';
import { checkLineMapping, type LineMappingFinding } from './model/mapping-check.js';

export const SCHEMA_PATH = resolve(import.meta.dirname, '../../schema/logging.graphql');

export interface LoggingSubgraphOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Elasticsearch; undefined: the search fields answer UPSTREAM_UNAVAILABLE naming ELASTICSEARCH_URL. */
  elasticsearch?: ElasticsearchConnection;
  /** Daily indices `<prefix>-YYYY.MM.DD` (default ks-logstash-log, as KubeSphere deploys Fluent Bit). */
  indexPrefix?: string;
  /** Per Elasticsearch request (default 5000 ms, below the gateway's subgraph timeout). */
  timeoutMs?: number;
  /** After 3 failures in a row, Elasticsearch is not asked again for this long (default 5000 ms; 0: no breaker). */
  breakerMs?: number;
  /** Elasticsearch requests in flight at most (default 16); more wait in a queue of maxQueuedSearches (1000). */
  maxConcurrentSearches?: number;
  maxQueuedSearches?: number;
  /** How long a search's point in time stays open after its last page (default 2m). */
  pitKeepAlive?: string;
  /**
   * The longest log line (characters) `contains` must find as any substring (ELASTICSEARCH_LONGEST_LINE, default
   * 8191): at start, a warning when `log.keyword`'s ignore_above is below it (model/mapping-check.ts).
   */
  longestLine?: number;
  log?: Logger;
  /**
   * The secret of the gateway's identity signature (KUBEGRAPH_IDENTITY_SECRET): requests without a valid signed
   * identity are refused with 401. Unset (tests of the subgraph alone): every request is the development identity.
   */
  identitySecret?: string;
  /**
   * The cluster: which workspace each project is in (workspace roles), namespace creation times (a namespace created
   * again shows only its own lines) and the pod log API of the live fields. Unset: only project roles count, and the
   * live fields are unavailable.
   */
  kubeConfig?: k8s.KubeConfig;
}

export type LoggingSubgraph = StartedSubgraph<{
  model: LoggingModel;
  /** The live-log model (open upstream streams), when the subgraph has a cluster. */
  live?: LiveLogResolvers['live'];
  /** The start-time check of `log.keyword` (the indices whose ignore_above is below the longest line). */
  mappingChecked: Promise<LineMappingFinding[]>;
}>;

/** Resolvers of both parts, by type (Pod has fields in each). */
function merge(
  a: SubgraphResolvers<LoggingContext>,
  b: SubgraphResolvers<LoggingContext> | undefined,
): SubgraphResolvers<LoggingContext> {
  if (!b) return a;
  const out: SubgraphResolvers<LoggingContext> = { ...a };
  for (const [type, fields] of Object.entries(b))
    out[type] = { ...(out[type] as object), ...(fields as object) } as SubgraphResolvers<LoggingContext>[string];
  return out;
}

export async function startLoggingSubgraph(opts: LoggingSubgraphOptions): Promise<LoggingSubgraph> {
  const log = opts.log ?? createLogger('logging');
  const metrics = createMetricsRegistry('logging');
  const client = opts.elasticsearch
    ? new ElasticsearchClient({
        ...opts.elasticsearch,
        timeoutMs: opts.timeoutMs ?? 5000,
        ...breakerSettings(opts.breakerMs),
        maxConcurrent: opts.maxConcurrentSearches ?? 16,
        maxQueued: opts.maxQueuedSearches ?? 1000,
        metrics,
      })
    : undefined;

  // One namespace watch: which workspace each namespace is in, and when it was created (a namespace created again
  // under the same name shows only its own lines).
  const tenancy = await startOptionalTenancy(opts.kubeConfig, log);
  const model = createLoggingModel({
    access: new ElasticsearchAccess(client),
    cursors: new CursorCodec(opts.identitySecret),
    indexPrefix: opts.indexPrefix ?? DEFAULT_INDEX_PREFIX,
    pitKeepAlive: opts.pitKeepAlive ?? '2m',
    namespaces: tenancy,
    tenancy,
  });

  let live: LiveLogResolvers | undefined;
  const closeOwn = async () => {
    await live?.close();
    await tenancy?.stop();
    await client?.close();
  };
  let server: Awaited<ReturnType<typeof createSubgraphServer>>;
  try {
    // Live logs need the cluster's pod log API; without a cluster those fields have no resolvers (they fail).
    live = opts.kubeConfig ? createLiveLogResolvers({ kubeConfig: opts.kubeConfig, log, tenancy }) : undefined;
    server = await createSubgraphServer<LoggingContext>({
      name: 'logging',
      schemaPath: SCHEMA_PATH,
      resolvers: merge(createResolvers(), live?.resolvers as SubgraphResolvers<LoggingContext> | undefined),
      port: opts.port,
      host: opts.host,
      log,
      metrics,
      identitySecret: opts.identitySecret,
      routes: exportRoute({
        model,
        identityKey: opts.identitySecret ? createIdentityKey(opts.identitySecret) : undefined,
        log,
      }),
      subscriptions: {},
      // Fields that answered their empty value instead of failing (see resolvers.ts orEmpty) still report their errors.
      ...degradingFields(tenancy, model),
      // Ready once serving: an Elasticsearch outage fails the logging fields, not the gateway's readiness.
      ready: () => true,
      logFields: { elasticsearch: client?.url ?? null, indexPrefix: opts.indexPrefix ?? DEFAULT_INDEX_PREFIX },
    });
  } catch (e) {
    await closeOwn();
    throw e;
  }
  if (!client) log.warn('ELASTICSEARCH_URL is unset: log search fields answer UPSTREAM_UNAVAILABLE');
  const mappingChecked = client
    ? checkLineMapping(model.options.access, model.options.indexPrefix, opts.longestLine ?? DEFAULT_LONGEST_LINE, log)
    : Promise.resolve([]);
  return startedSubgraph(server, { model, live: live?.live, mappingChecked }, closeOwn);
}
