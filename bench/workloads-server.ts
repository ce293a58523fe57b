// The GraphQL side of the workloads benchmark, in its own process (the measuring clients run in the parent, the
// sandbox in bench/sandbox-server.ts): the workloads subgraph on the sandbox given by BENCH_KUBECONFIG, our gateway in
// front of it, and a plain @apollo/gateway (ApolloServer + ApolloGateway over the same supergraph, no limits, caches
// or metrics plugins, startStandaloneServer) in front of the same subgraph — the baseline for throughput.
//
// When the subgraph's caches have synced it prints one JSON line ({ ready: true, subgraph, gateway, plain, syncMs });
// it exits when the parent disconnects.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { startGateway } from '../gateway/gateway.js';
import { SUPERGRAPH_PATH } from '../gateway/compose.js';
import type { Logger } from '../services/common/log.js';
import { startWorkloadsSubgraph } from '../services/workloads/server.js';

export interface GraphqlReady {
  ready: true;
  subgraph: string;
  gateway: string;
  plain: string;
  syncMs: number;
}

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const kubeconfig = process.env.BENCH_KUBECONFIG;
if (!kubeconfig) throw new Error('BENCH_KUBECONFIG (the sandbox kubeconfig, YAML) is required');
const kc = new k8s.KubeConfig();
kc.loadFromString(kubeconfig);

const t0 = performance.now();
const subgraph = await startWorkloadsSubgraph({ port: 0, kubeConfig: kc, log: quiet });
await subgraph.ready();
const syncMs = performance.now() - t0;

const gateway = await startGateway({ port: 0, subgraphUrls: { workloads: subgraph.url }, logger: quiet });

const plainServer = new ApolloServer({
  gateway: new ApolloGateway({ supergraphSdl: readFileSync(SUPERGRAPH_PATH, 'utf8'), buildService: () => new RemoteGraphQLDataSource({ url: subgraph.url }) }),
});
const { url: plainUrl } = await startStandaloneServer(plainServer, { listen: { port: 0, host: '127.0.0.1' } });

let closing: Promise<void> | undefined;
const shutdown = () => {
  closing ??= (async () => {
    await plainServer.stop();
    await gateway.close();
    await subgraph.close();
  })();
  return closing;
};
process.on('disconnect', () => void shutdown().finally(() => process.exit(0)));
process.once('SIGTERM', () => void shutdown().finally(() => process.exit(0)));

const ready: GraphqlReady = { ready: true, subgraph: subgraph.url, gateway: gateway.url, plain: plainUrl, syncMs };
process.stdout.write(JSON.stringify(ready) + '\n');
