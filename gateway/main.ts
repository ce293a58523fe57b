// `npm run gateway`: the gateway alone, in front of subgraphs running elsewhere (GATEWAY_PORT, default 4000).
import { runMain } from '../services/common/config.js';
import { identitySecretFromEnv } from '../services/common/identity.js';
import { gatewayOptionsFromEnv } from './config.js';
import { startGateway } from './gateway.js';

await runMain(async () => {
  // Alone, the gateway shares the identity secret with subgraphs in other processes: it must be set.
  const gateway = await startGateway({ ...gatewayOptionsFromEnv(), identitySecret: identitySecretFromEnv() });
  console.log(`kubegraph gateway: ${gateway.url}`);
  const stop = async () => {
    await gateway.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
