// Live logs at load (issue 15 §4): 200 subscribers on 20 pods of the sandbox, twice:
//  - module: through the logging subgraph's live module (createLiveLogResolvers) in this process, with the upstream
//    log connections cut a few times during the run;
//  - gateway: graphql-ws clients of the gateway in front of the logging and workloads subgraphs, each subscriber its
//    own operation (so the gateway's sharing of identical operations does not hide the subgraph's).
// Reports the upstream log streams (must be one per pod: 20), the pods/log requests the sandbox saw, and per
// subscriber the lines lost, repeated or out of order against the sandbox's own one-read log of the container
// (all must be 0).
//
//   npm run bench:logging-live
//
// Knobs (environment): BENCH_PODS (20), BENCH_SUBSCRIBERS (200), BENCH_SECONDS (20), BENCH_DROPS (5, module path),
// BENCH_SPEED (20: the sandbox's simulated time runs this many times faster, so its containers write that much more
// often), BENCH_PATHS (module,gateway).
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { composeSupergraph } from '../gateway/compose.js';
import { startGateway } from '../gateway/gateway.js';
import type { Viewer } from '../services/common/authz.js';
import type { Logger } from '../services/common/log.js';
import { createLiveLogResolvers } from '../services/logging/live-resolvers.js';
import { SCHEMA_PATH as LOGGING_SCHEMA, startLoggingSubgraph } from '../services/logging/server.js';
import { startSandbox, type Sandbox } from '../services/sandbox/sandbox.js';
import { SCHEMA_PATH as WORKLOADS_SCHEMA, startWorkloadsSubgraph } from '../services/workloads/server.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import { knob } from './knobs.js';

const PODS = knob('BENCH_PODS', 20);
const SUBSCRIBERS = knob('BENCH_SUBSCRIBERS', 200);
const SECONDS = knob('BENCH_SECONDS', 20);
const DROPS = knob('BENCH_DROPS', 5);
const SPEED = knob('BENCH_SPEED', 20);
const PATHS = (process.env.BENCH_PATHS ?? 'module,gateway').split(',').filter(Boolean);
const NS = 'bench-live';
const IMAGES = ['nginx:1.27', 'example/orders-api:1.4.2', 'example/spring-orders:3.2.0', 'redis:7.2'];
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const admin: Viewer = { username: 'admin', platformRole: 'platform-admin' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Subscriber {
  pod: string;
  lines: string[];
  chunks: number;
  error?: unknown;
  stop(): Promise<void>;
}

interface Run {
  subscribers: Subscriber[];
  /** Upstream log streams open while running (the largest count seen), when the path can tell. */
  maxStreams?: number;
  streamsAtEnd?: number;
  /** Upstream subscriptions the gateway holds (gateway path). */
  gatewayUpstreams?: number;
  cuts: number;
  seconds: number;
  cpuUs: number;
  logRequests: number;
}

interface Cluster {
  sandbox: Sandbox;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  pods: string[];
}

async function startCluster(): Promise<Cluster> {
  const sandbox = await startSandbox({ port: 0, speed: SPEED, seed: { kind: 'empty', nodes: 3 } });
  const kc = new k8s.KubeConfig();
  kc.loadFromString(sandbox.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const pods = Array.from({ length: PODS }, (_, i) => `pod-${i}`);
  for (const [i, name] of pods.entries())
    await core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name }, spec: { containers: [{ name: 'main', image: IMAGES[i % IMAGES.length] }] } },
    });
  await until(
    async () =>
      (await core.listNamespacedPod({ namespace: NS })).items.filter(
        (p) => p.status?.containerStatuses?.[0]?.state?.running,
      ).length === PODS,
    'every pod running',
  );
  return { sandbox, kc, core, pods };
}

/** From now to end(): wall seconds, CPU time of this process (µs) and the pods/log requests the sandbox served. */
function measure(c: Cluster): { end(): { seconds: number; cpuUs: number; logRequests: number } } {
  const before = c.sandbox.server.requestCounts();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    end() {
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      return {
        seconds,
        cpuUs: cpu.user + cpu.system,
        logRequests: c.sandbox.server.requestCounts(before)['get pods/log'] ?? 0,
      };
    },
  };
}

/** Subscribers through the live module in this process, the upstream connections cut DROPS times. */
async function runModule(c: Cluster): Promise<Run> {
  const live = createLiveLogResolvers({ kubeConfig: c.kc, log: quiet });
  const measured = measure(c);
  const subscribers: Subscriber[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const pod = c.pods[i % PODS];
    const it = await live.resolvers.Subscription.podLogs.subscribe(
      undefined,
      { namespace: NS, pod },
      { viewer: admin },
    );
    const s: Subscriber = { pod, lines: [], chunks: 0, stop: async () => {} };
    const done = (async () => {
      try {
        for await (const chunk of it) {
          s.chunks++;
          for (const l of chunk.lines) s.lines.push(`${l.timestamp} ${l.message}`);
        }
      } catch (e) {
        s.error = e;
      }
    })();
    s.stop = async () => {
      await it.return?.();
      await done;
    };
    subscribers.push(s);
  }
  let maxStreams = live.live.upstreamStreams();
  const sampler = setInterval(() => (maxStreams = Math.max(maxStreams, live.live.upstreamStreams())), 100);
  let cuts = 0;
  for (let d = 0; d < DROPS; d++) {
    await sleep((SECONDS * 1000) / (DROPS + 1));
    cuts += live.live.dropUpstreams();
  }
  await sleep((SECONDS * 1000) / (DROPS + 1));
  const streamsAtEnd = live.live.upstreamStreams();
  clearInterval(sampler);
  await Promise.all(subscribers.map((s) => s.stop()));
  const { seconds, cpuUs, logRequests } = measured.end();
  await live.close();
  return { subscribers, maxStreams, streamsAtEnd, cuts, seconds, cpuUs, logRequests };
}

/** Subscribers as graphql-ws clients of a gateway over the logging and workloads subgraphs, one operation each. */
async function runGateway(c: Cluster): Promise<Run> {
  const workloads = await startWorkloadsSubgraph({ port: 0, kubeConfig: c.kc, log: quiet });
  const logging = await startLoggingSubgraph({ port: 0, kubeConfig: c.kc, log: quiet });
  const gateway = await startGateway({
    port: 0,
    logger: quiet,
    readyCacheMs: 0,
    supergraphSdl: composeSupergraph([
      { name: 'workloads', sdl: readFileSync(WORKLOADS_SCHEMA, 'utf8'), url: workloads.url },
      { name: 'logging', sdl: readFileSync(LOGGING_SCHEMA, 'utf8'), url: logging.url },
    ]),
  });
  const metric = async (name: string) => {
    const text = await (await fetch(gateway.url.replace(/\/graphql$/, '/metrics'))).text();
    let sum = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
    return sum;
  };
  const clients: Client[] = Array.from({ length: Math.ceil(SUBSCRIBERS / 10) }, () =>
    createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false }),
  );
  const measured = measure(c);
  const subscribers: Subscriber[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const pod = c.pods[i % PODS];
    const s: Subscriber = { pod, lines: [], chunks: 0, stop: async () => {} };
    const unsubscribe = clients[i % clients.length].subscribe<{
      podLogs: { lines: { timestamp: string; message: string }[] };
    }>(
      {
        query: `subscription Bench${i}($ns: String!, $pod: String!) {
          podLogs(namespace: $ns, pod: $pod) { resumeToken lines { timestamp message } }
        }`,
        variables: { ns: NS, pod },
      },
      {
        next: (r) => {
          if (r.errors?.length) s.error = r.errors;
          if (!r.data?.podLogs) return;
          s.chunks++;
          for (const l of r.data.podLogs.lines) s.lines.push(`${l.timestamp} ${l.message}`);
        },
        error: (e) => (s.error = e),
        complete: () => {},
      },
    );
    s.stop = async () => unsubscribe();
    subscribers.push(s);
  }
  await until(() => subscribers.every((s) => s.chunks > 0), 'every subscriber reading');
  const gatewayUpstreams = await metric('kubegraph_gateway_upstream_subscriptions');
  await sleep(SECONDS * 1000);
  await Promise.all(subscribers.map((s) => s.stop()));
  const { seconds, cpuUs, logRequests } = measured.end();
  for (const client of clients) await client.dispose();
  await gateway.close();
  await logging.close();
  await workloads.close();
  // No cut on this path: every pods/log request is an upstream stream.
  return {
    subscribers,
    maxStreams: logRequests,
    gatewayUpstreams,
    cuts: 0,
    seconds,
    cpuUs,
    logRequests,
  };
}

/** Each subscriber's lines against the container's log read in one request afterwards. */
async function check(c: Cluster, run: Run) {
  const truth = new Map<string, string[]>();
  for (const pod of c.pods) {
    const text = await c.core.readNamespacedPodLog({ namespace: NS, name: pod, timestamps: true });
    truth.set(pod, text.split('\n').filter(Boolean));
  }
  let lost = 0;
  let repeated = 0;
  let outOfOrder = 0;
  let delivered = 0;
  let errors = 0;
  let unknown = 0;
  for (const s of run.subscribers) {
    if (s.error) errors++;
    delivered += s.lines.length;
    repeated += s.lines.length - new Set(s.lines).size;
    const t = truth.get(s.pod)!;
    const index = new Map(t.map((l, i) => [l, i]));
    let last = -1;
    for (const l of s.lines) {
      const i = index.get(l);
      if (i === undefined) {
        unknown++;
        continue;
      }
      if (i < last) outOfOrder++;
      last = Math.max(last, i);
    }
    // Every line of the log up to the last one received must have been received.
    const got = new Set(s.lines);
    for (let i = 0; i <= last; i++) if (!got.has(t[i])) lost++;
  }
  const chunks = run.subscribers.reduce((n, s) => n + s.chunks, 0);
  return { delivered, lost, repeated, outOfOrder, unknown, errors, chunks };
}

async function main(): Promise<void> {
  const cluster = await startCluster();
  const results: Record<string, unknown> = {};
  let ok = true;
  console.log(
    `live logs: ${SUBSCRIBERS} subscribers on ${PODS} pods, ${SECONDS} s per path, speed ${SPEED} (${machineLine()})`,
  );
  for (const path of PATHS) {
    const run = path === 'gateway' ? await runGateway(cluster) : await runModule(cluster);
    const r = await check(cluster, run);
    const rows: [string, string | number, string][] = [
      ['upstream log streams (max while running)', run.maxStreams ?? '-', `must be ${PODS}`],
      ...(run.streamsAtEnd !== undefined
        ? ([['upstream log streams at the end', run.streamsAtEnd, `must be ${PODS}`]] as [string, number, string][])
        : []),
      ...(run.gatewayUpstreams !== undefined
        ? ([['gateway upstream subscriptions', run.gatewayUpstreams, 'one per operation']] as [
            string,
            number,
            string,
          ][])
        : []),
      ['pods/log requests (connections cut)', `${run.logRequests} (${run.cuts})`, `${PODS} + one per cut stream`],
      ['lines delivered (all subscribers)', r.delivered, ''],
      ['lines per second delivered', Math.round(r.delivered / run.seconds), ''],
      ['lines per chunk (mean)', (r.delivered / Math.max(1, r.chunks)).toFixed(1), ''],
      ['lines lost', r.lost, 'must be 0'],
      ['lines repeated', r.repeated, 'must be 0'],
      ['lines out of order', r.outOfOrder, 'must be 0'],
      ['lines not in the log', r.unknown, 'must be 0'],
      ['subscriptions ended with an error', r.errors, 'must be 0'],
      [
        'CPU (user+system) per delivered line',
        `${(run.cpuUs / Math.max(1, r.delivered)).toFixed(1)} µs`,
        'all in one process',
      ],
    ];
    console.log(`\n${path}`);
    const w = Math.max(...rows.map((row) => row[0].length));
    for (const [name, value, note] of rows) console.log(`  ${name.padEnd(w)}  ${String(value).padStart(12)}  ${note}`);
    results[path] = {
      ...r,
      maxStreams: run.maxStreams,
      streamsAtEnd: run.streamsAtEnd,
      gatewayUpstreams: run.gatewayUpstreams,
      logRequests: run.logRequests,
      cuts: run.cuts,
      seconds: run.seconds,
    };
    ok &&=
      run.maxStreams === PODS &&
      (run.streamsAtEnd === undefined || run.streamsAtEnd === PODS) &&
      r.lost === 0 &&
      r.repeated === 0 &&
      r.outOfOrder === 0 &&
      r.unknown === 0 &&
      r.errors === 0;
  }
  await cluster.sandbox.close();
  writeResults(resultsPath('logging-live'), { config: { PODS, SUBSCRIBERS, SECONDS, DROPS, SPEED, PATHS }, results });
  if (!ok) {
    console.error('FAILED: the live log benchmark broke one of its rules above');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
