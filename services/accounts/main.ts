// Runs the accounts subgraph alone: `tsx services/accounts/main.ts` (configuration: README "Configuration").
import { runMain } from '../common/config.js';
import { accountsOptionsFromEnv } from './config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { startAccountsSubgraph } from './server.js';

await runMain(async () => {
  const env = accountsOptionsFromEnv();
  // GraphQL only through the gateway (the shared identity secret must be set); JWKS and /internal/* stay reachable.
  const subgraph = await startAccountsSubgraph({ ...env, dataDir: env.dataDir, identitySecret: identitySecretFromEnv() });
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
