// The workloads benchmark: the workloads subgraph and the gateway on a 10,000-pod sandbox, each figure next to a
// baseline measured in the same run (see bench/README.md).
//
//   npm run bench:workloads
//
// Processes: the sandbox (bench/sandbox-server.ts, controllers off), the GraphQL side (bench/workloads-server.ts:
// the workloads and accounts subgraphs, our gateway, a plain @apollo/gateway over the same two), and this one, the
// measuring clients.
import { isDeepStrictEqual } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { startChild, stopChild, type Child } from './child.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import { knob } from './knobs.js';
import type { Ready } from './sandbox-server.js';
import type { GraphqlReady } from './workloads-server.js';
import { WORKSPACE_LABEL } from '../services/common/k8s/labels.js';

const RESULTS = resultsPath('workloads');
const PODS = knob('BENCH_PODS', 10_000);
const NODES = knob('BENCH_NODES', 100);
/** Latency: rounds; each round makes LISTS_PER_ROUND direct LISTs and QUERIES_PER_ROUND gateway queries, alternating. */
const ROUNDS = knob('BENCH_ROUNDS', 10);
const QUERIES_PER_ROUND = knob('BENCH_QUERIES_PER_ROUND', 40);
/** Throughput: CLIENTS concurrent clients, REQUESTS requests per run, THROUGHPUT_RUNS runs per gateway, alternating. */
const CLIENTS = knob('BENCH_CLIENTS', 8);
const REQUESTS = knob('BENCH_REQUESTS', 2000);
const THROUGHPUT_RUNS = knob('BENCH_THROUGHPUT_RUNS', 3);

// ------------------------------------------------------------------ clients and statistics

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string }[];
}

async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLBody> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GraphQLBody;
  if (res.status !== 200 || body.errors?.length)
    throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return body;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const median = (xs: number[]) => percentile(xs, 50);

const PODS_QUERY = `query Running { pods(first: 50, filter: { status: [RUNNING] }, orderBy: { field: NAME, direction: ASC }) { totalCount edges { node { namespace name status } } } }`;
/**
 * Federated: one fetch to workloads (the pod, its node, the project with its `workspaceName`), then an entity fetch to
 * accounts, which resolves `Project.workspace` from `workspaceName` (@requires) out of its database.
 */
const FEDERATED_QUERY = `query PodWorkspace($namespace: String!, $name: String!) {
  pod(namespace: $namespace, name: $name) { name status node { name ready } }
  project(name: $namespace) { name workspace { name description } }
}`;

interface FederatedData {
  pod: { name: string; status: string; node: { name: string; ready: boolean } | null } | null;
  project: { name: string; workspace: { name: string; description: string | null } | null } | null;
}

interface PodRef {
  namespace: string;
  name: string;
  /** The workspace its namespace is labelled with, and that workspace's description in accounts. */
  workspace: string;
  description: string;
}

/** Throws unless the answer is the pod asked for, on a node, in its project, with the workspace accounts holds. */
function checkFederated(url: string, p: PodRef, d: FederatedData): void {
  const ok =
    d.pod?.name === p.name &&
    !!d.pod.node?.name &&
    d.project?.name === p.namespace &&
    d.project.workspace?.name === p.workspace &&
    d.project.workspace.description === p.description;
  if (!ok) throw new Error(`${url}: pod ${p.namespace}/${p.name} (workspace ${p.workspace}): ${JSON.stringify(d)}`);
}

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
      if (totalCount !== running || d.pods.edges.length !== 50)
        throw new Error(`gateway answered ${totalCount} / ${d.pods.edges.length} pods`);
    }
  }
  return {
    gateway: { samples: g.length, p50: median(g), p99: percentile(g, 99), totalCount },
    list: { samples: l.length, p50: median(l), p99: percentile(l, 99), items },
  };
}

/** CLIENTS concurrent clients take requests off one counter until REQUESTS are done; requests per second. */
async function throughputRun(url: string, pods: PodRef[]): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < REQUESTS) {
        const p = pods[next++ % pods.length];
        checkFederated(
          url,
          p,
          (await post(url, FEDERATED_QUERY, { namespace: p.namespace, name: p.name })).data as unknown as FederatedData,
        );
      }
    }),
  );
  return REQUESTS / ((performance.now() - t) / 1000);
}

/** Both gateways must give the very same data for every pod of the run, or the comparison means nothing. */
async function checkSameAnswers(gateway: string, plain: string, pods: PodRef[]): Promise<void> {
  for (const p of pods) {
    const vars = { namespace: p.namespace, name: p.name };
    const [ours, base] = await Promise.all([post(gateway, FEDERATED_QUERY, vars), post(plain, FEDERATED_QUERY, vars)]);
    checkFederated(gateway, p, ours.data as unknown as FederatedData);
    if (!isDeepStrictEqual(ours, base))
      throw new Error(
        `the gateways disagree on pod ${p.namespace}/${p.name}:\n ours  ${JSON.stringify(ours)}\n plain ${JSON.stringify(base)}`,
      );
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  let sandbox: Child<Ready> | undefined;
  let graphql: Child<GraphqlReady> | undefined;
  try {
    sandbox = await startChild<Ready>('sandbox-server.ts', { BENCH_PODS: String(PODS), BENCH_NODES: String(NODES) });
    graphql = await startChild<GraphqlReady>('workloads-server.ts', {
      BENCH_KUBECONFIG: sandbox.ready.sandbox.kubeconfig,
    });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(sandbox.ready.sandbox.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const { gateway, plain, workspaces } = graphql.ready;

    // The pods the throughput clients ask for (the first page), with the workspace each one's project must show.
    const first = (await post(gateway, PODS_QUERY)).data as unknown as PodsData;
    const running = first.pods.totalCount;
    const workspaceOf = new Map(
      (await core.listNamespace()).items.map((n) => [n.metadata!.name!, n.metadata?.labels?.[WORKSPACE_LABEL]]),
    );
    const pods: PodRef[] = first.pods.edges.map((e) => {
      const workspace = workspaceOf.get(e.node.namespace);
      if (!workspace || workspaces[workspace] === undefined)
        throw new Error(`namespace ${e.node.namespace} has no workspace known to accounts (${workspace})`);
      return { namespace: e.node.namespace, name: e.node.name, workspace, description: workspaces[workspace] };
    });
    await checkSameAnswers(gateway, plain, pods);

    // Warm-up: plans cached, JIT warm, connections open.
    for (let i = 0; i < 30; i++) await post(gateway, PODS_QUERY);
    await core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' });
    for (let i = 0; i < 300; i++) {
      const p = pods[i % pods.length];
      checkFederated(
        gateway,
        p,
        (await post(gateway, FEDERATED_QUERY, { namespace: p.namespace, name: p.name }))
          .data as unknown as FederatedData,
      );
      checkFederated(
        plain,
        p,
        (await post(plain, FEDERATED_QUERY, { namespace: p.namespace, name: p.name })).data as unknown as FederatedData,
      );
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
        name: `pod { node } + project { workspace }, ${CLIENTS} clients`,
        value: `${Math.round(oursRps).toLocaleString('en-US')} req/s`,
        baseline: `${Math.round(baseRps).toLocaleString('en-US')} req/s`,
        ratio: oursRps / baseRps,
        baselineIs: 'plain @apollo/gateway, same 2 subgraphs + identity',
      },
    ];
    const pad = (s: string, n: number, right = false) => (right ? s.padStart(n) : s.padEnd(n));
    const w = [Math.max(...rows.map((r) => r.name.length), 11), 14, 10, 6];
    const totalS = (performance.now() - started) / 1000;
    console.log(
      `\nworkloads benchmark: ${sandbox.ready.pods} pods on ${sandbox.ready.nodes} nodes (${running} running); subgraph caches synced in ${(graphql.ready.syncMs / 1000).toFixed(1)} s`,
    );
    console.log(`machine: ${machineLine()}; sandbox and GraphQL servers in child processes`);
    console.log(
      `latency: ${lat.gateway.samples} gateway queries and ${lat.list.samples} LISTs (${lat.list.items} pods each), interleaved`,
    );
    console.log(
      `throughput: federated query (workloads, then accounts for Project.workspace) over ${pods.length} pods in ${new Set(pods.map((p) => p.namespace)).size} projects of ${new Set(pods.map((p) => p.workspace)).size} workspaces (${Object.keys(workspaces).length} in accounts); both gateways gave identical data for each pod; ${REQUESTS} requests x ${THROUGHPUT_RUNS} runs each, alternating, medians\n`,
    );
    console.log(
      `${pad('measurement', w[0])}  ${pad('ours', w[1], true)}  ${pad('baseline', w[2], true)}  ${pad('ratio', w[3], true)}  baseline is`,
    );
    console.log(
      `${'-'.repeat(w[0])}  ${'-'.repeat(w[1])}  ${'-'.repeat(w[2])}  ${'-'.repeat(w[3])}  ${'-'.repeat(40)}`,
    );
    for (const r of rows)
      console.log(
        `${pad(r.name, w[0])}  ${pad(r.value, w[1], true)}  ${pad(r.baseline, w[2], true)}  ${pad(`${r.ratio < 0.1 ? r.ratio.toFixed(4) : r.ratio.toFixed(2)}x`, w[3], true)}  ${r.baselineIs}`,
      );
    console.log(
      `\nthroughput runs (req/s): ours ${ours.map((x) => Math.round(x)).join(', ')}; plain ${base.map((x) => Math.round(x)).join(', ')}`,
    );
    console.log(`total ${totalS.toFixed(0)} s; results in ${RESULTS}`);

    writeResults(RESULTS, {
      config: {
        pods: sandbox.ready.pods,
        nodes: sandbox.ready.nodes,
        running,
        rounds: ROUNDS,
        queriesPerRound: QUERIES_PER_ROUND,
        clients: CLIENTS,
        requests: REQUESTS,
        throughputRuns: THROUGHPUT_RUNS,
        syncMs: Math.round(graphql.ready.syncMs),
      },
      latency: lat,
      throughput: {
        query: FEDERATED_QUERY,
        pods: pods.length,
        oursRps: ours,
        plainRps: base,
        oursMedian: oursRps,
        plainMedian: baseRps,
        ratio: oursRps / baseRps,
      },
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
