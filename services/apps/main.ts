// Runs the apps subgraph alone: `tsx services/apps/main.ts` (KUBECONFIG names the cluster, HELM_BIN the helm binary).
import { runService } from '../common/config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { clusterFromEnv } from '../common/k8s/cluster.js';
import { appsOptionsFromEnv } from './config.js';
import { startAppsSubgraph } from './server.js';

// Only the gateway may call it: the identity secret it shares with the gateway must be set.
await runService(() =>
  startAppsSubgraph({
    ...appsOptionsFromEnv(),
    identitySecret: identitySecretFromEnv(),
    kubeConfig: clusterFromEnv(),
  }),
);
