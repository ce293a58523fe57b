// `npm run gateway`: the gateway alone, in front of subgraphs running elsewhere (GATEWAY_PORT, default 4000).
// First: @apollo/gateway's telemetry is off before anything imports it (DESIGN.md "Network").
import './no-telemetry.js';
import { runService } from '../services/common/config.js';
import { identitySecretFromEnv } from '../services/common/identity.js';
import { gatewayOptionsFromEnv } from './config.js';
import { startGateway } from './gateway.js';

await runService(async () => {
  // Alone, the gateway shares the identity secret with subgraphs in other processes: it must be set.
  const gateway = await startGateway({ ...gatewayOptionsFromEnv(), identitySecret: identitySecretFromEnv() });
  console.log(`kubegraph gateway: ${gateway.url}`);
  return gateway;
});
