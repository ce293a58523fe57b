// The workloads subgraph server: Apollo Server over the shared HTTP bootstrap, informer caches behind it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type * as k8s from '@kubernetes/client-node';
import { parse } from 'graphql';
import { Counter, Gauge } from 'prom-client';
import { requestMetricsPlugin } from '../common/apollo-metrics.js';
import { closeServer, createMetricsRegistry, createServiceHttpServer, listen, viewerOf } from '../common/http.js';
import { withTenancy } from '../common/authz.js';
import { identityKey as createIdentityKey } from '../common/identity.js';
import { attachSubscriptionServer } from '../common/subscriptions.js';
import { createLogger, type Logger } from '../common/log.js';
import { createAccountsClient, type AccountsClientOptions } from './clients/accounts.js';
import { CustomObjectCaches, type CustomObjectOptions } from './clients/custom-objects.js';
import { KINDS, KubeClient, type KindName } from './clients/kube.js';
import { DEFAULT_STALE_AFTER_MS } from './config.js';
import { createWorkloadsModel, DEV_VIEWER, MODEL_INDEXES, type LiveOptions } from './model/index.js';
import { queryStats } from './model/query.js';
import { createResolvers, type WorkloadsContext } from './resolvers.js';

export const SCHEMA_PATH = resolve(import.meta.dirname, '../../schema/workloads.graphql');

export interface WorkloadsSubgraphOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** The cluster; default: KUBECONFIG (or in-cluster) through KubeConfig.loadFromDefault(). */
  kubeConfig?: k8s.KubeConfig;
  log?: Logger;
  /** How long a mutation waits for the cache to see its write (ms). */
  writeWaitMs?: number;
  /** Change history kept per kind for resuming subscriptions, and how far a subscriber may fall behind. */
  live?: LiveOptions;
  /** The on-demand informers of custom resources (idle time, how many at once, first-LIST timeout). */
  customObjects?: CustomObjectOptions;
  /**
   * The secret of the gateway's identity signature (KUBEGRAPH_IDENTITY_SECRET): requests without a valid signed
   * identity are refused with 401. Unset (tests of the subgraph alone): every request is the development identity.
   */
  identitySecret?: string;
  /** How long the watches may be down before /readyz fails (ms; WORKLOADS_STALE_AFTER_MS). */
  staleAfterMs?: number;
  /**
   * accounts' internal endpoints (origin and ACCOUNTS_INTERNAL_TOKEN): createProject checks the workspace exists and
   * makes the creator project-admin. Unset (development without accounts): neither happens.
   */
  accounts?: AccountsClientOptions;
}

export interface WorkloadsSubgraph {
  url: string;
  port: number;
  kube: KubeClient;
  /** Resolves once every informer cache has synced (what /readyz reports). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export async function startWorkloadsSubgraph(opts: WorkloadsSubgraphOptions): Promise<WorkloadsSubgraph> {
  const log = opts.log ?? createLogger('workloads');
  const metrics = createMetricsRegistry('workloads');
  const kube = new KubeClient({
    kubeConfig: opts.kubeConfig,
    log,
    writeWaitMs: opts.writeWaitMs,
    indexes: MODEL_INDEXES,
  });
  const customObjects = new CustomObjectCaches(kube, log, opts.customObjects);
  const model = createWorkloadsModel(kube, customObjects, {
    live: opts.live,
    accounts: opts.accounts ? createAccountsClient(opts.accounts) : undefined,
  });
  const identityKey = opts.identitySecret ? createIdentityKey(opts.identitySecret) : undefined;
  // Which workspace a project is in, as the namespace cache says (for workspace roles).
  const tenancy = model.tenancy;

  new Gauge({
    name: 'kubegraph_workloads_cache_objects',
    help: 'Objects held in the informer caches, by kind.',
    labelNames: ['kind'],
    registers: [metrics],
    collect() {
      for (const kind of Object.keys(KINDS) as KindName[]) this.set({ kind }, kube.caches[kind].size);
    },
  });
  new Gauge({
    name: 'kubegraph_workloads_cache_synced',
    help: '1 when the informer cache of a kind has synced.',
    labelNames: ['kind'],
    registers: [metrics],
    collect() {
      for (const kind of Object.keys(KINDS) as KindName[]) this.set({ kind }, kube.isSynced(kind) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'kubegraph_workloads_informer_restarts',
    help: 'Informer restarts after list or watch errors, by kind.',
    labelNames: ['kind'],
    registers: [metrics],
    collect() {
      for (const [kind, n] of Object.entries(kube.restarts)) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: 'kubegraph_workloads_custom_resource_informers',
    help: 'Informers of custom resources (the objects of CRDs) running now, started by reads and stopped when idle.',
    registers: [metrics],
    collect() {
      this.set(customObjects.size);
    },
  });
  new Gauge({
    name: 'kubegraph_workloads_sorted_index_builds',
    help: 'Sorted index arrays built (a miss of the lazily maintained sorted views).',
    registers: [metrics],
    collect() {
      this.set(queryStats.sortedBuilds);
    },
  });
  const timing = requestMetricsPlugin<WorkloadsContext>('workloads', metrics);
  // While the API server is out of reach, answers come from caches that may be stale: they say so, and since when
  // (the gateway passes this on to its clients).
  const staleness: ApolloServerPlugin<WorkloadsContext> = {
    async requestDidStart() {
      return {
        async willSendResponse(rc) {
          const since = kube.disconnectedSince();
          if (since === undefined || rc.response.body.kind !== 'single') return;
          const result = rc.response.body.singleResult;
          result.extensions = { ...result.extensions, stale: true, lastSyncedAt: new Date(since).toISOString() };
        },
      };
    },
  };
  const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;

  const schema = buildSubgraphSchema({
    typeDefs: parse(readFileSync(SCHEMA_PATH, 'utf8')),
    resolvers: createResolvers(model) as never,
  });
  const apollo = new ApolloServer<WorkloadsContext>({
    schema,
    // Federated traces only serve Apollo's hosted studio, which kubegraph does not report to.
    // Nothing is reported to Apollo, whatever APOLLO_KEY says, and no landing page loads from its CDN.
    plugins: [
      timing,
      staleness,
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginLandingPageDisabled(),
    ],
    // Errors keep their extensions (code, service); stack traces stay out of responses.
    includeStacktraceInErrorResponses: false,
    // The process's own signal handlers close everything in order (Apollo's would stop it and re-raise the signal,
    // killing the process before the rest has closed).
    stopOnTerminationSignals: false,
  });
  await apollo.start();
  kube.start();
  const server = createServiceHttpServer<WorkloadsContext>({
    apollo,
    metrics,
    identityKey,
    context: async ({ req }) => ({ viewer: withTenancy(identityKey ? viewerOf(req)! : DEV_VIEWER, tenancy) }),
    // Ready once synced, and no longer once the watches have been down for longer than staleAfterMs.
    ready: () => {
      const since = kube.disconnectedSince();
      return kube.isSynced() && (since === undefined || Date.now() - since <= staleAfterMs);
    },
  });
  const subscriptionResults = new Counter({
    name: 'kubegraph_workloads_subscription_results_total',
    help: 'Subscription results: sent, or skipped because nothing the subscriber selected changed.',
    labelNames: ['outcome'],
    registers: [metrics],
  });
  const subscriptions = attachSubscriptionServer<WorkloadsContext>({
    server,
    schema,
    log,
    identityKey,
    context: (_ctx, viewer) => ({ viewer: withTenancy(viewer ?? DEV_VIEWER, tenancy) }),
    observe: (outcome) => subscriptionResults.inc({ outcome }),
  });
  new Gauge({
    name: 'kubegraph_workloads_subscribers',
    help: 'Open subscription streams, by kind.',
    labelNames: ['kind'],
    registers: [metrics],
    collect() {
      for (const [kind, n] of Object.entries(model.liveSubscribers())) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: 'kubegraph_workloads_subscription_connections',
    help: 'Open graphql-ws connections.',
    registers: [metrics],
    collect() {
      this.set(subscriptions.connections());
    },
  });
  const port = await listen(server, opts.port, opts.host ?? '127.0.0.1');
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}/graphql`;
  log.info('workloads subgraph listening', { url });
  void kube.whenSynced().then(() => log.info('workloads caches synced'));
  return {
    url,
    port,
    kube,
    ready: () => kube.whenSynced(),
    async close() {
      await subscriptions.close();
      await closeServer(server);
      await customObjects.stop();
      await kube.stop();
      await apollo.stop();
    },
  };
}
