// Runs the workloads subgraph alone: `tsx services/workloads/main.ts` (KUBECONFIG names the cluster).
import { runMain } from '../common/config.js';
import { workloadsOptionsFromEnv } from './config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { startWorkloadsSubgraph } from './server.js';

await runMain(async () => {
  // Only the gateway may call it: the identity secret it shares with the gateway must be set.
  const subgraph = await startWorkloadsSubgraph({
    ...workloadsOptionsFromEnv(),
    identitySecret: identitySecretFromEnv(),
  });
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
