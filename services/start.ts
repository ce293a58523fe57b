// `npm start`: kubegraph for development, in one process. Without a configured cluster (KUBECONFIG unset and not
// running in a pod) it starts the embedded sandbox cluster first, and says so; then the subgraphs that exist and
// the gateway in front of them.
// First: @apollo/gateway's telemetry is off before anything imports it (DESIGN.md "Network").
import '../gateway/no-telemetry.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runMain, envInt, envString, logLevelFromEnv, metricsTokenFromEnv, stopOnSignals } from './common/config.js';
import { sandboxOptionsFromEnv } from './sandbox/config.js';
import { startSandboxThread } from './sandbox/thread.js';
import { gatewayOptionsFromEnv } from '../gateway/config.js';
import { startGatewayThread } from '../gateway/thread.js';
import { SUPERGRAPH_PATH } from '../gateway/subgraphs.js';
import { accountsOptionsFromEnv } from './accounts/config.js';
import { workloadsOptionsFromEnv } from './workloads/config.js';
import { randomIdentitySecret } from './common/identity.js';
import { monitoringOptionsFromEnv } from './monitoring/config.js';
import { appsOptionsFromEnv } from './apps/config.js';
import { parse as parseYaml } from 'yaml';
import { loggingOptionsFromEnv } from './logging/config.js';
import type { AccountsSubgraph } from './accounts/server.js';
import type { Db } from './accounts/clients/db.js';
import type { KubeConfig } from '@kubernetes/client-node';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

interface Closable {
  close(): Promise<void>;
}

// Not awaited at the top level: npm start's code runs as a CommonJS bundle (scripts/start.mjs), which has none.
void runMain(async () => {
  // Every service's variables are validated before anything starts, the sandbox included: a bad value stops the
  // process at once, naming the variable.
  logLevelFromEnv();
  const gatewayOptions = gatewayOptionsFromEnv();
  const monitoringOptions = monitoringOptionsFromEnv();
  const accountsOptions = accountsOptionsFromEnv();
  const workloadsOptions = workloadsOptionsFromEnv();
  const loggingOptions = loggingOptionsFromEnv();
  const esPort = envInt('ES_PORT', 9200, { min: 0, max: 65535 });
  const appsOptions = appsOptionsFromEnv();
  metricsTokenFromEnv();
  const kubeconfig = envString('KUBECONFIG');
  const useSandbox = !kubeconfig && !existsSync(IN_CLUSTER_TOKEN);
  const sandboxOptions = useSandbox ? sandboxOptionsFromEnv() : undefined;

  const running: Closable[] = [];
  /** p, and what it resolves to added to `running` as soon as it is up. */
  const started = <T extends Closable>(p: Promise<T>): Promise<T> =>
    p.then((s) => {
      running.push(s);
      return s;
    });
  /** start(what dep resolves to), once it has; the same as `started`. */
  const after = <D, T extends Closable>(dep: Promise<D>, start: (d: D) => Promise<T>): Promise<T> =>
    started(dep.then(start));
  // The gateway signs the caller's identity for the subgraphs; in one process they can share a fresh secret.
  const identitySecret = gatewayOptions.identitySecret ?? randomIdentitySecret();
  // The gateway and accounts talk over accounts' internal endpoints; a per-process token unless one is configured.
  const internalToken = accountsOptions.internalToken ?? randomIdentitySecret();
  const supergraphPath = gatewayOptions.supergraphPath ?? SUPERGRAPH_PATH;
  // What the thread is given is copied there: data only. Its authenticator and URLs come with `listen` (below).
  const {
    authenticator: _authenticator,
    logger: _logger,
    subgraphUrls: _urls,
    ...plainGatewayOptions
  } = gatewayOptions;
  let stop: (code?: number) => Promise<void> = async () => {};
  // The gateway's thread (gateway/thread.ts) starts now too: it builds the supergraph's schemas and planner while
  // the subgraphs start, and listens once they are up (below).
  const gatewayThread = existsSync(supergraphPath)
    ? startGatewayThread(
        {
          gateway: {
            ...plainGatewayOptions,
            identitySecret,
            // The checked-in supergraph was validated by the composition that wrote it (GatewayOptions).
            validateSupergraph: gatewayOptions.supergraphPath === undefined ? false : undefined,
          },
          internalToken,
        },
        (e) => {
          console.error(`kubegraph: the gateway stopped: ${e.stack ?? e.message}`);
          void stop(1);
        },
      )
    : undefined;
  // On the sandbox, its thread starts first (services/sandbox/thread.ts): it loads and starts on the other core while
  // this one opens the embedded database (below). With ELASTICSEARCH_URL unset, the thread also runs the
  // Elasticsearch stand-in (ES_PORT, default 9200) fed by the log shipper with every simulated container's lines.
  const sandboxStarting = sandboxOptions
    ? startSandboxThread(
        {
          sandbox: sandboxOptions,
          es: loggingOptions.elasticsearch
            ? undefined
            : { port: esPort, host: '127.0.0.1', indexPrefix: loggingOptions.indexPrefix },
        },
        (e) => {
          console.error(`kubegraph: the sandbox stopped: ${e.stack ?? e.message}`);
          void stop(1);
        },
      )
    : undefined;
  sandboxStarting?.catch(() => {});
  // What the subgraphs need is loaded only now, once the threads run: they load theirs meanwhile, on the other core.
  const [
    { startAccountsSubgraph },
    { openDb },
    { migratedTemplate },
    { delaySpareRefills },
    { sharedRepositoryTableSql },
    { startWorkloadsSubgraph },
    { clusterFromEnv, clusterFromKubeconfig },
    { findOnPath, startLocalPrometheus },
    { startMonitoringSubgraph },
    { startAppsSubgraph },
    { localCredentialsKey },
    { startLoggingSubgraph },
  ] = await Promise.all([
    import('./accounts/server.js'),
    import('./accounts/clients/db.js'),
    import('./accounts/clients/migrations.js'),
    import('./accounts/clients/pglite-template.js'),
    import('./apps/clients/repository-store.js'),
    import('./workloads/server.js'),
    // Not client-node itself: a dynamic import keeps all of a package, where a static one keeps what is used.
    import('./common/k8s/cluster.js'),
    import('./monitoring/local-prometheus.js'),
    import('./monitoring/server.js'),
    import('./apps/server.js'),
    import('./apps/model/catalog-credentials.js'),
    import('./logging/server.js'),
  ]);
  // A new data folder is filled from a spare copy (pglite-template.ts); the next spare is made once this start is
  // done, not during it.
  delaySpareRefills(5_000);
  // The embedded database (see below) opens while the sandbox starts: PGlite's WebAssembly compiles off the main thread.
  const dbOpening =
    !accountsOptions.databaseUrl && !appsOptions.repositories.databaseUrl
      ? openDb({
          dataDir: accountsOptions.dataDir,
          schema: accountsOptions.dbSchema,
          // A new folder is a copy of one migrated already, apps' table included (db.ts DbOptions.template).
          template: migratedTemplate([sharedRepositoryTableSql(appsOptions.repositories.schema)]),
        })
      : undefined;
  dbOpening?.catch(() => {});
  let sandboxMetrics: { url: string; caPem?: string } | undefined;
  let esUrl: string | undefined;
  // The cluster every subgraph reads, handed to each as an option (the environment is left as it was).
  let kubeConfig: KubeConfig;
  if (kubeconfig) {
    console.log(`kubegraph: using the cluster of KUBECONFIG=${kubeconfig}`);
    kubeConfig = clusterFromEnv();
  } else if (!sandboxStarting) {
    console.log('kubegraph: using the in-cluster service account');
    kubeConfig = clusterFromEnv();
  } else {
    const sandbox = await started(sandboxStarting);
    esUrl = sandbox.esUrl;
    kubeConfig = clusterFromKubeconfig(sandbox.kubeconfig);
    const caData = (parseYaml(sandbox.kubeconfig) as { clusters?: { cluster?: Record<string, string> }[] })
      .clusters?.[0]?.cluster?.['certificate-authority-data'];
    sandboxMetrics = {
      url: `${sandbox.url}/metrics`,
      caPem: caData ? Buffer.from(caData, 'base64').toString() : undefined,
    };
    console.log(
      `kubegraph: no cluster configured (KUBECONFIG unset): running against the embedded sandbox cluster at ${sandbox.url}`,
    );
    console.log(
      `kubegraph: sandbox kubeconfig at ${sandbox.kubeconfigPath} (kubectl --kubeconfig ${sandbox.kubeconfigPath} get pods -A)`,
    );
  }
  // One orderly stop, however many signals arrive meanwhile (a second Ctrl-C must not kill the process before the
  // Prometheus we started is stopped and its data folder removed); bounded at 10 s. The same whether the signal
  // comes to the whole process group (Ctrl-C) or to the main process alone (systemd, `docker stop`, `kill <pid>`:
  // npm passes SIGINT and SIGTERM on to this process, which its script runs with `exec`), or npm itself goes away.
  let stopping = false;
  stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      console.error('kubegraph: not stopped after 10 s, exiting anyway');
      process.exit(1);
    }, 10_000).unref();
    // The gateway first (no request reaches a subgraph being closed), then the rest, last started first.
    await gatewayThread?.close().catch(() => {});
    for (const s of running.reverse()) await s.close().catch(() => {});
    process.exit(code);
  };
  stopOnSignals(() => void stop());

  const subgraphUrls: Record<string, string> = {};

  // Without DATABASE_URL, accounts and apps keep their tables in one embedded PGlite, accounts' (apps' in its schema
  // APPS_DB_SCHEMA, as in a DATABASE_URL database): each PGlite opened costs seconds of CPU at start (issue 19 §4).
  // APPS_DATA_DIR keeps apps' credentials.key, and an apps database of its own from before is copied over once.
  const sharedDb: Promise<Db | undefined> = (async () => {
    if (!dbOpening) return undefined;
    const db = await dbOpening;
    running.push({ close: () => db.close() });
    const appsDir = appsOptions.repositories.dataDir;
    if (appsDir && resolve(appsDir) === resolve(accountsOptions.dataDir))
      appsOptions.repositories = {
        ...appsOptions.repositories,
        dataDir: undefined,
        credentialsSecret: appsOptions.repositories.credentialsSecret ?? localCredentialsKey(appsDir),
      };
    appsOptions.repositories.db = db;
    return db;
  })();
  sharedDb.catch(() => {});

  // The subgraphs (see README "Services") start together: each mostly waits (on the cluster's first lists, on
  // Prometheus, on its listener), and one after the other those waits added up (issue 19 §4). Each is added to
  // `running` as soon as it is up (a Ctrl-C meanwhile stops it); their lines are printed in this order, whatever order
  // they come up in. A failure fails the start as before, once the ones printed before it are printed.
  // Accounts: its database and the bootstrap admin, whose generated password it prints on the first start.
  const accountsStarting = after(sharedDb, (db) =>
    startAccountsSubgraph({ ...accountsOptions, db, identitySecret, internalToken, kubeConfig }),
  );
  // Workloads starts at once (its caches fill from the cluster meanwhile): it calls accounts only when a project is
  // created, at accounts' URL once accounts listens.
  const workloadsStarting = started(
    startWorkloadsSubgraph({
      ...workloadsOptions,
      identitySecret,
      kubeConfig,
      accounts: { url: accountsStarting.then((accounts) => accounts.baseUrl), internalToken },
    }),
  );
  const demoWorkspaces = sandboxMetrics ? accountsStarting.then(ensureDemoWorkspaces) : undefined;

  // Metrics: PROMETHEUS_URL, or on the sandbox a Prometheus of our own when the binary is installed.
  const prometheusBin = findOnPath('prometheus');
  const prometheusStarting =
    !monitoringOptions.prometheusUrl && sandboxMetrics && prometheusBin
      ? started(
          startLocalPrometheus({ bin: prometheusBin, metricsUrl: sandboxMetrics.url, caPem: sandboxMetrics.caPem }),
        )
      : undefined;
  const monitoringStarting = after(Promise.resolve(prometheusStarting), (prometheus) =>
    startMonitoringSubgraph({
      ...monitoringOptions,
      prometheusUrl: prometheus?.url ?? monitoringOptions.prometheusUrl,
      identitySecret,
      kubeConfig,
    }),
  );

  // Helm releases and chart repositories; helm runs against the same cluster (the sandbox when none is configured).
  const appsStarting = after(sharedDb, () => startAppsSubgraph({ ...appsOptions, identitySecret, kubeConfig }));

  // Logs: ELASTICSEARCH_URL, or on the sandbox the Elasticsearch stand-in its thread runs (above).
  const loggingStarting = started(
    startLoggingSubgraph({
      ...loggingOptions,
      elasticsearch: esUrl ? { url: esUrl } : loggingOptions.elasticsearch,
      identitySecret,
      kubeConfig,
    }),
  );
  // Every one is awaited below, in order; a rejection is not "unhandled" meanwhile.
  for (const p of [workloadsStarting, demoWorkspaces, monitoringStarting, appsStarting, loggingStarting])
    p?.catch(() => {});

  const accounts = await accountsStarting;
  subgraphUrls.accounts = accounts.url;
  console.log(
    `kubegraph: accounts subgraph at ${accounts.url} (${accountsOptions.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${accountsOptions.dataDir}`}; JWKS at ${accounts.baseUrl}/.well-known/jwks.json)`,
  );
  await demoWorkspaces;

  const workloads = await workloadsStarting;
  subgraphUrls.workloads = workloads.url;
  console.log(`kubegraph: workloads subgraph at ${workloads.url}`);

  const prometheus = await prometheusStarting;
  if (prometheus) {
    monitoringOptions.prometheusUrl = prometheus.url;
    console.log(
      `kubegraph: PROMETHEUS_URL unset: started ${prometheusBin} at ${prometheus.url} scraping the sandbox's exporters (data in ${prometheus.dataDir}, removed at exit)`,
    );
  } else if (!monitoringOptions.prometheusUrl) {
    console.log(
      'kubegraph: PROMETHEUS_URL unset and no Prometheus started (needs the sandbox and a `prometheus` binary on PATH): metric fields answer UPSTREAM_UNAVAILABLE',
    );
  }
  const monitoring = await monitoringStarting;
  subgraphUrls.monitoring = monitoring.url;
  console.log(
    `kubegraph: monitoring subgraph at ${monitoring.url}${monitoringOptions.prometheusUrl ? ` (Prometheus ${monitoringOptions.prometheusUrl})` : ''}`,
  );

  const apps = await appsStarting;
  subgraphUrls.apps = apps.url;
  console.log(
    `kubegraph: apps subgraph at ${apps.url} (helm ${appsOptions.helmBin}; repositories ${appsOptions.repositories.databaseUrl ? `in PostgreSQL, schema ${appsOptions.repositories.schema}` : `in accounts' embedded PGlite in ${accountsOptions.dataDir}, schema ${appsOptions.repositories.schema}`})`,
  );

  if (esUrl) {
    loggingOptions.elasticsearch = { url: esUrl };
    console.log(
      `kubegraph: ELASTICSEARCH_URL unset: started the Elasticsearch stand-in at ${esUrl}, fed by the shipper with the sandbox's container logs`,
    );
  } else if (!loggingOptions.elasticsearch) {
    console.log('kubegraph: ELASTICSEARCH_URL unset: log search fields answer UPSTREAM_UNAVAILABLE');
  }
  const logging = await loggingStarting;
  subgraphUrls.logging = logging.url;
  console.log(
    `kubegraph: logging subgraph at ${logging.url}${loggingOptions.elasticsearch ? ` (Elasticsearch ${loggingOptions.elasticsearch.url})` : ''}`,
  );

  if (!gatewayThread) {
    console.log(
      `kubegraph: no supergraph at ${gatewayOptions.supergraphPath ?? 'schema/supergraph.graphql'} yet (npm run compose): the gateway is not started`,
    );
    return;
  }
  // WORKLOADS_URL and friends, when set, still win over the in-process subgraphs.
  const gateway = await gatewayThread.listen({
    subgraphUrls: { ...subgraphUrls, ...gatewayOptions.subgraphUrls },
    accountsUrl: accounts.baseUrl,
  });
  console.log(
    `kubegraph: gateway at ${gateway.url} (readiness: ${gateway.url.replace(/\/graphql$/, '/readyz')}, metrics: ${gateway.url.replace(/\/graphql$/, '/metrics')})`,
  );
});

/**
 * On the sandbox, the demo's namespaces are labelled with workspaces demo-shop and data-platform: accounts gets
 * them too (once; an existing one is left as it is), so projects show their workspace from the first start.
 */
async function ensureDemoWorkspaces(accounts: AccountsSubgraph): Promise<void> {
  const asAdmin = {
    viewer: { username: 'admin', platformRole: 'platform-admin' },
    client: { ip: null, userAgent: 'kubegraph-start' },
    memo: new Map<string, unknown>(),
  };
  for (const [name, description] of [
    ['demo-shop', 'The demo online shop: production and staging'],
    ['data-platform', 'The demo analytics jobs'],
  ]) {
    if (await accounts.model.workspaces.workspace(asAdmin, name).catch(() => null)) continue;
    await accounts.model.workspaces
      .createWorkspace(asAdmin, name, description)
      .catch((e: unknown) => console.log(`kubegraph: demo workspace ${name} not created: ${(e as Error).message}`));
  }
}
