// The whole stack a frontend talks to, for end-to-end tests: a sandbox cluster, the workloads subgraph on it and the
// gateway (checked-in supergraph) in front. Tests speak GraphQL to the gateway only; they may check effects on the
// cluster through the sandbox's real clients.
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/gateway.js';
import type { Logger } from '../../services/common/log.js';
import type { SandboxOptions } from '../../services/sandbox/sandbox.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../../services/workloads/server.js';
import { gql, type GraphQLResult } from './graphql.js';
import { eventually, startTestSandbox, type TestSandbox } from './sandbox.js';

export const quietLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export interface TestStack {
  cluster: TestSandbox;
  workloads: WorkloadsSubgraph;
  gateway: Gateway;
  /** A GraphQL request to the gateway. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
  close(): Promise<void>;
}

export async function startTestStack(opts: { sandbox?: SandboxOptions; gateway?: Partial<GatewayOptions> } = {}): Promise<TestStack> {
  const cluster = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20, ...opts.sandbox });
  const workloads = await startWorkloadsSubgraph({ port: 0, kubeConfig: cluster.kc, log: quietLogger });
  const gateway = await startGateway({ port: 0, subgraphUrls: { workloads: workloads.url }, logger: quietLogger, readyCacheMs: 0, ...opts.gateway });
  const readyz = gateway.url.replace(/\/graphql$/, '/readyz');
  await eventually(async () => (await fetch(readyz)).status === 200, 30_000, 'the stack to be ready');
  return {
    cluster,
    workloads,
    gateway,
    gql: (query, variables = {}) => gql(gateway.url, query, variables),
    async close() {
      await gateway.close();
      await workloads.close();
      await cluster.close();
    },
  };
}
