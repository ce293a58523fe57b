// Runs the accounts subgraph alone: `tsx services/accounts/main.ts` (configuration: README "Configuration").
import * as k8s from '@kubernetes/client-node';
import { ConfigError, runMain } from '../common/config.js';
import { accountsOptionsFromEnv } from './config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { startAccountsSubgraph } from './server.js';

await runMain(async () => {
  const env = accountsOptionsFromEnv();
  // Alone, /internal/* (token checks, role bindings, projects) is reachable by whoever reaches the port:
  // without the token the gateway shares, it would be open to all. (`npm start` makes one per process.)
  if (env.internalToken === undefined)
    throw new ConfigError(
      "ACCOUNTS_INTERNAL_TOKEN is not set: the gateway and accounts need the same token (at least 16 characters) for accounts' internal endpoints",
    );
  if (env.internalToken.length < 16) throw new ConfigError('ACCOUNTS_INTERNAL_TOKEN must be at least 16 characters');
  // GraphQL only through the gateway (the shared identity secret must be set); JWKS and /internal/* stay reachable.
  // The cluster (KUBECONFIG or in-cluster): a project's workspace and its members follow its namespaces.
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  const subgraph = await startAccountsSubgraph({
    ...env,
    dataDir: env.dataDir,
    identitySecret: identitySecretFromEnv(),
    kubeConfig,
  });
  const stop = async () => {
    await subgraph.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
