// The monitoring benchmark: a page of 100 pods with CPU and memory through the gateway (the monitoring subgraph
// batches every pod of the page into one PromQL query per metric) next to the same data fetched the naive way in the
// same run: the page's pods from the gateway, then one Prometheus query per pod and metric, all concurrently.
//
//   npm run bench:monitoring
//
// One process: a sandbox of BENCH_PODS running pods (100 per namespace), a real Prometheus scraping it, a counting
// proxy in front of Prometheus, the workloads and monitoring subgraphs and the gateway. Runs alternate between the
// two ways so drift in machine load hits both; Prometheus requests are counted per page for each.
import { startGateway } from '../gateway/gateway.js';
import type { Logger } from '../services/common/log.js';
import { startMonitoringSubgraph } from '../services/monitoring/server.js';
import { startSandbox } from '../services/sandbox/sandbox.js';
import { startWorkloadsSubgraph } from '../services/workloads/server.js';
import * as k8s from '@kubernetes/client-node';
import { startPrometheus } from '../test/harness/prometheus.js';
import { recordingProxy } from '../test/harness/proxy.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import { knob } from './knobs.js';

const PODS = knob('BENCH_PODS', 1000);
const NODES = knob('BENCH_NODES', 10);
const ROUNDS = knob('BENCH_ROUNDS', 15);
const PAGE = 100;
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function post(url: string, query: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.9) - 1)];

console.log(
  `monitoring bench: ${PODS} pods on ${NODES} nodes, pages of ${PAGE} pods, ${ROUNDS} rounds; ${machineLine()}`,
);
const sandbox = await startSandbox({
  port: 0,
  seed: { kind: 'scale', pods: PODS, nodes: NODES, namespaces: Math.max(1, Math.round(PODS / PAGE)) },
});
const kc = new k8s.KubeConfig();
kc.loadFromString(sandbox.kubeconfig);
const caData = kc.getCurrentCluster()!.caData!;
const prom = await startPrometheus({
  scrapeTargets: [
    {
      job: 'sandbox',
      url: `${sandbox.url}/metrics`,
      caPem: Buffer.from(caData, 'base64').toString(),
      honorLabels: true,
    },
  ],
  scrapeIntervalSeconds: 2,
});
const proxy = await recordingProxy(prom.url);
const promRequests = () => proxy.requests.filter((r) => r.path.startsWith('/api/v1/query')).length;
const workloads = await startWorkloadsSubgraph({ port: 0, kubeConfig: kc, log: quiet });
await workloads.ready();
const monitoring = await startMonitoringSubgraph({ port: 0, prometheusUrl: proxy.url, log: quiet });
const gateway = await startGateway({
  port: 0,
  subgraphUrls: { workloads: workloads.url, monitoring: monitoring.url },
  logger: quiet,
});

const NS = 'bench-000';
await prom.waitFor(`count(sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="${NS}"}[5m]))) >= ${PAGE}`, {
  timeoutMs: 120_000,
});

const OURS = `{ pods(namespace: "${NS}", first: ${PAGE}) { edges { node { name metrics { cpuCores { value } memoryBytes { value } } } } } }`;
const PAGE_ONLY = `{ pods(namespace: "${NS}", first: ${PAGE}) { edges { node { name } } } }`;

async function ours(): Promise<number> {
  const r = await post(gateway.url, OURS);
  const edges =
    (r.data?.pods as { edges: { node: { metrics: { cpuCores: { value: number | null } } } }[] } | undefined)?.edges ??
    [];
  if (r.errors || edges.length !== PAGE || edges.some((e) => e.node.metrics.cpuCores.value === null))
    throw new Error(`bad answer: ${JSON.stringify(r).slice(0, 500)}`);
  return edges.length;
}

async function naive(): Promise<number> {
  const r = await post(gateway.url, PAGE_ONLY);
  const names = (r.data?.pods as { edges: { node: { name: string } }[] }).edges.map((e) => e.node.name);
  const ask = async (promql: string) => {
    const res = await fetch(`${proxy.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: promql }).toString(),
    });
    const body = (await res.json()) as { data: { result: unknown[] } };
    return body.data.result.length;
  };
  const answers = await Promise.all(
    names.flatMap((pod) => [
      ask(
        `sum(rate(container_cpu_usage_seconds_total{namespace="${NS}", pod="${pod}", container!="", container!="POD"}[5m]))`,
      ),
      ask(`sum(container_memory_working_set_bytes{namespace="${NS}", pod="${pod}", container!="", container!="POD"})`),
    ]),
  );
  if (answers.length !== 2 * PAGE || answers.some((n) => n !== 1)) throw new Error('naive: a pod without a value');
  return names.length;
}

async function measure(fn: () => Promise<number>): Promise<{ ms: number; requests: number }> {
  const before = promRequests();
  const t0 = performance.now();
  await fn();
  return { ms: performance.now() - t0, requests: promRequests() - before };
}

// Warm-up (query plans, connections), not recorded.
for (let i = 0; i < 3; i++) {
  await ours();
  await naive();
}
const oursRuns: { ms: number; requests: number }[] = [];
const naiveRuns: { ms: number; requests: number }[] = [];
for (let i = 0; i < ROUNDS; i++) {
  oursRuns.push(await measure(ours));
  naiveRuns.push(await measure(naive));
}

const row = (name: string, o: number, n: number, unit: string, baseline: string) =>
  `${name.padEnd(46)} ${`${o.toFixed(unit === 'ms' ? 1 : 0)} ${unit}`.padStart(10)} ${`${n.toFixed(unit === 'ms' ? 1 : 0)} ${unit}`.padStart(10)} ${`${(o / n).toFixed(3)}x`.padStart(8)}  ${baseline}`;
const oMs = oursRuns.map((r) => r.ms);
const nMs = naiveRuns.map((r) => r.ms);
const oReq = median(oursRuns.map((r) => r.requests));
const nReq = median(naiveRuns.map((r) => r.requests));
console.log(
  `\n${'measurement'.padEnd(46)} ${'ours'.padStart(10)} ${'naive'.padStart(10)} ${'ratio'.padStart(8)}  baseline is`,
);
console.log(
  row(
    `page of ${PAGE} pods, CPU + memory, p50`,
    median(oMs),
    median(nMs),
    'ms',
    'page from the gateway + 1 PromQL query per pod and metric (concurrent), same run',
  ),
);
console.log(row('the same, p90', p90(oMs), p90(nMs), 'ms', 'the same'));
console.log(row('Prometheus queries per page', oReq, nReq, 'req', 'the same'));
writeResults(resultsPath('monitoring'), {
  pods: PODS,
  nodes: NODES,
  page: PAGE,
  rounds: ROUNDS,
  ours: { p50Ms: median(oMs), p90Ms: p90(oMs), prometheusQueries: oReq },
  naive: { p50Ms: median(nMs), p90Ms: p90(nMs), prometheusQueries: nReq },
});

await gateway.close();
await monitoring.close();
await workloads.close();
await proxy.close();
await prom.close();
await sandbox.close();
process.exit(0);
