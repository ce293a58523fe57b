// The whole stack a frontend talks to, for end-to-end tests: a sandbox cluster, the accounts subgraph (PGlite in
// memory), the workloads and monitoring subgraphs, and the gateway (checked-in supergraph) in front, with the real
// identity path: the gateway verifies tokens with accounts and forwards the caller signed, and every subgraph refuses
// requests the gateway did not sign. `gql` runs as the bootstrap admin (logged in at start); `gqlAs` with any token.
// Tests speak GraphQL to the gateway only; they may check effects on the cluster through the sandbox's real clients.
//
// The monitoring subgraph is in the supergraph, so the gateway is ready only when it answers: it always runs, without
// a Prometheus (metric fields answer UPSTREAM_UNAVAILABLE, nothing else changes) unless `monitoring.prometheusUrl`
// names one.
//
// The logging subgraph is in the supergraph too: the stack starts the Elasticsearch stand-in (test/harness/es.ts) and
// the shipper that sends the sandbox's container lines into it (services/es/shipper.ts), unless `logging.elasticsearch`
// names another (or `logging.shipper: false` leaves the stand-in empty); `es` and `shipper` are null then.
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/gateway.js';
import { accountsAuthenticator } from '../../gateway/identity.js';
import { IDENTITY_HEADER, identityKey, signIdentity } from '../../services/common/identity.js';
import { startAccountsSubgraph, type AccountsSubgraph } from '../../services/accounts/server.js';
import type { AccountsSettings } from '../../services/accounts/model/accounts.js';
import type { Logger } from '../../services/common/log.js';
import type { SandboxOptions } from '../../services/sandbox/sandbox.js';
import {
  startMonitoringSubgraph,
  type MonitoringSubgraph,
  type MonitoringSubgraphOptions,
} from '../../services/monitoring/server.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../../services/workloads/server.js';
import {
  startLoggingSubgraph,
  type LoggingSubgraph,
  type LoggingSubgraphOptions,
} from '../../services/logging/server.js';
import { startShipper, type ShippedDocument, type Shipper } from '../../services/es/shipper.js';
import { startTestEs, type TestEs } from './es.js';
import { startAppsSubgraph, type AppsSubgraph, type AppsSubgraphOptions } from '../../services/apps/server.js';
import { gql, setDefaultHeaders, type GraphQLResult } from './graphql.js';
import { eventually, startTestSandbox, type TestSandbox } from './sandbox.js';

export const quietLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The secret the test stack's gateway signs identities with (tests may sign as the gateway would). */
export const STACK_IDENTITY_SECRET = 'kubegraph-test-stack-identity-secret';
export const STACK_ADMIN_PASSWORD = 'stack-admin-password-1';
const STACK_INTERNAL_TOKEN = 'kubegraph-test-stack-internal-token';

export interface TestStack {
  cluster: TestSandbox;
  accounts: AccountsSubgraph;
  workloads: WorkloadsSubgraph;
  monitoring: MonitoringSubgraph;
  /** The apps subgraph: repositories in an in-memory PGlite, helm (.tools/bin/helm) against the sandbox. */
  apps: AppsSubgraph;
  logging: LoggingSubgraph;
  /** The Elasticsearch stand-in (null when `logging.elasticsearch` names another or none). */
  es: TestEs | null;
  /** The shipper of the sandbox's container lines into the stand-in (null without it, or with `shipper: false`). */
  shipper: Shipper | null;
  /** Every document the shipper got acknowledged, in order (ground truth for log tests). */
  shipped: ShippedDocument[];
  gateway: Gateway;
  /** A GraphQL request to the gateway, as the bootstrap admin (platform-admin). */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
  /** A GraphQL request to the gateway with a bearer token (undefined: anonymous). */
  gqlAs<T = Record<string, unknown>>(
    token: string | undefined,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResult<T>>;
  /** Logs in through the gateway; the access token. */
  login(username: string, password: string): Promise<string>;
  /** The bootstrap admin's access token. */
  adminToken: string;
  /**
   * Another gateway on the stack's subgraphs and identity path (overrides merged; e.g. another workloads subgraph,
   * started with `identitySecret: STACK_IDENTITY_SECRET`). Plain `gql(url, …)` calls to it run as the admin.
   * Closed by close().
   */
  startGateway(overrides?: Partial<GatewayOptions>): Promise<Gateway>;
  close(): Promise<void>;
}

export interface StackMonitoringOptions extends Partial<Omit<MonitoringSubgraphOptions, 'prometheusUrl'>> {
  /** The Prometheus the monitoring subgraph asks, or a function of the sandbox that starts one and gives its URL. */
  prometheusUrl?: string | ((cluster: TestSandbox) => string | Promise<string>);
}

export interface StackLoggingOptions extends Partial<Omit<LoggingSubgraphOptions, 'elasticsearch'>> {
  /** Another Elasticsearch (or null: none, the search fields answer UPSTREAM_UNAVAILABLE); default: the stand-in. */
  elasticsearch?: LoggingSubgraphOptions['elasticsearch'] | null;
  /** Ship the sandbox's container lines into the stand-in (default true). */
  shipper?: boolean;
}

export async function startTestStack(
  opts: {
    sandbox?: SandboxOptions;
    gateway?: Partial<GatewayOptions>;
    monitoring?: StackMonitoringOptions;
    accounts?: { settings?: Partial<AccountsSettings> };
    apps?: Partial<AppsSubgraphOptions>;
    logging?: StackLoggingOptions;
  } = {},
): Promise<TestStack> {
  const cluster = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20, ...opts.sandbox });
  const identitySecret = STACK_IDENTITY_SECRET;
  // accounts first (workloads asks it for role bindings); monitoring, apps and the logging side start alongside.
  const accountsReady = startAccountsSubgraph({
    port: 0,
    log: quietLogger,
    adminPassword: STACK_ADMIN_PASSWORD,
    internalToken: STACK_INTERNAL_TOKEN,
    identitySecret,
    // Cheap hashes: tests create many users.
    settings: { scryptLogN: 10, ...opts.accounts?.settings },
    kubeConfig: cluster.kc,
  });
  const workloadsReady = accountsReady.then((accounts) =>
    startWorkloadsSubgraph({
      port: 0,
      kubeConfig: cluster.kc,
      log: quietLogger,
      identitySecret,
      accounts: { url: accounts.baseUrl, internalToken: STACK_INTERNAL_TOKEN },
    }),
  );
  const { prometheusUrl, ...monitoringOptions } = opts.monitoring ?? {};
  const monitoringReady = (async () =>
    startMonitoringSubgraph({
      port: 0,
      log: quietLogger,
      identitySecret,
      kubeConfig: cluster.kc,
      ...monitoringOptions,
      prometheusUrl: typeof prometheusUrl === 'function' ? await prometheusUrl(cluster) : prometheusUrl,
    }))();
  const appsReady = startAppsSubgraph({
    port: 0,
    log: quietLogger,
    identitySecret,
    kubeConfig: cluster.kc,
    helmTimeoutSeconds: 60,
    ...opts.apps,
  });
  const shipped: ShippedDocument[] = [];
  const loggingReady = (async () => {
    const { elasticsearch, shipper: ship, ...loggingOptions } = opts.logging ?? {};
    const es = elasticsearch === undefined ? await startTestEs() : null;
    // The index template the README advises, before the first index: log.keyword holds lines up to 8191 characters
    // (dynamic mapping stops at 256), so that contains/excludes see every line of the sandbox.
    if (es) {
      const template = await fetch(`${es.url}/_index_template/kubegraph-logs`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          index_patterns: ['ks-logstash-log-*'],
          template: {
            mappings: {
              properties: { log: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 8191 } } } },
            },
          },
        }),
      });
      if (template.status !== 200) throw new Error(`index template: ${template.status} ${await template.text()}`);
    }
    const shipper =
      es && ship !== false
        ? startShipper({
            store: cluster.sandbox.store,
            url: es.url,
            // The shipper computes lines with the sandbox's timing, which depends on its speed.
            speed: opts.sandbox?.speed ?? 20,
            onShipped: (docs) => shipped.push(...docs),
          })
        : null;
    const logging = await startLoggingSubgraph({
      port: 0,
      log: quietLogger,
      identitySecret,
      kubeConfig: cluster.kc,
      ...loggingOptions,
      elasticsearch: es ? { url: es.url } : (elasticsearch ?? undefined),
    });
    return { es, shipper, logging };
  })();
  // One failure fails the start (the test fails; the parts already listening end with the test process).
  const [accounts, workloads, monitoring, apps, { es, shipper, logging }] = await Promise.all([
    accountsReady,
    workloadsReady,
    monitoringReady,
    appsReady,
    loggingReady,
  ]);
  const authenticator = accountsAuthenticator({
    accountsUrl: accounts.baseUrl,
    internalToken: STACK_INTERNAL_TOKEN,
    bindingsCheckMs: 0,
  });
  const baseSubgraphs = {
    accounts: accounts.url,
    workloads: workloads.url,
    monitoring: monitoring.url,
    apps: apps.url,
    logging: logging.url,
  };
  const gatewayWith = (o: Partial<GatewayOptions> = {}) =>
    startGateway({
      port: 0,
      logger: quietLogger,
      readyCacheMs: 0,
      identitySecret,
      authenticator,
      ...o,
      // A test may route more subgraphs (or other instances) through subgraphUrls.
      subgraphUrls: { ...baseSubgraphs, ...o.subgraphUrls },
    });
  const gateway = await gatewayWith(opts.gateway);
  const extraGateways: Gateway[] = [];
  const readyz = gateway.url.replace(/\/graphql$/, '/readyz');
  await eventually(async () => (await fetch(readyz)).status === 200, 30_000, 'the stack to be ready');
  const gqlAs = <T>(token: string | undefined, query: string, variables: Record<string, unknown> = {}) =>
    gql<T>(gateway.url, query, variables, token ? { authorization: `Bearer ${token}` } : {});
  const login = async (username: string, password: string) => {
    const r = await gqlAs<{ login: { accessToken: string } }>(
      undefined,
      'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }',
      { u: username, p: password },
    );
    if (!r.data?.login) throw new Error(`login of ${username} failed: ${JSON.stringify(r.errors)}`);
    return r.data.login.accessToken;
  };
  const adminToken = await login('admin', STACK_ADMIN_PASSWORD);
  const asAdmin = { authorization: `Bearer ${adminToken}` };
  setDefaultHeaders(gateway.url, asAdmin);
  // Direct calls to a subgraph (its _entities contract) carry what the gateway would send for the admin.
  const signedAdmin = {
    [IDENTITY_HEADER]: await signIdentity(
      identityKey(identitySecret),
      { username: 'admin', platformRole: 'platform-admin' },
      3600,
    ),
  };
  for (const u of [workloads.url, monitoring.url, accounts.url, apps.url, logging.url])
    setDefaultHeaders(u, signedAdmin);
  return {
    cluster,
    accounts,
    workloads,
    monitoring,
    apps,
    logging,
    es,
    shipper,
    shipped,
    gateway,
    adminToken,
    gql: (query, variables = {}) => gqlAs(adminToken, query, variables),
    gqlAs,
    login,
    async startGateway(overrides = {}) {
      const g = await gatewayWith(overrides);
      extraGateways.push(g);
      setDefaultHeaders(g.url, asAdmin);
      return g;
    },
    async close() {
      for (const g of extraGateways) {
        setDefaultHeaders(g.url, undefined);
        await g.close().catch(() => {});
      }
      for (const u of [gateway.url, workloads.url, monitoring.url, accounts.url, apps.url, logging.url])
        setDefaultHeaders(u, undefined);
      await gateway.close();
      await logging.close();
      await shipper?.close();
      await es?.close();
      await apps.close();
      await monitoring.close();
      await workloads.close();
      await accounts.close();
      await cluster.close();
    },
  };
}
