// The whole stack a frontend talks to, for end-to-end tests: a sandbox cluster, the workloads subgraph on it and the
// gateway (checked-in supergraph) in front. Tests speak GraphQL to the gateway only; they may check effects on the
// cluster through the sandbox's real clients.
//
// The monitoring subgraph is in the supergraph, so the gateway is ready only when it answers: it always runs, without
// a Prometheus (metric fields answer UPSTREAM_UNAVAILABLE, nothing else changes) unless `monitoring.prometheusUrl`
// names one.
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/gateway.js';
import type { Logger } from '../../services/common/log.js';
import type { SandboxOptions } from '../../services/sandbox/sandbox.js';
import { startMonitoringSubgraph, type MonitoringSubgraph, type MonitoringSubgraphOptions } from '../../services/monitoring/server.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../../services/workloads/server.js';
import { gql, type GraphQLResult } from './graphql.js';
import { eventually, startTestSandbox, type TestSandbox } from './sandbox.js';

export const quietLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export interface TestStack {
  cluster: TestSandbox;
  workloads: WorkloadsSubgraph;
  monitoring: MonitoringSubgraph;
  gateway: Gateway;
  /** A GraphQL request to the gateway. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
  close(): Promise<void>;
}

export interface StackMonitoringOptions extends Partial<Omit<MonitoringSubgraphOptions, 'prometheusUrl'>> {
  /** The Prometheus the monitoring subgraph asks, or a function of the sandbox that starts one and gives its URL. */
  prometheusUrl?: string | ((cluster: TestSandbox) => string | Promise<string>);
}

export async function startTestStack(opts: { sandbox?: SandboxOptions; gateway?: Partial<GatewayOptions>; monitoring?: StackMonitoringOptions } = {}): Promise<TestStack> {
  const cluster = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20, ...opts.sandbox });
  const workloads = await startWorkloadsSubgraph({ port: 0, kubeConfig: cluster.kc, log: quietLogger });
  const { prometheusUrl, ...monitoringOptions } = opts.monitoring ?? {};
  const monitoring = await startMonitoringSubgraph({
    port: 0,
    log: quietLogger,
    ...monitoringOptions,
    prometheusUrl: typeof prometheusUrl === 'function' ? await prometheusUrl(cluster) : prometheusUrl,
  });
  const gateway = await startGateway({
    port: 0,
    logger: quietLogger,
    readyCacheMs: 0,
    ...opts.gateway,
    // A test may route more subgraphs (or other instances) through opts.gateway.subgraphUrls.
    subgraphUrls: { workloads: workloads.url, monitoring: monitoring.url, ...opts.gateway?.subgraphUrls },
  });
  const readyz = gateway.url.replace(/\/graphql$/, '/readyz');
  await eventually(async () => (await fetch(readyz)).status === 200, 30_000, 'the stack to be ready');
  return {
    cluster,
    workloads,
    monitoring,
    gateway,
    gql: (query, variables = {}) => gql(gateway.url, query, variables),
    async close() {
      await gateway.close();
      await monitoring.close();
      await workloads.close();
      await cluster.close();
    },
  };
}
