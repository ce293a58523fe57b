// Runs the monitoring subgraph alone: `tsx services/monitoring/main.ts` (PROMETHEUS_URL names the Prometheus).
import { runMain } from '../common/config.js';
import { monitoringOptionsFromEnv } from './config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { startMonitoringSubgraph } from './server.js';

await runMain(async () => {
  // Only the gateway may call it: the identity secret it shares with the gateway must be set.
  const subgraph = await startMonitoringSubgraph({ ...monitoringOptionsFromEnv(), identitySecret: identitySecretFromEnv() });
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
