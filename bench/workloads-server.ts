// The GraphQL side of the workloads benchmark, in its own process (the measuring clients run in the parent, the
// sandbox in bench/sandbox-server.ts):
// - the workloads subgraph on the sandbox given by BENCH_KUBECONFIG;
// - the accounts subgraph (PGlite in memory, as test/harness/stack.ts starts it), holding the workspaces the sandbox's
//   namespaces are labelled with (kubesphere.io/workspace), so that `Project.workspace` — which accounts resolves
//   from workloads' `workspaceName` (@requires) — is never null;
// - our gateway in front of both;
// - a plain @apollo/gateway (ApolloServer + ApolloGateway over the same supergraph, no limits, caches or metrics
//   plugins, startStandaloneServer) in front of the same two subgraphs — the baseline for throughput.
//
// Both gateways forward the same identity the same way: the subgraphs refuse any request without a valid
// `x-kubegraph-identity` (services/common/identity.ts), so the plain gateway's data sources sign it in
// willSendRequest with the same secret, once per request as ours does. Neither checks a caller token: ours runs with
// its development authenticator (everyone is DEV_VIEWER, a platform admin), and the plain one signs DEV_VIEWER.
//
// When the workloads subgraph's caches have synced it prints one JSON line ({ ready: true, subgraph, accounts,
// gateway, plain, syncMs, workspaces }); it exits when the parent disconnects.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { startGateway } from '../gateway/gateway.js';
import { SUPERGRAPH_PATH } from '../gateway/compose.js';
import { DEV_VIEWER } from '../services/common/authz.js';
import { IDENTITY_HEADER, identityKey, randomIdentitySecret, signIdentity } from '../services/common/identity.js';
import type { Logger } from '../services/common/log.js';
import { WORKSPACE_LABEL } from '../services/common/k8s/labels.js';
import { startAccountsSubgraph } from '../services/accounts/server.js';
import { startWorkloadsSubgraph } from '../services/workloads/server.js';

export interface GraphqlReady {
  ready: true;
  subgraph: string;
  accounts: string;
  gateway: string;
  plain: string;
  syncMs: number;
  /** The workspaces created in accounts (the sandbox namespaces' kubesphere.io/workspace labels): name → description. */
  workspaces: Record<string, string>;
}

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const kubeconfig = process.env.BENCH_KUBECONFIG;
if (!kubeconfig) throw new Error('BENCH_KUBECONFIG (the sandbox kubeconfig, YAML) is required');
const kc = new k8s.KubeConfig();
kc.loadFromString(kubeconfig);

// One secret for the process, as `npm start` does: both gateways sign with it, both subgraphs check it.
const identitySecret = randomIdentitySecret();

const t0 = performance.now();
const subgraph = await startWorkloadsSubgraph({ port: 0, kubeConfig: kc, log: quiet, identitySecret });
await subgraph.ready();
const syncMs = performance.now() - t0;

const accounts = await startAccountsSubgraph({
  port: 0,
  log: quiet,
  identitySecret,
  adminPassword: randomIdentitySecret(),
  internalToken: randomIdentitySecret(),
});
// The workspaces of the sandbox's namespaces, created as services/start.ts creates the demo's.
const namespaces = await kc.makeApiClient(k8s.CoreV1Api).listNamespace();
const workspaces: Record<string, string> = {};
const asAdmin = {
  viewer: DEV_VIEWER,
  client: { ip: null, userAgent: 'kubegraph-bench' },
  memo: new Map<string, unknown>(),
};
for (const name of [
  ...new Set(namespaces.items.map((n) => n.metadata?.labels?.[WORKSPACE_LABEL]).filter((w): w is string => !!w)),
].sort()) {
  const description = `Benchmark workspace ${name}`;
  await accounts.model.workspaces.createWorkspace(asAdmin, name, description);
  workspaces[name] = description;
}
if (Object.keys(workspaces).length === 0) throw new Error(`no namespace of the sandbox has a ${WORKSPACE_LABEL} label`);

const subgraphUrls = { workloads: subgraph.url, accounts: accounts.url };
const gateway = await startGateway({ port: 0, subgraphUrls, identitySecret, logger: quiet });

const signingKey = identityKey(identitySecret);
/** The signed identity of each request (its context object), shared by the request's fetches. */
const signed = new WeakMap<object, Promise<string>>();
class SignedDataSource extends RemoteGraphQLDataSource {
  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions): Promise<void> {
    let token = signed.get(context);
    if (!token) {
      token = signIdentity(signingKey, DEV_VIEWER);
      signed.set(context, token);
    }
    request.http?.headers.set(IDENTITY_HEADER, await token);
  }
}
const supergraphSdl = readFileSync(SUPERGRAPH_PATH, 'utf8');
const plainServer = new ApolloServer({
  gateway: new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) =>
      new SignedDataSource({ url: subgraphUrls[name as keyof typeof subgraphUrls] ?? url }),
  }),
});
const { url: plainUrl } = await startStandaloneServer(plainServer, { listen: { port: 0, host: '127.0.0.1' } });

let closing: Promise<void> | undefined;
const shutdown = () => {
  closing ??= (async () => {
    await plainServer.stop();
    await gateway.close();
    await accounts.close();
    await subgraph.close();
  })();
  return closing;
};
process.on('disconnect', () => void shutdown().finally(() => process.exit(0)));
process.once('SIGTERM', () => void shutdown().finally(() => process.exit(0)));

const ready: GraphqlReady = {
  ready: true,
  subgraph: subgraph.url,
  accounts: accounts.url,
  gateway: gateway.url,
  plain: plainUrl,
  syncMs,
  workspaces,
};
process.stdout.write(JSON.stringify(ready) + '\n');
