// Runs the accounts subgraph alone: `tsx services/accounts/main.ts` (configuration: README "Configuration").
import { ConfigError, runService } from '../common/config.js';
import { clusterFromEnv } from '../common/k8s/cluster.js';
import { accountsOptionsFromEnv } from './config.js';
import { identitySecretFromEnv } from '../common/identity.js';
import { startAccountsSubgraph } from './server.js';

await runService(async () => {
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
  return startAccountsSubgraph({ ...env, identitySecret: identitySecretFromEnv(), kubeConfig: clusterFromEnv() });
});
