// The apps subgraph server: the shared subgraph bootstrap (common/subgraph-server.ts) with subscriptions, over the
// release Secret informer, the helm binary and the chart catalog.
import { resolve } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { DEV_VIEWER, withTenancy } from '../common/authz.js';
import { createMetricsRegistry } from '../common/http.js';
import { createLogger, type Logger } from '../common/log.js';
import { createSubgraphServer, type SubgraphResolvers } from '../common/subgraph-server.js';
import { NamespaceTenancy } from '../common/tenancy.js';
import { HelmClient } from './clients/helm.js';
import { AppsKubeClient } from './clients/kube.js';
import { ReleaseSecretsClient } from './clients/release-secrets.js';
import { randomBytes } from 'node:crypto';
import { openRepositoryStore } from './clients/repository-store.js';
import type { Db } from '../accounts/clients/db.js';
import type { Resolver } from './clients/url-check.js';
import { Catalog } from './model/catalog.js';
import { localCredentialsKey } from './model/catalog-credentials.js';
import { createCatalogResolvers } from './catalog-resolvers.js';
import { OperationsModel } from './model/operations.js';
import { ReleaseIndex } from './model/release-index.js';
import { ReleasesModel } from './model/releases.js';
import { createReleaseResolvers, type AppsContext } from './resolvers.js';
import { DEFAULT_HELM_BIN } from './config.js';

export const SCHEMA_PATH = resolve(import.meta.dirname, '../../schema/apps.graphql');

export interface AppsSubgraphOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** The cluster: its release Secrets are read, and helm runs against it. */
  kubeConfig: k8s.KubeConfig;
  /** The helm binary (default: the Helm 4 of `npm run tools`). */
  helmBin?: string;
  /** helm's --timeout per operation (default 300 s). */
  helmTimeoutSeconds?: number;
  log?: Logger;
  /**
   * The secret of the gateway's identity signature (KUBEGRAPH_IDENTITY_SECRET): requests without a valid signed
   * identity are refused with 401. Unset (tests of the subgraph alone): every request is the development identity.
   */
  identitySecret?: string;
  /** Where the chart repositories are kept, and how they are read (model/catalog.ts). */
  repositories?: AppsRepositoryOptions;
  /** The SDL file (default schema/apps.graphql). */
  schemaPath?: string;
}

export interface AppsRepositoryOptions {
  /** postgres://… (the database accounts uses; the table goes to schema `schema`); unset: an embedded PGlite. */
  databaseUrl?: string;
  /** PGlite's folder when databaseUrl is unset; unset too: in memory (tests). With db: see openRepositoryStore. */
  dataDir?: string;
  /** An open database to keep the tables in, in schema `schema` (npm start: accounts' embedded one, one to open). */
  db?: Db;
  /** The PostgreSQL schema of the apps tables (default apps). */
  schema?: string;
  /** The secret repository credentials are encrypted with; default: the identity secret. */
  credentialsSecret?: string;
  /** Periodic sync of every repository (default 10 min; 0: none). */
  syncIntervalMs?: number;
  /** DNS for repository hosts (tests: a stub answering loopback). */
  resolver?: Resolver;
}

export interface AppsSubgraph {
  url: string;
  port: number;
  releases: ReleasesModel;
  operations: OperationsModel;
  index: ReleaseIndex;
  catalog: Catalog;
  close(): Promise<void>;
}

export async function startAppsSubgraph(opts: AppsSubgraphOptions): Promise<AppsSubgraph> {
  const log = opts.log ?? createLogger('apps');
  const metrics = createMetricsRegistry('apps');
  const index = new ReleaseIndex();
  const secrets = new ReleaseSecretsClient({
    kubeConfig: opts.kubeConfig,
    log,
    onChange: (type, secret, relist) => index.apply(type, secret, relist),
    onListed: () => index.listed(secrets.latestResourceVersion()),
  });
  const kube = new AppsKubeClient(opts.kubeConfig);
  const helm = new HelmClient({
    helmBin: opts.helmBin ?? DEFAULT_HELM_BIN,
    kubeConfig: opts.kubeConfig,
    timeoutSeconds: opts.helmTimeoutSeconds ?? 300,
  });
  const repo = opts.repositories ?? {};
  // A configured key first; an embedded database keeps its own key file next to it (npm start makes a new identity
  // secret on every run, which would leave stored credentials unreadable after a restart); else the identity secret.
  const credentialsSecret =
    repo.credentialsSecret ??
    (repo.dataDir && !repo.databaseUrl ? localCredentialsKey(repo.dataDir) : undefined) ??
    opts.identitySecret;
  if (!credentialsSecret)
    log.warn(
      'no APPS_CREDENTIALS_KEY or KUBEGRAPH_IDENTITY_SECRET: repository credentials stored now cannot be read after a restart',
    );
  const store = await openRepositoryStore({
    databaseUrl: repo.databaseUrl,
    dataDir: repo.dataDir,
    db: repo.db,
    schema: repo.schema,
  });
  const catalog = await Catalog.open({
    store,
    credentialsSecret: credentialsSecret ?? randomBytes(32).toString('base64url'),
    resolver: repo.resolver,
    syncIntervalMs: repo.syncIntervalMs,
    log,
  }).catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
  const releases = new ReleasesModel(index, kube);
  const operations = new OperationsModel({ helm, kube, index, catalog, log });
  const tenancy = new NamespaceTenancy(opts.kubeConfig, log);

  const stopAll = async () => {
    await secrets.stop();
    await tenancy.stop();
    await catalog.close();
  };
  await Promise.all([secrets.start(), tenancy.start()]).catch(async (e: unknown) => {
    log.warn('release or namespace watch not started; retrying', { error: String(e) });
  });
  const server = await createSubgraphServer<AppsContext>({
    name: 'apps',
    schemaPath: opts.schemaPath ?? SCHEMA_PATH,
    resolvers: mergeResolvers(createReleaseResolvers({ releases, operations }), createCatalogResolvers(catalog)),
    port: opts.port,
    host: opts.host,
    log,
    metrics,
    identitySecret: opts.identitySecret,
    subscriptions: {},
    context: ({ viewer }) => ({ viewer: withTenancy(viewer ?? DEV_VIEWER, tenancy), chartFiles: new Map() }),
    // Ready once the release Secrets are listed: before that every release list would be empty, not true.
    ready: () => secrets.isSynced(),
    logFields: { helm: opts.helmBin ?? DEFAULT_HELM_BIN },
  }).catch(async (e: unknown) => {
    await stopAll();
    throw e;
  });
  return {
    url: server.url,
    port: server.port,
    releases,
    operations,
    index,
    catalog,
    async close() {
      await server.close();
      await stopAll();
    },
  };
}

/** Two resolver maps as one (the types both have, Query and Mutation, merged field by field). */
function mergeResolvers(
  a: SubgraphResolvers<AppsContext>,
  b: SubgraphResolvers<AppsContext>,
): SubgraphResolvers<AppsContext> {
  const out: SubgraphResolvers<AppsContext> = { ...a };
  for (const [type, fields] of Object.entries(b)) {
    const mine = out[type];
    out[type] = mine ? ({ ...mine, ...fields } as SubgraphResolvers<AppsContext>[string]) : fields;
  }
  return out;
}
