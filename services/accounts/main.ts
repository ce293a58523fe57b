// Runs the accounts subgraph alone: `tsx services/accounts/main.ts` (configuration: README "Configuration").
import { runMain } from '../common/config.js';
import { accountsOptionsFromEnv } from './config.js';
import { startAccountsSubgraph } from './server.js';

await runMain(async () => {
  const env = accountsOptionsFromEnv();
  const subgraph = await startAccountsSubgraph({ ...env, dataDir: env.dataDir });
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
