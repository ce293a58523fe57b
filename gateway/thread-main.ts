// The gateway thread of `npm start` (gateway/thread.ts): prepares the gateway at once, listens when told where the
// subgraphs are, closes when told to.
import { parentPort, workerData } from 'node:worker_threads';
import { prepareGateway, type Gateway, type PreparedGateway } from './gateway.js';
import { accountsAuthenticator } from './identity.js';
import type { GatewayThreadMessage, GatewayThreadOptions, GatewayThreadRouting } from './thread.js';

type Command = { type: 'listen'; routing: GatewayThreadRouting } | { type: 'close' };

const options = workerData as GatewayThreadOptions;
const port = parentPort!;
const post = (m: GatewayThreadMessage) => port.postMessage(m);
const fail = (e: unknown) => post({ type: 'failed', message: (e as Error).message });

let gateway: Gateway | undefined;
// Commands wait for the preparation (a 'listen' may come before it is done).
const preparing: Promise<PreparedGateway | undefined> = prepareGateway(options.gateway).catch((e: unknown) => {
  fail(e);
  return undefined;
});

port.on('message', (m: Command) => {
  if (m.type === 'listen')
    void preparing.then(async (prepared) => {
      if (!prepared) return;
      try {
        gateway = await prepared.listen({
          subgraphUrls: m.routing.subgraphUrls,
          authenticator: accountsAuthenticator({
            accountsUrl: m.routing.accountsUrl,
            internalToken: options.internalToken,
          }),
        });
        post({ type: 'listening', url: gateway.url, port: gateway.port });
      } catch (e) {
        fail(e);
      }
    });
  else
    void preparing.then(async (prepared) => {
      await (gateway ?? prepared)?.close().catch(() => {});
      // Ends the thread, not the process (the tracing preload sends the last spans first).
      process.exit(0);
    });
});
