// Runs the monitoring subgraph alone: `tsx services/monitoring/main.ts` (PROMETHEUS_URL names the Prometheus).
import { runMain } from '../common/config.js';
import { monitoringOptionsFromEnv } from './config.js';
import { startMonitoringSubgraph } from './server.js';

await runMain(async () => {
  const subgraph = await startMonitoringSubgraph(monitoringOptionsFromEnv());
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
