// `npm run gateway`: the gateway alone, in front of subgraphs running elsewhere (GATEWAY_PORT, default 4000).
import { runMain } from '../services/common/config.js';
import { gatewayOptionsFromEnv } from './config.js';
import { startGateway } from './gateway.js';

await runMain(async () => {
  const gateway = await startGateway(gatewayOptionsFromEnv());
  console.log(`kubegraph gateway: ${gateway.url}`);
  const stop = async () => {
    await gateway.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
