// Runs the workloads subgraph alone: `tsx services/workloads/main.ts` (KUBECONFIG names the cluster).
import { envInt, envString, runMain } from '../common/config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { startWorkloadsSubgraph } from './server.js';

await runMain(async () => {
  const port = envInt('WORKLOADS_PORT', 4002, { min: 0, max: 65535 });
  const host = envString('WORKLOADS_HOST', '127.0.0.1');
  // Only the gateway may call it: the identity secret it shares with the gateway must be set.
  const subgraph = await startWorkloadsSubgraph({ port, host, identitySecret: identitySecretFromEnv() });
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
