// `npm start`: kubegraph for development, in one process. Without a configured cluster (KUBECONFIG unset and not
// running in a pod) it starts the embedded sandbox cluster first, and says so; then the subgraphs that exist and
// the gateway in front of them.
import { existsSync } from 'node:fs';
import { runMain, envInt, envString } from './common/config.js';
import { sandboxOptionsFromEnv } from './sandbox/config.js';
import { startSandbox } from './sandbox/sandbox.js';
import { gatewayOptionsFromEnv } from '../gateway/config.js';
import { startGateway } from '../gateway/gateway.js';
import { SUPERGRAPH_PATH } from '../gateway/compose.js';
import { startWorkloadsSubgraph } from './workloads/server.js';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

interface Closable {
  url: string;
  close(): Promise<void>;
}

await runMain(async () => {
  const running: Closable[] = [];
  const kubeconfig = envString('KUBECONFIG');
  if (kubeconfig) {
    console.log(`kubegraph: using the cluster of KUBECONFIG=${kubeconfig}`);
  } else if (existsSync(IN_CLUSTER_TOKEN)) {
    console.log('kubegraph: using the in-cluster service account');
  } else {
    const sandbox = await startSandbox(sandboxOptionsFromEnv());
    running.push(sandbox);
    process.env.KUBECONFIG = sandbox.kubeconfigPath;
    console.log(`kubegraph: no cluster configured (KUBECONFIG unset): running against the embedded sandbox cluster at ${sandbox.url}`);
    console.log(`kubegraph: sandbox kubeconfig at ${sandbox.kubeconfigPath} (kubectl --kubeconfig ${sandbox.kubeconfigPath} get pods -A)`);
  }
  const stop = async () => {
    for (const s of running.reverse()) await s.close().catch(() => {});
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  // The gateway's options are validated before the subgraphs start, so a bad variable stops the process early.
  const gatewayOptions = gatewayOptionsFromEnv();
  const subgraphUrls: Record<string, string> = {};

  // The subgraphs, as they are built (see README "Services").
  const workloads = await startWorkloadsSubgraph({ port: envInt('WORKLOADS_PORT', 4002, { min: 0, max: 65535 }), host: envString('WORKLOADS_HOST', '127.0.0.1') });
  running.push(workloads);
  subgraphUrls.workloads = workloads.url;
  console.log(`kubegraph: workloads subgraph at ${workloads.url}`);

  if (!existsSync(gatewayOptions.supergraphPath ?? SUPERGRAPH_PATH)) {
    console.log(`kubegraph: no supergraph at ${gatewayOptions.supergraphPath ?? 'schema/supergraph.graphql'} yet (npm run compose): the gateway is not started`);
    return;
  }
  // WORKLOADS_URL and friends, when set, still win over the in-process subgraphs.
  const gateway = await startGateway({ ...gatewayOptions, subgraphUrls: { ...subgraphUrls, ...gatewayOptions.subgraphUrls } });
  running.push(gateway);
  console.log(`kubegraph: gateway at ${gateway.url} (readiness: ${gateway.url.replace(/\/graphql$/, '/readyz')}, metrics: ${gateway.url.replace(/\/graphql$/, '/metrics')})`);
});
