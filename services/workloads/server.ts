// The workloads subgraph server: the shared subgraph bootstrap (common/subgraph-server.ts) with graphql-ws, informer
// caches behind it.
import { resolve } from 'node:path';
import type { ApolloServerPlugin } from '@apollo/server';
import type * as k8s from '@kubernetes/client-node';
import { Counter, Gauge } from 'prom-client';
import { createMetricsRegistry } from '../common/http.js';
import { withTenancy } from '../common/authz.js';
import { createSubgraphServer } from '../common/subgraph-server.js';
import { createLogger, type Logger } from '../common/log.js';
import { createAccountsClient, type AccountsClientOptions } from './clients/accounts.js';
import { CustomObjectCaches, type CustomObjectOptions } from './clients/custom-objects.js';
import { KINDS, type KindName } from './clients/kinds.js';
import { KubeClient } from './clients/kube.js';
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
  const subscriptionResults = new Counter({
    name: 'kubegraph_workloads_subscription_results_total',
    help: 'Subscription results: sent, or skipped because nothing the subscriber selected changed.',
    labelNames: ['outcome'],
    registers: [metrics],
  });

  kube.start();
  const server = await createSubgraphServer<WorkloadsContext>({
    name: 'workloads',
    schemaPath: SCHEMA_PATH,
    resolvers: createResolvers(model),
    port: opts.port,
    host: opts.host,
    log,
    metrics,
    identitySecret: opts.identitySecret,
    plugins: [staleness],
    context: ({ viewer }) => ({ viewer: withTenancy(viewer ?? DEV_VIEWER, tenancy) }),
    // Ready once synced, and no longer once the watches have been down for longer than staleAfterMs.
    ready: () => {
      const since = kube.disconnectedSince();
      return kube.isSynced() && (since === undefined || Date.now() - since <= staleAfterMs);
    },
    subscriptions: { observe: (outcome) => subscriptionResults.inc({ outcome }) },
  }).catch(async (e: unknown) => {
    await customObjects.stop();
    await kube.stop();
    throw e;
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
      this.set(server.subscriptions?.connections() ?? 0);
    },
  });
  void kube.whenSynced().then(() => log.info('workloads caches synced'));
  return {
    url: server.url,
    port: server.port,
    kube,
    ready: () => kube.whenSynced(),
    async close() {
      await server.close();
      await customObjects.stop();
      await kube.stop();
    },
  };
}
