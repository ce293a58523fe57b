// The server side of the sandbox benchmark, in its own process so that client and server do not share an event loop.
//
// It starts a 10,000-pod sandbox over HTTPS (controllers off: nothing writes unless the benchmark asks), and next to
// it a plain node:https static server (its own generated certificate) that answers /api/v1/pods with the very bytes
// the sandbox answered — the full list, and each page of a limit/continue walk — pre-serialized in memory: the
// transport floor the sandbox's LISTs are compared with.
//
// When ready it prints one JSON line on stdout ({ ready: true, sandbox: { url, kubeconfig }, baseline: {...}, ... }).
// Run under `fork()` it also takes commands over IPC (see `Command`): apply K pod status updates in the server
// process (for the watch fan-out measurement), or report how many watches are open.
//
//   npx tsx bench/sandbox-server.ts            # standalone: prints the ready line, serves until Ctrl-C
import { createServer, type Server } from 'node:https';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { startSandbox } from '../services/sandbox/sandbox.js';
import { generateTls } from '../services/sandbox/tls.js';
import type { KObject } from '../services/sandbox/types.js';
import { stringify as toYaml } from 'yaml';
import { getRaw } from './https-get.js';

const PODS = Number(process.env.BENCH_PODS ?? 10_000);
const NODES = Number(process.env.BENCH_NODES ?? Math.max(1, Math.round(PODS / 100)));
const PAGE_LIMIT = 500;

export type Command =
  | { cmd: 'update'; id: number; count: number; batch: number }
  | { cmd: 'watches'; id: number }
  | { cmd: 'cpu'; id: number }
  | { cmd: 'stop'; id: number };

export type Reply =
  | { id: number; cmd: 'update'; firstRv: number; lastRv: number; applyMs: number; names: string[] }
  | { id: number; cmd: 'watches'; open: number }
  /** CPU time this process has used so far (user + system), ms. */
  | { id: number; cmd: 'cpu'; ms: number }
  | { id: number; cmd: 'stop' }
  | { id: number; error: string };

export interface Ready {
  ready: true;
  pods: number;
  nodes: number;
  seedMs: number;
  sandbox: { url: string; kubeconfig: string };
  baseline: { url: string; kubeconfig: string };
  /** Bytes of the full pod list body, as the sandbox served it (and the static server serves it). */
  listBytes: number;
  pageLimit: number;
  pages: number;
  pageBytes: number;
}

const t0 = performance.now();
const sandbox = await startSandbox({ port: 0, seed: { kind: 'scale', pods: PODS, nodes: NODES }, controllers: false });
const seedMs = performance.now() - t0;
const podRt = sandbox.store.type('', 'pods');

const kc = new k8s.KubeConfig();
kc.loadFromString(sandbox.kubeconfig);
const ca = Buffer.from(kc.getCurrentCluster()!.caData!, 'base64');

/** One GET against the sandbox, body as raw bytes (what the static server will hand back verbatim). */
function fetchRaw(path: string): Promise<Buffer> {
  return getRaw(
    `${sandbox.url}${path}`,
    { ca, token: sandbox.token },
    (status, body) => new Error(`GET ${path}: ${status} ${body.toString()}`),
  );
}

// The bytes the static server serves: the full list, and the pages of a limit=500 walk keyed by their `continue`.
const fullList = await fetchRaw('/api/v1/pods');
const pages = new Map<string, Buffer>();
let cont = '';
do {
  const body = await fetchRaw(`/api/v1/pods?limit=${PAGE_LIMIT}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
  pages.set(cont, body);
  cont = (JSON.parse(body.toString()) as { metadata?: { continue?: string } }).metadata?.continue ?? '';
} while (cont);
const pageBytes = [...pages.values()].reduce((n, b) => n + b.length, 0);

const staticTls = generateTls();
const staticServer: Server = createServer({ key: staticTls.key, cert: staticTls.cert }, (req, res) => {
  const url = new URL(req.url ?? '/', 'https://static');
  let body: Buffer | undefined;
  if (url.pathname === '/api/v1/pods' && req.method === 'GET') {
    body = url.searchParams.has('limit') ? pages.get(url.searchParams.get('continue') ?? '') : fullList;
  }
  if (!body) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
});
staticServer.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', resolve));
const staticPort = (staticServer.address() as { port: number }).port;
const staticUrl = `https://127.0.0.1:${staticPort}`;
const staticKubeconfig = toYaml({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [
    {
      name: 'static',
      cluster: { server: staticUrl, 'certificate-authority-data': Buffer.from(staticTls.caCert).toString('base64') },
    },
  ],
  users: [{ name: 'static', user: { token: sandbox.token } }],
  contexts: [{ name: 'static', context: { cluster: 'static', user: 'static' } }],
  'current-context': 'static',
});

/**
 * K status updates through the store (as a kubelet's status writes would arrive), `batch` per turn of the event
 * loop so the watch streams flush as they go. Each bumps the first container's restartCount of a different pod.
 */
async function applyUpdates(count: number, batch: number): Promise<Reply & { cmd: 'update' }> {
  const pods = sandbox.store.list(podRt);
  if (count > pods.length) throw new Error(`asked for ${count} updates, only ${pods.length} pods`);
  const names: string[] = [];
  let firstRv = 0;
  let lastRv = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const cur = sandbox.store.get(podRt, pods[i].metadata.namespace, pods[i].metadata.name!)!;
    const statuses = (cur.status?.containerStatuses ?? []) as { restartCount?: number }[];
    const status = {
      ...cur.status,
      containerStatuses: statuses.map((c, j) => (j === 0 ? { ...c, restartCount: (c.restartCount ?? 0) + 1 } : c)),
    };
    const updated: KObject = sandbox.store.update(podRt, { ...cur, status }, { subresource: 'status' });
    lastRv = Number(updated.metadata.resourceVersion);
    firstRv ||= lastRv;
    names.push(`${cur.metadata.namespace}/${cur.metadata.name}`);
    if ((i + 1) % batch === 0) await yieldToLoop();
  }
  return { id: 0, cmd: 'update', firstRv, lastRv, applyMs: performance.now() - start, names };
}

async function handle(c: Command): Promise<Reply> {
  switch (c.cmd) {
    case 'update':
      return { ...(await applyUpdates(c.count, c.batch)), id: c.id };
    case 'watches':
      return { id: c.id, cmd: 'watches', open: sandbox.server.activeWatches() };
    case 'cpu': {
      const u = process.cpuUsage();
      return { id: c.id, cmd: 'cpu', ms: (u.user + u.system) / 1000 };
    }
    case 'stop':
      await shutdown();
      return { id: c.id, cmd: 'stop' };
  }
}

let closing: Promise<void> | undefined;
function shutdown(): Promise<void> {
  closing ??= (async () => {
    await sandbox.close();
    staticServer.closeAllConnections();
    await new Promise<void>((resolve) => staticServer.close(() => resolve()));
  })();
  return closing;
}

if (process.send) {
  process.on('message', (c: Command) => {
    handle(c).then(
      (reply) => {
        process.send!(reply);
        if (c.cmd === 'stop') process.disconnect();
      },
      (e: unknown) =>
        process.send!({ id: c.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies Reply),
    );
  });
  process.on('disconnect', () => void shutdown().finally(() => process.exit(0)));
} else {
  const stop = () => void shutdown().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const ready: Ready = {
  ready: true,
  pods: PODS,
  nodes: NODES,
  seedMs,
  sandbox: { url: sandbox.url, kubeconfig: sandbox.kubeconfig },
  baseline: { url: staticUrl, kubeconfig: staticKubeconfig },
  listBytes: fullList.length,
  pageLimit: PAGE_LIMIT,
  pages: pages.size,
  pageBytes,
};
process.stdout.write(JSON.stringify(ready) + '\n');
