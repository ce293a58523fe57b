// Live logs at load (issue 15 §4): 200 subscribers on 20 pods of the sandbox, through the logging subgraph's live
// module (createLiveLogResolvers), with upstream connections cut a few times during the run. Reports the upstream
// log streams (must be one per pod: 20), the pods/log requests the sandbox saw, and per subscriber the lines lost,
// repeated or out of order against the sandbox's own one-read log of the container (all must be 0).
//
//   npm run bench:logging-live
//
// Knobs (environment): BENCH_PODS (20), BENCH_SUBSCRIBERS (200), BENCH_SECONDS (20), BENCH_DROPS (5), BENCH_SPEED
// (20: the sandbox's simulated time runs this many times faster, so its containers write that much more often).
import * as k8s from '@kubernetes/client-node';
import type { Viewer } from '../services/common/authz.js';
import type { Logger } from '../services/common/log.js';
import { createLiveLogResolvers, type LiveLogChunk } from '../services/logging/live-resolvers.js';
import { startSandbox } from '../services/sandbox/sandbox.js';
import { machineLine, resultsPath, writeResults } from './results.js';

const envNum = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const PODS = envNum('BENCH_PODS', 20);
const SUBSCRIBERS = envNum('BENCH_SUBSCRIBERS', 200);
const SECONDS = envNum('BENCH_SECONDS', 20);
const DROPS = envNum('BENCH_DROPS', 5);
const SPEED = envNum('BENCH_SPEED', 20);
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
  it: AsyncIterableIterator<LiveLogChunk>;
  done: Promise<void>;
}

async function main(): Promise<void> {
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

  const live = createLiveLogResolvers({ kubeConfig: kc, log: quiet });
  const before = sandbox.server.requestCounts();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const subscribers: Subscriber[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const pod = pods[i % PODS];
    const it = await live.resolvers.Subscription.podLogs.subscribe(
      undefined,
      { namespace: NS, pod },
      { viewer: admin },
    );
    const s: Subscriber = { pod, lines: [], chunks: 0, it, done: Promise.resolve() };
    s.done = (async () => {
      try {
        for await (const c of it) {
          s.chunks++;
          for (const l of c.lines) s.lines.push(`${l.timestamp} ${l.message}`);
        }
      } catch (e) {
        s.error = e;
      }
    })();
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
  for (const s of subscribers) await s.it.return?.();
  await Promise.all(subscribers.map((s) => s.done));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const logRequests = sandbox.server.requestCounts(before)['get pods/log'] ?? 0;
  await live.close();

  // Each subscriber's lines against the container's log read in one request afterwards.
  const truth = new Map<string, string[]>();
  for (const pod of pods) {
    const text = await core.readNamespacedPodLog({ namespace: NS, name: pod, timestamps: true });
    truth.set(pod, text.split('\n').filter(Boolean));
  }
  let lost = 0;
  let repeated = 0;
  let outOfOrder = 0;
  let delivered = 0;
  let errors = 0;
  for (const s of subscribers) {
    if (s.error) errors++;
    delivered += s.lines.length;
    repeated += s.lines.length - new Set(s.lines).size;
    const t = truth.get(s.pod)!;
    const index = new Map(t.map((l, i) => [l, i]));
    let last = -1;
    for (const l of s.lines) {
      const i = index.get(l) ?? -1;
      if (i < last) outOfOrder++;
      last = Math.max(last, i);
    }
    // Every line of the log up to the last one received must have been received.
    const got = new Set(s.lines);
    for (let i = 0; i <= last; i++) if (!got.has(t[i])) lost++;
  }
  await sandbox.close();

  const rows: [string, string | number, string][] = [
    ['subscribers / pods', `${SUBSCRIBERS} / ${PODS}`, ''],
    ['upstream log streams (max while running)', maxStreams, `must be ${PODS}`],
    ['upstream log streams at the end', streamsAtEnd, `must be ${PODS}`],
    ['pods/log requests (connections cut)', `${logRequests} (${cuts})`, `${PODS} + one per cut stream`],
    ['lines delivered (all subscribers)', delivered, ''],
    ['lines per second delivered', Math.round(delivered / seconds), ''],
    [
      'lines per chunk (mean)',
      (
        delivered /
        Math.max(
          1,
          subscribers.reduce((n, s) => n + s.chunks, 0),
        )
      ).toFixed(1),
      '',
    ],
    ['lines lost', lost, 'must be 0'],
    ['lines repeated', repeated, 'must be 0'],
    ['lines out of order', outOfOrder, 'must be 0'],
    ['subscriptions ended with an error', errors, 'must be 0'],
    [
      'CPU (user+system) per delivered line',
      `${((cpu.user + cpu.system) / Math.max(1, delivered)).toFixed(1)} µs`,
      'sandbox included',
    ],
  ];
  console.log(`live logs: ${SUBSCRIBERS} subscribers on ${PODS} pods, ${SECONDS} s, ${DROPS} cuts (${machineLine()})`);
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [name, value, note] of rows) console.log(`${name.padEnd(w)}  ${String(value).padStart(14)}  ${note}`);
  writeResults(resultsPath('logging-live'), {
    config: { PODS, SUBSCRIBERS, SECONDS, DROPS, SPEED },
    maxStreams,
    streamsAtEnd,
    logRequests,
    cuts,
    delivered,
    lost,
    repeated,
    outOfOrder,
    errors,
  });
  const ok =
    maxStreams === PODS && streamsAtEnd === PODS && lost === 0 && repeated === 0 && outOfOrder === 0 && !errors;
  if (!ok) {
    console.error('FAILED: the live log benchmark broke one of its rules above');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
