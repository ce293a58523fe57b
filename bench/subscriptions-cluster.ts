// The cluster side of the subscriptions benchmark, in its own process: the sandbox (BENCH_PODS running pods spread
// over BENCH_NAMESPACES namespaces, controllers off, so nothing but the benchmark writes) and the workloads subgraph
// on it (one informer watch per kind, whatever the number of subscribers).
//
// When the subgraph's caches have synced it prints one JSON line (`ClusterReady`); then it takes commands over IPC
// (see `ClusterCommand`): write pod changes at a given rate, report the open API-server watches, its clock, its CPU.
// It exits when the parent disconnects.
//
// A change is a merge of two labels into a pod's metadata, written through the store (as the API server writes a
// PATCH): `t` = the wall-clock time of the write in microseconds (performance.timeOrigin + performance.now(), the same
// clock the measuring clients read) and `seq` = the change's number in this run. Pods are changed round-robin, so
// the changes of one namespace are spread evenly over its pods.
import * as k8s from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../services/common/log.js';
import { startSandbox } from '../services/sandbox/sandbox.js';
import type { KObject } from '../services/sandbox/types.js';
import { startWorkloadsSubgraph } from '../services/workloads/server.js';

const PODS = Number(process.env.BENCH_PODS ?? 500);
const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 1);
const NODES = Number(process.env.BENCH_NODES ?? 10);

export type ClusterCommand =
  /** `rate` changes per second for `seconds` (only in `namespace`, when given); the first change gets seq `firstSeq`. */
  | { cmd: 'load'; id: number; rate: number; seconds: number; firstSeq: number; namespace?: string }
  | { cmd: 'watches'; id: number }
  | { cmd: 'clock'; id: number }
  | { cmd: 'cpu'; id: number };

export type ClusterReply =
  | {
      id: number;
      cmd: 'load';
      changes: number;
      firstSeq: number;
      lastSeq: number;
      /** Changes written per namespace. */
      perNamespace: Record<string, number>;
      /** Wall time from the first write to the last, ms (rate × seconds changes should take `seconds`). */
      elapsedMs: number;
      /** How late the writer ran against its schedule, at most, ms (a late writer means the process was busy). */
      maxLagMs: number;
    }
  | { id: number; cmd: 'watches'; open: number }
  | { id: number; cmd: 'clock'; nowUs: number }
  | { id: number; cmd: 'cpu'; ms: number }
  | { id: number; error: string };

export interface ClusterReady {
  ready: true;
  subgraph: string;
  namespaces: string[];
  pods: number;
  syncMs: number;
}

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const sandbox = await startSandbox({
  port: 0,
  seed: { kind: 'scale', pods: PODS, nodes: NODES, namespaces: NAMESPACES },
  controllers: false,
});
const podRt = sandbox.store.type('', 'pods');
const byNamespace = new Map<string, { namespace: string; name: string }[]>();
for (const p of sandbox.store.list(podRt)) {
  const ns = p.metadata.namespace!;
  if (!byNamespace.has(ns)) byNamespace.set(ns, []);
  byNamespace.get(ns)!.push({ namespace: ns, name: p.metadata.name! });
}
const namespaces = [...byNamespace.keys()].sort();
/** Pods interleaved across namespaces (one of each namespace in turn), so every namespace changes at rate / NAMESPACES. */
const pods: { namespace: string; name: string }[] = [];
for (let i = 0; pods.length < byNamespace.size * Math.max(...[...byNamespace.values()].map((l) => l.length)); i++) {
  for (const ns of namespaces) {
    const list = byNamespace.get(ns)!;
    pods.push(list[i % list.length]);
  }
}

const kc = new k8s.KubeConfig();
kc.loadFromString(sandbox.kubeconfig);
const t0 = performance.now();
const subgraph = await startWorkloadsSubgraph({ port: 0, kubeConfig: kc, log: quiet });
await subgraph.ready();
const syncMs = performance.now() - t0;

let next = 0;
const nextIn = new Map<string, number>();
function change(seq: number, namespace: string | undefined): string {
  let ref: { namespace: string; name: string };
  if (namespace === undefined) ref = pods[next++ % pods.length];
  else {
    const list = byNamespace.get(namespace);
    if (!list) throw new Error(`no namespace ${namespace}`);
    const i = nextIn.get(namespace) ?? 0;
    nextIn.set(namespace, i + 1);
    ref = list[i % list.length];
  }
  const cur = sandbox.store.get(podRt, ref.namespace, ref.name)!;
  const updated: KObject = {
    ...cur,
    metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, seq: String(seq), t: String(nowUs()) } },
  };
  sandbox.store.update(podRt, updated);
  return ref.namespace;
}

/** Writes on schedule: change k is due at start + k/rate; the writer catches up when it runs late. */
async function load(c: ClusterCommand & { cmd: 'load' }): Promise<ClusterReply> {
  const total = Math.round(c.rate * c.seconds);
  const perNamespace: Record<string, number> = Object.fromEntries(namespaces.map((ns) => [ns, 0]));
  const start = performance.now();
  let maxLagMs = 0;
  for (let k = 0; k < total; k++) {
    const due = start + (k * 1000) / c.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    perNamespace[change(c.firstSeq + k, c.namespace)]++;
  }
  return {
    id: c.id,
    cmd: 'load',
    changes: total,
    firstSeq: c.firstSeq,
    lastSeq: c.firstSeq + total - 1,
    perNamespace,
    elapsedMs: performance.now() - start,
    maxLagMs,
  };
}

async function handle(c: ClusterCommand): Promise<ClusterReply> {
  switch (c.cmd) {
    case 'load':
      return load(c);
    case 'watches':
      return { id: c.id, cmd: 'watches', open: sandbox.server.activeWatches() };
    case 'clock':
      return { id: c.id, cmd: 'clock', nowUs: nowUs() };
    case 'cpu': {
      const u = process.cpuUsage();
      return { id: c.id, cmd: 'cpu', ms: (u.user + u.system) / 1000 };
    }
  }
}

let closing: Promise<void> | undefined;
const shutdown = () => {
  closing ??= (async () => {
    await subgraph.close();
    await sandbox.close();
  })();
  return closing;
};
process.on('message', (c: ClusterCommand) => {
  handle(c).then(
    (reply) => process.send!(reply),
    (e: unknown) =>
      process.send!({
        id: c.id,
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      } satisfies ClusterReply),
  );
});
process.on('disconnect', () => void shutdown().finally(() => process.exit(0)));
process.once('SIGTERM', () => void shutdown().finally(() => process.exit(0)));

const ready: ClusterReady = { ready: true, subgraph: subgraph.url, namespaces, pods: PODS, syncMs };
process.stdout.write(JSON.stringify(ready) + '\n');
