// Runs the logging subgraph alone: `tsx services/logging/main.ts` (ELASTICSEARCH_URL names the Elasticsearch).
import { runService } from '../common/config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { clusterFromEnv } from '../common/k8s/cluster.js';
import { loggingOptionsFromEnv } from './config.js';
import { startLoggingSubgraph } from './server.js';

// Only the gateway may call it: the identity secret it shares with the gateway must be set. The cluster (KUBECONFIG
// or in-cluster) gives the namespace view behind workspace roles and namespace creation times, and the pod log API.
await runService(() =>
  startLoggingSubgraph({
    ...loggingOptionsFromEnv(),
    identitySecret: identitySecretFromEnv(),
    kubeConfig: clusterFromEnv(),
  }),
);
