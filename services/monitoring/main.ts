// Runs the monitoring subgraph alone: `tsx services/monitoring/main.ts` (PROMETHEUS_URL names the Prometheus).
import { runService } from '../common/config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { clusterFromEnv } from '../common/k8s/cluster.js';
import { monitoringOptionsFromEnv } from './config.js';
import { startMonitoringSubgraph } from './server.js';

// Only the gateway may call it: the identity secret it shares with the gateway must be set. The cluster (KUBECONFIG
// or in-cluster) gives the namespace → workspace view behind workspace roles.
await runService(() =>
  startMonitoringSubgraph({
    ...monitoringOptionsFromEnv(),
    identitySecret: identitySecretFromEnv(),
    kubeConfig: clusterFromEnv(),
  }),
);
