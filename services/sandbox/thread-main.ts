// The sandbox thread of `npm start` (services/sandbox/thread.ts): the sandbox cluster and, when asked, the
// Elasticsearch stand-in fed by the log shipper; closed when the main thread posts 'close'.
import { parentPort, workerData } from 'node:worker_threads';
import { startEs } from '../es/server.js';
import { startShipper } from '../es/shipper.js';
import { startSandbox } from './sandbox.js';
import type { SandboxThreadMessage, SandboxThreadOptions } from './thread.js';

const options = workerData as SandboxThreadOptions;
const port = parentPort!;
const post = (m: SandboxThreadMessage) => port.postMessage(m);
const running: { close(): Promise<void> }[] = [];

void (async () => {
  try {
    const sandbox = await startSandbox(options.sandbox);
    running.push(sandbox);
    let esUrl: string | undefined;
    if (options.es) {
      const es = await startEs({ port: options.es.port, host: options.es.host });
      running.push(es);
      esUrl = es.url;
      running.push(
        startShipper({
          store: sandbox.store,
          url: es.url,
          speed: options.sandbox.speed ?? 1,
          indexPrefix: options.es.indexPrefix,
          onError: (message) => console.log(`kubegraph: log shipper: ${message}`),
        }),
      );
    }
    post({
      type: 'started',
      url: sandbox.url,
      kubeconfig: sandbox.kubeconfig,
      kubeconfigPath: sandbox.kubeconfigPath,
      esUrl,
    });
  } catch (e) {
    post({ type: 'failed', message: (e as Error).message });
    await closeAll();
    process.exit(1);
  }
})();

port.on('message', (m: unknown) => {
  // process.exit in a thread ends the thread: whatever the closed servers still hold (a kept-alive socket) goes too.
  if (m === 'close') void closeAll().then(() => process.exit(0));
});

/** The shipper first (it sends what it holds), then the stand-in, then the cluster. */
async function closeAll(): Promise<void> {
  for (const r of running.reverse()) await r.close().catch(() => {});
  running.length = 0;
}
