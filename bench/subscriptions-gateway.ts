// The gateway of the subscriptions benchmark, alone in its own process (so its memory is its own), in front of the
// workloads subgraph given by BENCH_SUBGRAPH_URL. Run with --expose-gc: the `memory` command collects garbage before
// reading the heap, so per-client memory is what clients keep alive, not what the collector has not reached yet.
//
// Prints one JSON line when listening ({ ready: true, url }); takes commands over IPC (`GatewayCommand`); exits when
// the parent disconnects.
import { startGateway } from '../gateway/gateway.js';
import type { Logger } from '../services/common/log.js';

export type GatewayCommand = { cmd: 'memory'; id: number } | { cmd: 'cpu'; id: number };
export type GatewayReply =
  | { id: number; cmd: 'memory'; heapUsed: number; rss: number; external: number; gc: boolean }
  | { id: number; cmd: 'cpu'; ms: number }
  | { id: number; error: string };
export interface GatewayReady {
  ready: true;
  url: string;
}

const subgraphUrl = process.env.BENCH_SUBGRAPH_URL;
if (!subgraphUrl) throw new Error('BENCH_SUBGRAPH_URL (the workloads subgraph) is required');
const errorsOnly: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (msg, fields) => console.error('gateway error:', msg, fields ?? ''),
};
const gateway = await startGateway({
  port: 0,
  subgraphUrls: { workloads: subgraphUrl },
  logger: errorsOnly,
  // A client may fall this many results behind before it is cut off; generous, so a measuring client that is slow
  // to read (5,000 of them share one process) shows as latency, not as lost clients.
  subscriptionQueueLimit: Number(process.env.BENCH_QUEUE_LIMIT ?? 10_000),
});

/** The gc() that --expose-gc installs. */
const gc = (globalThis as { gc?: () => void }).gc;

function handle(c: GatewayCommand): GatewayReply {
  switch (c.cmd) {
    case 'memory': {
      if (gc) {
        gc();
        gc();
      }
      const m = process.memoryUsage();
      return { id: c.id, cmd: 'memory', heapUsed: m.heapUsed, rss: m.rss, external: m.external, gc: Boolean(gc) };
    }
    case 'cpu': {
      const u = process.cpuUsage();
      return { id: c.id, cmd: 'cpu', ms: (u.user + u.system) / 1000 };
    }
  }
}

process.on('message', (c: GatewayCommand) => {
  try {
    process.send!(handle(c));
  } catch (e) {
    process.send!({ id: c.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies GatewayReply);
  }
});
let closing: Promise<void> | undefined;
const shutdown = () => (closing ??= gateway.close());
process.on('disconnect', () => void shutdown().finally(() => process.exit(0)));
process.once('SIGTERM', () => void shutdown().finally(() => process.exit(0)));

const ready: GatewayReady = { ready: true, url: gateway.url };
process.stdout.write(JSON.stringify(ready) + '\n');
