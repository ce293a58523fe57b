// Runs the monitoring subgraph alone: `tsx services/monitoring/main.ts` (PROMETHEUS_URL names the Prometheus).
import * as k8s from '@kubernetes/client-node';
import { runMain } from '../common/config.js';
import { monitoringOptionsFromEnv } from './config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { startMonitoringSubgraph } from './server.js';

await runMain(async () => {
  // Only the gateway may call it: the identity secret it shares with the gateway must be set.
  // The cluster (KUBECONFIG or in-cluster) for the namespace → workspace view behind workspace roles.
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  const subgraph = await startMonitoringSubgraph({
    ...monitoringOptionsFromEnv(),
    identitySecret: identitySecretFromEnv(),
    kubeConfig,
  });
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
