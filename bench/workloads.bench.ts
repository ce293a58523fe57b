// The workloads benchmark: the workloads subgraph and the gateway on a 10,000-pod sandbox, each figure next to a
// baseline measured in the same run (see bench/README.md).
//
//   npm run bench:workloads
//
// Processes: the sandbox (bench/sandbox-server.ts, controllers off), the GraphQL side (bench/workloads-server.ts:
// subgraph, our gateway, a plain @apollo/gateway), and this one, the measuring clients.
import * as k8s from '@kubernetes/client-node';
import { startChild, stopChild, type Child } from './child.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import type { Ready } from './sandbox-server.js';
import type { GraphqlReady } from './workloads-server.js';

const RESULTS = resultsPath('workloads');
const envInt = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const PODS = envInt('BENCH_PODS', 10_000);
const NODES = envInt('BENCH_NODES', 100);
/** Latency: rounds; each round makes LISTS_PER_ROUND direct LISTs and QUERIES_PER_ROUND gateway queries, alternating. */
const ROUNDS = envInt('BENCH_ROUNDS', 10);
const QUERIES_PER_ROUND = envInt('BENCH_QUERIES_PER_ROUND', 40);
/** Throughput: CLIENTS concurrent clients, REQUESTS requests per run, THROUGHPUT_RUNS runs per gateway, alternating. */
const CLIENTS = envInt('BENCH_CLIENTS', 8);
const REQUESTS = envInt('BENCH_REQUESTS', 2000);
const THROUGHPUT_RUNS = envInt('BENCH_THROUGHPUT_RUNS', 3);

// ------------------------------------------------------------------ clients and statistics

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string }[];
}

async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLBody> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as GraphQLBody;
  if (res.status !== 200 || body.errors?.length) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return body;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const median = (xs: number[]) => percentile(xs, 50);

const PODS_QUERY = `query Running { pods(first: 50, filter: { status: [RUNNING] }, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { namespace name status } } } }`;
const POD_QUERY = `query Pod($namespace: String!, $name: String!) { pod(namespace: $namespace, name: $name) { name status node { name ready } } }`;

interface PodsData {
  pods: { totalCount: number; edges: { node: { namespace: string; name: string; status: string } }[] };
}

interface LatencyResult {
  gateway: { samples: number; p50: number; p99: number; totalCount: number };
  list: { samples: number; p50: number; p99: number; items: number };
}

async function latency(gatewayUrl: string, core: k8s.CoreV1Api, running: number): Promise<LatencyResult> {
  const g: number[] = [];
  const l: number[] = [];
  let totalCount = 0;
  let items = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    const list = await core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' });
    l.push(performance.now() - t);
    items = list.items.length;
    if (items !== running) throw new Error(`LIST returned ${items} running pods, expected ${running}`);
    for (let i = 0; i < QUERIES_PER_ROUND; i++) {
      t = performance.now();
      const d = (await post(gatewayUrl, PODS_QUERY)).data as unknown as PodsData;
      g.push(performance.now() - t);
      totalCount = d.pods.totalCount;
      if (totalCount !== running || d.pods.edges.length !== 50) throw new Error(`gateway answered ${totalCount} / ${d.pods.edges.length} pods`);
    }
  }
  return {
    gateway: { samples: g.length, p50: median(g), p99: percentile(g, 99), totalCount },
    list: { samples: l.length, p50: median(l), p99: percentile(l, 99), items },
  };
}

/** CLIENTS concurrent clients take requests off one counter until REQUESTS are done; requests per second. */
async function throughputRun(url: string, pods: { namespace: string; name: string }[]): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < REQUESTS) {
        const p = pods[next++ % pods.length];
        const d = (await post(url, POD_QUERY, p)).data as { pod: { name: string; node: { name: string } | null } | null };
        if (d.pod?.name !== p.name || !d.pod.node) throw new Error(`pod ${p.namespace}/${p.name}: ${JSON.stringify(d)}`);
      }
    }),
  );
  return REQUESTS / ((performance.now() - t) / 1000);
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  let sandbox: Child<Ready> | undefined;
  let graphql: Child<GraphqlReady> | undefined;
  try {
    sandbox = await startChild<Ready>('sandbox-server.ts', { BENCH_PODS: String(PODS), BENCH_NODES: String(NODES) });
    graphql = await startChild<GraphqlReady>('workloads-server.ts', { BENCH_KUBECONFIG: sandbox.ready.sandbox.kubeconfig });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(sandbox.ready.sandbox.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const { gateway, plain } = graphql.ready;

    // Warm-up: plans cached, JIT warm, connections open; and the pods the throughput clients ask for.
    const first = (await post(gateway, PODS_QUERY)).data as unknown as PodsData;
    const running = first.pods.totalCount;
    const pods = first.pods.edges.map((e) => ({ namespace: e.node.namespace, name: e.node.name }));
    for (let i = 0; i < 30; i++) await post(gateway, PODS_QUERY);
    await core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' });
    for (let i = 0; i < 300; i++) {
      await post(gateway, POD_QUERY, pods[i % pods.length]);
      await post(plain, POD_QUERY, pods[i % pods.length]);
    }

    const lat = await latency(gateway, core, running);

    const ours: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < THROUGHPUT_RUNS; r++) {
      // Alternate which goes first, so drift hits both.
      if (r % 2 === 0) {
        ours.push(await throughputRun(gateway, pods));
        base.push(await throughputRun(plain, pods));
      } else {
        base.push(await throughputRun(plain, pods));
        ours.push(await throughputRun(gateway, pods));
      }
    }
    const oursRps = median(ours);
    const baseRps = median(base);

    const rows = [
      {
        name: `pods(first: 50, RUNNING, NAME ASC) via gateway, p50`,
        value: `${lat.gateway.p50.toFixed(1)} ms`,
        baseline: `${lat.list.p50.toFixed(0)} ms`,
        ratio: lat.gateway.p50 / lat.list.p50,
        baselineIs: 'direct LIST status.phase=Running, client-node',
      },
      {
        name: `pods(first: 50, RUNNING, NAME ASC) via gateway, p99`,
        value: `${lat.gateway.p99.toFixed(1)} ms`,
        baseline: `${lat.list.p99.toFixed(0)} ms`,
        ratio: lat.gateway.p99 / lat.list.p99,
        baselineIs: 'the same LISTs (p99 of few = their max)',
      },
      {
        name: `pod(ns, name) { node }, ${CLIENTS} clients`,
        value: `${Math.round(oursRps).toLocaleString('en-US')} req/s`,
        baseline: `${Math.round(baseRps).toLocaleString('en-US')} req/s`,
        ratio: oursRps / baseRps,
        baselineIs: 'plain @apollo/gateway, same subgraph',
      },
    ];
    const pad = (s: string, n: number, right = false) => (right ? s.padStart(n) : s.padEnd(n));
    const w = [Math.max(...rows.map((r) => r.name.length), 11), 14, 10, 6];
    const totalS = (performance.now() - started) / 1000;
    console.log(`\nworkloads benchmark: ${sandbox.ready.pods} pods on ${sandbox.ready.nodes} nodes (${running} running); subgraph caches synced in ${(graphql.ready.syncMs / 1000).toFixed(1)} s`);
    console.log(`machine: ${machineLine()}; sandbox and GraphQL servers in child processes`);
    console.log(`latency: ${lat.gateway.samples} gateway queries and ${lat.list.samples} LISTs (${lat.list.items} pods each), interleaved; throughput: ${REQUESTS} requests x ${THROUGHPUT_RUNS} runs each, alternating, medians\n`);
    console.log(`${pad('measurement', w[0])}  ${pad('ours', w[1], true)}  ${pad('baseline', w[2], true)}  ${pad('ratio', w[3], true)}  baseline is`);
    console.log(`${'-'.repeat(w[0])}  ${'-'.repeat(w[1])}  ${'-'.repeat(w[2])}  ${'-'.repeat(w[3])}  ${'-'.repeat(40)}`);
    for (const r of rows) console.log(`${pad(r.name, w[0])}  ${pad(r.value, w[1], true)}  ${pad(r.baseline, w[2], true)}  ${pad(`${r.ratio < 0.1 ? r.ratio.toFixed(4) : r.ratio.toFixed(2)}x`, w[3], true)}  ${r.baselineIs}`);
    console.log(`\nthroughput runs (req/s): ours ${ours.map((x) => Math.round(x)).join(', ')}; plain ${base.map((x) => Math.round(x)).join(', ')}`);
    console.log(`total ${totalS.toFixed(0)} s; results in ${RESULTS}`);

    writeResults(RESULTS, {
      config: { pods: sandbox.ready.pods, nodes: sandbox.ready.nodes, running, rounds: ROUNDS, queriesPerRound: QUERIES_PER_ROUND, clients: CLIENTS, requests: REQUESTS, throughputRuns: THROUGHPUT_RUNS, syncMs: Math.round(graphql.ready.syncMs) },
      latency: lat,
      throughput: { oursRps: ours, plainRps: base, oursMedian: oursRps, plainMedian: baseRps, ratio: oursRps / baseRps },
      results: rows,
      totalSeconds: Math.round(totalS),
    });
  } finally {
    await stopChild(graphql);
    await stopChild(sandbox);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
