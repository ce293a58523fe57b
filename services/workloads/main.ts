// Runs the workloads subgraph alone: `tsx services/workloads/main.ts` (KUBECONFIG names the cluster).
import { runService } from '../common/config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { clusterFromEnv } from '../common/k8s/cluster.js';
import { workloadsOptionsFromEnv } from './config.js';
import { startWorkloadsSubgraph } from './server.js';

// Only the gateway may call it: the identity secret it shares with the gateway must be set.
await runService(() =>
  startWorkloadsSubgraph({
    ...workloadsOptionsFromEnv(),
    identitySecret: identitySecretFromEnv(),
    kubeConfig: clusterFromEnv(),
  }),
);
