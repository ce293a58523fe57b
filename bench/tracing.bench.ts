// The tracing benchmark: federated query throughput through the gateway with tracing off, on at 100% sampling and
// on at 10% sampling, in the same run.
//
//   npm run bench:tracing
//
// Three child processes (this file, with BENCH_TRACING_STACK set), each a whole stack in one process as `npm start`
// runs it: the sandbox (demo seed), the workloads subgraph, the monitoring subgraph over a Prometheus stand-in (a
// loopback server answering every query with an empty vector, so each request makes one real HTTP call to
// "Prometheus"), and the gateway in front of both. Every child is started with the tracing preload
// (services/common/tracing.ts); only the environment differs: no OTEL_EXPORTER_OTLP_ENDPOINT (off), or the endpoint of
// an OTLP/HTTP receiver in this process with OTEL_TRACES_SAMPLER=parentbased_traceidratio and ARG 1 or 0.1.
// Rounds rotate the order of the three, so drift in machine load hits all of them. Every answer is checked, and the
// receiver's span counts show that tracing was really on (and sampled about as asked) in the traced children.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startOtlpReceiver } from '../test/harness/otlp-receiver.js';
import { startChild, stopChild, type Child } from './child.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import { knob } from './knobs.js';

const QUERY =
  '{ pods(first: 20) { totalCount edges { node { namespace name } } } promQuery(query: "up") { series { labels } } }';

interface StackReady {
  gateway: string;
}

async function runStack(): Promise<void> {
  const k8s = await import('@kubernetes/client-node');
  const { startSandbox } = await import('../services/sandbox/sandbox.js');
  const { startWorkloadsSubgraph } = await import('../services/workloads/server.js');
  const { startMonitoringSubgraph } = await import('../services/monitoring/server.js');
  const { startGateway } = await import('../gateway/gateway.js');
  const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  const prometheus = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"status":"success","data":{"resultType":"vector","result":[]}}'),
    );
  });
  await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve));
  const sandbox = await startSandbox({ port: 0 });
  const kc = new k8s.KubeConfig();
  kc.loadFromString(sandbox.kubeconfig);
  const workloads = await startWorkloadsSubgraph({ port: 0, kubeConfig: kc, log: quiet });
  await workloads.ready();
  const monitoring = await startMonitoringSubgraph({
    port: 0,
    prometheusUrl: `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`,
    log: quiet,
  });
  const gateway = await startGateway({
    port: 0,
    subgraphUrls: { workloads: workloads.url, monitoring: monitoring.url },
    logger: quiet,
  });
  process.on('disconnect', () => process.exit(0));
  console.log(JSON.stringify({ gateway: gateway.url } satisfies StackReady));
}

async function query(url: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = (await res.json()) as { data?: { pods?: { totalCount: number } }; errors?: unknown[] };
  if (body.errors || !body.data?.pods || body.data.pods.totalCount < 1)
    throw new Error(`bad answer: ${JSON.stringify(body).slice(0, 500)}`);
}

/** Requests per second with `concurrency` clients sending `total` requests in all. */
async function throughput(url: string, total: number, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await query(url);
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const ROUNDS = knob('BENCH_ROUNDS', 5);
  const REQUESTS = knob('BENCH_REQUESTS', 300);
  const CONCURRENCY = knob('BENCH_CONCURRENCY', 8);
  console.log(
    `tracing bench: ${ROUNDS} rounds of ${REQUESTS} federated queries, ${CONCURRENCY} at a time; ${machineLine()}`,
  );
  const receiver = await startOtlpReceiver();
  const preload = pathToFileURL(join(import.meta.dirname, '../services/common/tracing.ts')).href;
  const modes = [
    { name: 'off', env: {} },
    { name: 'on, 100%', service: 'bench-tracing-100', ratio: '1' },
    { name: 'on, 10%', service: 'bench-tracing-10', ratio: '0.1' },
  ].map((m) => ({
    ...m,
    env: (m.ratio
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_SERVICE_NAME: m.service!,
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: m.ratio,
        }
      : { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' }) as Record<string, string>,
  }));
  const children: Child<StackReady>[] = [];
  try {
    for (const m of modes)
      children.push(
        await startChild<StackReady>('tracing.bench.ts', { ...m.env, BENCH_TRACING_STACK: '1' }, ['--import', preload]),
      );
    // Warm-up: plans cached, connections open, JIT warm; not recorded.
    for (const c of children) await throughput(c.ready.gateway, Math.ceil(REQUESTS / 4), CONCURRENCY);
    // The warm-up's spans arrive with the next batch (default delay 5 s): counted before the measured rounds.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    const roots = (service: string) =>
      // The gateway's request spans (named after the operation by gateway/datasource.ts), one per traced request.
      receiver.spans.filter(
        (s) => s.service === service && s.parentSpanId === '' && s.kind === 2 && s.name.startsWith('graphql '),
      ).length;
    const rootsBefore = modes.map((m) => (m.service ? roots(m.service) : 0));
    const rates: number[][] = modes.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < modes.length; k++) {
        const i = (r + k) % modes.length;
        rates[i].push(await throughput(children[i].ready.gateway, REQUESTS, CONCURRENCY));
      }
    }
    // Let the last batches arrive (the default batch delay is 5 s).
    await new Promise((resolve) => setTimeout(resolve, 7000));
    const sent = ROUNDS * REQUESTS;
    const base = median(rates[0]);
    const rows = modes.map((m, i) => ({
      mode: m.name,
      medianRps: Math.round(median(rates[i])),
      ratioToOff: Number((median(rates[i]) / base).toFixed(3)),
      tracedRequests: m.service ? roots(m.service) - rootsBefore[i] : null,
    }));
    console.log('mode        median req/s  vs off  traced requests (of ' + sent + ')');
    for (const row of rows)
      console.log(
        `${row.mode.padEnd(10)}  ${String(row.medianRps).padStart(12)}  ${row.ratioToOff.toFixed(2).padStart(6)}  ${
          row.tracedRequests ?? '-'
        }`,
      );
    // The numbers mean nothing if the traced children did not trace: check it.
    if (!rows[1].tracedRequests || rows[1].tracedRequests < sent * 0.95)
      throw new Error(`100% sampling exported ${rows[1].tracedRequests} of ${sent} requests`);
    if (rows[2].tracedRequests === null || rows[2].tracedRequests > sent * 0.3)
      throw new Error(`10% sampling exported ${rows[2].tracedRequests} of ${sent} requests`);
    writeResults(resultsPath('tracing'), { machine: machineLine(), rounds: ROUNDS, requests: REQUESTS, rows });
  } finally {
    for (const c of children) await stopChild(c);
    await receiver.close();
  }
}

if (process.env.BENCH_TRACING_STACK) await runStack();
else await main();
