// Runs the workloads subgraph alone: `tsx services/workloads/main.ts` (KUBECONFIG names the cluster).
import { envInt, envString, runMain } from '../common/config.js';
import { startWorkloadsSubgraph } from './server.js';

await runMain(async () => {
  const port = envInt('WORKLOADS_PORT', 4002, { min: 0, max: 65535 });
  const host = envString('WORKLOADS_HOST', '127.0.0.1');
  const subgraph = await startWorkloadsSubgraph({ port, host });
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
