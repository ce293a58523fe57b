// The subscriptions benchmark (issue 4): thousands of graphql-ws clients on one gateway while the sandbox changes pods
// at a steady rate — latency from the change in the sandbox to the event at each client, gateway memory per client,
// and the upstream subscriptions and API-server watches, which must not grow with the clients. See bench/README.md.
//
//   npm run bench:subscriptions
//
// Processes: the cluster (bench/subscriptions-cluster.ts: sandbox + workloads subgraph; it also writes the changes),
// the gateway alone (bench/subscriptions-gateway.ts, --expose-gc), and this one: every measuring client.
//
// Phases: a baseline (one client on the subgraph directly and one through the gateway, both on every namespace, so
// every change is an event to both), then steps of gateway clients spread over BENCH_NAMESPACES namespaces. The
// direct client stays through every step. Why the clients are spread: 5,000 clients on ONE operation at 100 changes/s
// is 500,000 results a second to send, about ten times what this 2-core machine can write to sockets (one writev per
// result is most of the gateway's CPU); a saturated gateway only measures its queue. See bench/README.md.
import { setTimeout as sleep } from 'node:timers/promises';
import { startChild, stopChild, type Child } from './child.js';
import { BenchClient, QUERY, Recorder, connectAll, nowUs, pct, until } from './subscriptions-client.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import { knob } from './knobs.js';
import type { ClusterCommand, ClusterReady, ClusterReply } from './subscriptions-cluster.js';
import type { GatewayCommand, GatewayReady, GatewayReply } from './subscriptions-gateway.js';

const RESULTS = resultsPath('subscriptions');
/** Client counts measured after the baseline, in order (clients are added from one step to the next). */
const STEPS = (process.env.BENCH_CLIENT_STEPS ?? '1000,5000').split(',').filter(Boolean).map(Number);
/** Pod changes per second written in the sandbox, and for how long, per step. */
const RATE = knob('BENCH_RATE', 100);
const SECONDS = knob('BENCH_SECONDS', 10);
/** An unrecorded load before each step's measured one: every client must have an event of it (it is subscribed). */
const WARMUP_SECONDS = knob('BENCH_WARMUP_SECONDS', 1);
/**
 * Client i subscribes to namespace i mod NAMESPACES: NAMESPACES distinct operations (so as many upstreams), each
 * changing at RATE / NAMESPACES per second. With 1, every client gets every change: RATE x clients results a second.
 */
const NAMESPACES = knob('BENCH_NAMESPACES', 50);
const PODS = knob('BENCH_PODS', 500);
const CONNECT_CONCURRENCY = knob('BENCH_CONNECT_CONCURRENCY', 100);
const DRAIN_TIMEOUT_MS = knob('BENCH_DRAIN_TIMEOUT_S', 60) * 1000;
/**
 * Then, one operation shared by every client (issue 19 §2: every open console on the same page): client counts, all
 * subscribed to the first namespace, whose pods alone change, at SAME_OP_RATE a second: SAME_OP_RATE x clients
 * results a second, every one of them an event of the same shared execution.
 */
const SAME_OP_STEPS = (process.env.BENCH_SAME_OP_STEPS ?? '1000,5000').split(',').filter(Boolean).map(Number);
const SAME_OP_RATE = knob('BENCH_SAME_OP_RATE', 20);
/** A directory: the gateway process writes a V8 CPU profile there when it exits. */
const GATEWAY_PROFILE = process.env.BENCH_GATEWAY_PROFILE;

// ------------------------------------------------------------------ gateway metrics

type Metrics = Map<string, number>;

async function scrape(gatewayUrl: string): Promise<Metrics> {
  const url = gatewayUrl.replace(/\/graphql$/, '/metrics');
  // Once more on a reset: a kept-alive connection the busy gateway closed as it was reused.
  const text = await fetch(url)
    .catch(() => fetch(url))
    .then((r) => r.text());
  const m: Metrics = new Map();
  for (const line of text.split('\n')) {
    const r = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (r) m.set(r[1], (m.get(r[1]) ?? 0) + Number(r[3]));
  }
  return m;
}
const metric = (m: Metrics, name: string) => m.get(name) ?? 0;

// ------------------------------------------------------------------ main

interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

interface PhaseResult {
  /** Client subscriptions on the gateway. */
  clients: number;
  /** Every client on one operation (the first namespace, whose pods alone change), or spread over the namespaces. */
  sameOp: boolean;
  /** Changes a second written in the window. */
  rate: number;
  upstreamSubscriptions: number;
  apiServerWatches: number;
  gatewaySubscriptionsActive: number;
  gatewayWsConnections: number;
  changes: number;
  /** Events the gateway's clients should have received (summed), received, and missing after the drain. */
  expectedEvents: number;
  receivedEvents: number;
  lostEvents: number;
  outOfOrder: number;
  clientsEnded: number;
  gateway: LatencySummary;
  /** The client on the subgraph directly, every namespace, during the same window. */
  direct: LatencySummary & { lost: number; outOfOrder: number };
  /** Gateway process after a forced GC, with the clients connected and warm. */
  memory: { heapUsed: number; rss: number };
  /** The writer's schedule: how long the changes took and how late it ran at most. */
  writer: { elapsedMs: number; maxLagMs: number };
  /** Time from the last change written until every client had every event. */
  drainMs: number;
  /** CPU used during the measured window, ms. */
  cpu: { gatewayMs: number; clusterMs: number; clientsMs: number; windowMs: number };
  eventsIn: number;
  eventsOut: number;
  enrichmentMeanMs: number;
}

const summarize = (r: Recorder): LatencySummary => {
  const s = r.sorted();
  return { samples: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s.length ? s[s.length - 1] : NaN };
};

async function main(): Promise<void> {
  const started = performance.now();
  let cluster: Child<ClusterReady> | undefined;
  let gw: Child<GatewayReady> | undefined;
  const clients: BenchClient[] = [];
  let direct: BenchClient | undefined;
  let probe: BenchClient | undefined;
  try {
    cluster = await startChild<ClusterReady>('subscriptions-cluster.ts', {
      BENCH_PODS: String(PODS),
      BENCH_NAMESPACES: String(NAMESPACES),
    });
    gw = await startChild<GatewayReady>('subscriptions-gateway.ts', { BENCH_SUBGRAPH_URL: cluster.ready.subgraph }, [
      '--expose-gc',
      ...(GATEWAY_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${GATEWAY_PROFILE}`] : []),
    ]);
    const { namespaces } = cluster.ready;
    const c = cluster;
    const g = gw;
    const clusterCall = <K extends ClusterCommand['cmd']>(cmd: Omit<Extract<ClusterCommand, { cmd: K }>, 'id'>) =>
      c.call<Extract<ClusterCommand, { cmd: K }>, Extract<ClusterReply, { cmd: K }>>(cmd);
    const gatewayCall = <K extends GatewayCommand['cmd']>(cmd: Omit<Extract<GatewayCommand, { cmd: K }>, 'id'>) =>
      g.call<Extract<GatewayCommand, { cmd: K }>, Extract<GatewayReply, { cmd: K }>>(cmd);
    const parentCpuMs = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const snapshot = async () => ({
      m: await scrape(g.ready.url),
      gcpu: (await gatewayCall<'cpu'>({ cmd: 'cpu' })).ms,
      ccpu: (await clusterCall<'cpu'>({ cmd: 'cpu' })).ms,
      pcpu: parentCpuMs(),
      t: performance.now(),
    });

    // The two processes stamp and read the same wall clock; check that they agree (offset at the fastest round trip).
    let clock = { offsetMs: 0, rttMs: Infinity };
    for (let i = 0; i < 10; i++) {
      const t1 = nowUs();
      const { nowUs: remote } = await clusterCall<'clock'>({ cmd: 'clock' });
      const t2 = nowUs();
      if ((t2 - t1) / 1000 < clock.rttMs)
        clock = { rttMs: (t2 - t1) / 1000, offsetMs: (remote - (t1 + t2) / 2) / 1000 };
    }
    const watchesBefore = (await clusterCall<'watches'>({ cmd: 'watches' })).open;

    let gatewayRec = new Recorder();
    let directRec = new Recorder();
    let seq = 1;

    /** A warm-up load every client must see part of, then the measured window, with every gateway client in `on`. */
    const runPhase = async (
      on: BenchClient[],
      { rate, namespace }: { rate: number; namespace?: string } = { rate: RATE },
    ): Promise<PhaseResult> => {
      const d0 = direct!;
      await until(
        `${on.length} client subscriptions at the gateway`,
        60_000,
        async () => metric(await scrape(g.ready.url), 'kubegraph_gateway_subscriptions_active') === on.length,
      );
      const warmBefore = on.map((cl) => cl.warm);
      const directWarm = d0.warm;
      await clusterCall<'load'>({ cmd: 'load', rate, seconds: WARMUP_SECONDS, firstSeq: seq, namespace });
      seq += Math.round(rate * WARMUP_SECONDS);
      try {
        await until(
          'every client to receive the warm-up',
          DRAIN_TIMEOUT_MS,
          () => d0.warm > directWarm && on.every((cl, i) => cl.warm > warmBefore[i]),
        );
      } catch (e) {
        const missing = on.filter((cl, i) => cl.warm <= warmBefore[i]);
        throw new Error(
          `${(e as Error).message}: ${missing.length} clients without an event, ${missing.filter((cl) => cl.ended).length} of them ended (${missing.find((cl) => cl.ended)?.ended ?? ''})`,
          { cause: e },
        );
      }
      // Let the warm-up's backlog clear before the window opens.
      await sleep(500);

      const memory = await gatewayCall<'memory'>({ cmd: 'memory' });
      const before = await snapshot();
      gatewayRec = new Recorder();
      directRec = new Recorder();
      for (const cl of on) cl.resetWindow();
      d0.resetWindow();
      const total = Math.round(rate * SECONDS);
      BenchClient.window = { fromSeq: seq, toSeq: seq + total - 1 };
      const load = await clusterCall<'load'>({ cmd: 'load', rate, seconds: SECONDS, firstSeq: seq, namespace });
      seq += total;
      const expectedOf = (cl: BenchClient) =>
        cl.namespace === null ? load.changes : (load.perNamespace[cl.namespace] ?? 0);
      let drainMs = DRAIN_TIMEOUT_MS;
      try {
        drainMs = await until(
          'every event to arrive',
          DRAIN_TIMEOUT_MS,
          () => d0.received >= expectedOf(d0) && on.every((cl) => cl.received >= expectedOf(cl) || cl.ended),
        );
      } catch (e) {
        console.error(`${on.length} clients: ${(e as Error).message}; counting what arrived`);
      }
      const after = await snapshot();
      BenchClient.window = undefined;
      const watches = (await clusterCall<'watches'>({ cmd: 'watches' })).open;
      const expectedEvents = on.reduce((s, cl) => s + expectedOf(cl), 0);
      const receivedEvents = on.reduce((s, cl) => s + Math.min(cl.received, expectedOf(cl)), 0);
      const delta = (name: string) => metric(after.m, name) - metric(before.m, name);
      const r: PhaseResult = {
        clients: on.length,
        sameOp: namespace !== undefined,
        rate,
        upstreamSubscriptions: metric(after.m, 'kubegraph_gateway_upstream_subscriptions'),
        apiServerWatches: watches,
        gatewaySubscriptionsActive: metric(after.m, 'kubegraph_gateway_subscriptions_active'),
        gatewayWsConnections: metric(after.m, 'kubegraph_gateway_ws_connections'),
        changes: load.changes,
        expectedEvents,
        receivedEvents,
        lostEvents: expectedEvents - receivedEvents,
        outOfOrder: on.reduce((s, cl) => s + cl.disorder, 0),
        clientsEnded: on.filter((cl) => cl.ended).length,
        gateway: summarize(gatewayRec),
        direct: {
          ...summarize(directRec),
          lost: expectedOf(d0) - Math.min(d0.received, expectedOf(d0)),
          outOfOrder: d0.disorder,
        },
        memory: { heapUsed: memory.heapUsed, rss: memory.rss },
        writer: { elapsedMs: load.elapsedMs, maxLagMs: load.maxLagMs },
        drainMs,
        cpu: {
          gatewayMs: after.gcpu - before.gcpu,
          clusterMs: after.ccpu - before.ccpu,
          clientsMs: after.pcpu - before.pcpu,
          windowMs: after.t - before.t,
        },
        eventsIn: delta('kubegraph_gateway_subscription_events_in_total'),
        eventsOut: delta('kubegraph_gateway_subscription_events_out_total'),
        enrichmentMeanMs:
          (delta('kubegraph_gateway_subscription_enrichment_seconds_sum') /
            Math.max(1, delta('kubegraph_gateway_subscription_enrichment_seconds_count'))) *
          1000,
      };
      console.error(
        `${on.length} clients${namespace !== undefined ? ' on one operation' : ''}: p50 ${r.gateway.p50.toFixed(1)} ms p99 ${r.gateway.p99.toFixed(1)} ms (direct ${r.direct.p50.toFixed(1)} / ${r.direct.p99.toFixed(1)}); ` +
          `${r.upstreamSubscriptions} upstream, ${watches} watches; lost ${r.lostEvents}; drained ${(drainMs / 1000).toFixed(1)} s after the last change`,
      );
      return r;
    };

    // Baseline: one client on the subgraph directly and one through the gateway, both on every namespace (every
    // change is an event to them). The direct client stays for the whole run: its latency under each step's load
    // shows how much of the gateway clients' latency is the machine being busy.
    direct = new BenchClient(cluster.ready.subgraph, null, () => directRec);
    await direct.connect();
    probe = new BenchClient(gw.ready.url, null, () => gatewayRec);
    await probe.connect();
    const baseline = await runPhase([probe]);
    probe.close();
    await until(
      'the baseline subscription to close',
      10_000,
      async () => metric(await scrape(g.ready.url), 'kubegraph_gateway_upstream_subscriptions') === 0,
    );
    const memoryNoClients = await gatewayCall<'memory'>({ cmd: 'memory' });

    const steps: (PhaseResult & { connectMs: number })[] = [];
    for (const n of STEPS) {
      const added = Array.from(
        { length: Math.max(0, n - clients.length) },
        (_, i) => new BenchClient(g.ready.url, namespaces[(clients.length + i) % namespaces.length], () => gatewayRec),
      );
      const t = performance.now();
      await connectAll(added, CONNECT_CONCURRENCY);
      clients.push(...added);
      const connectMs = performance.now() - t;
      steps.push({ ...(await runPhase(clients)), connectMs });
    }

    // One operation for every client: the spread clients leave, then clients on the first namespace only.
    for (const cl of clients.splice(0)) cl.close();
    await until(
      'the spread clients to leave',
      60_000,
      async () => metric(await scrape(g.ready.url), 'kubegraph_gateway_upstream_subscriptions') === 0,
    );
    for (const n of SAME_OP_STEPS) {
      const added = Array.from(
        { length: Math.max(0, n - clients.length) },
        () => new BenchClient(g.ready.url, namespaces[0], () => gatewayRec),
      );
      const t = performance.now();
      await connectAll(added, CONNECT_CONCURRENCY);
      clients.push(...added);
      const connectMs = performance.now() - t;
      steps.push({ ...(await runPhase(clients, { rate: SAME_OP_RATE, namespace: namespaces[0] })), connectMs });
    }

    // ---------------------------------------------------------------- report
    const base = baseline.direct;
    const perClient = (s: PhaseResult, k: 'heapUsed' | 'rss') => (s.memory[k] - memoryNoClients[k]) / s.clients;
    const kb = (x: number) => `${(x / 1024).toFixed(1)} KB`;
    const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
    const totalS = (performance.now() - started) / 1000;
    const perClientEvents = (s: PhaseResult) => (s.expectedEvents / s.clients).toFixed(0);

    console.log(
      `\nsubscriptions benchmark: ${RATE} pod changes/s for ${SECONDS} s per step, ${cluster.ready.pods} pods in ${namespaces.length} namespaces; gateway client i subscribes to namespace i mod ${namespaces.length}`,
    );
    console.log(
      `machine: ${machineLine()}; cluster (sandbox + workloads subgraph) and gateway in child processes, every client in this one`,
    );
    console.log(`operation: ${QUERY}`);
    console.log(
      `clock check: cluster process vs this one ${clock.offsetMs.toFixed(3)} ms apart (round trip ${clock.rttMs.toFixed(2)} ms)\n`,
    );
    const head = [
      'gateway clients',
      'operations',
      'results/s',
      'upstream subs',
      'API watches',
      'events/client',
      'lost',
      'p50 ms',
      'p99 ms',
      'p50 ratio',
      'p99 ratio',
      'direct p50/p99 same window',
      'heap/client',
      'RSS/client',
    ];
    /** A phase's row: who and what rate (`first`), its measurements, then memory per client (`last`). */
    const phaseRow = (p: PhaseResult, first: string[], last: string[]): string[] => [
      ...first,
      String(p.upstreamSubscriptions),
      String(p.apiServerWatches),
      perClientEvents(p),
      String(p.lostEvents),
      ms(p.gateway.p50),
      ms(p.gateway.p99),
      `${(p.gateway.p50 / base.p50).toFixed(2)}x`,
      `${(p.gateway.p99 / base.p99).toFixed(2)}x`,
      `${ms(p.direct.p50)} / ${ms(p.direct.p99)}`,
      ...last,
    ];
    const rows: string[][] = [
      [
        '0 (direct only)',
        '1',
        String(RATE),
        '-',
        String(baseline.apiServerWatches),
        String(baseline.direct.samples),
        String(baseline.direct.lost),
        ms(base.p50),
        ms(base.p99),
        '1.00x',
        '1.00x',
        '(this row)',
        '-',
        '-',
      ],
      phaseRow(baseline, ['1 (all namespaces)', '1', String(RATE)], ['-', '-']),
      ...steps.map((s) =>
        phaseRow(
          s,
          [
            s.clients.toLocaleString('en-US'),
            s.sameOp ? '1 (same op)' : `${Math.min(s.clients, namespaces.length)} (spread)`,
            (s.expectedEvents / SECONDS).toLocaleString('en-US', { maximumFractionDigits: 0 }),
          ],
          [kb(perClient(s, 'heapUsed')), kb(perClient(s, 'rss'))],
        ),
      ),
    ];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    console.log(head.map((h, i) => (i === 0 ? h.padEnd(w[i]) : h.padStart(w[i]))).join('  '));
    console.log(w.map((x) => '-'.repeat(x)).join('  '));
    for (const r of rows) console.log(r.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  '));
    console.log(
      `\nratios: latency over the baseline's (the direct client, first window); memory per client: (gateway after GC with n clients) - (with none, after the baseline) over n`,
    );
    // One operation against the spread operations at the same client count, where both were measured.
    for (const same of steps.filter((s) => s.sameOp)) {
      const spread = steps.find((s) => !s.sameOp && s.clients === same.clients);
      if (!spread) continue;
      console.log(
        `  ${same.clients} clients on one operation vs spread over ${Math.min(spread.clients, namespaces.length)}: ` +
          `p50 ${(same.gateway.p50 / spread.gateway.p50).toFixed(2)}x, p99 ${(same.gateway.p99 / spread.gateway.p99).toFixed(2)}x, ` +
          `at ${(same.expectedEvents / spread.expectedEvents).toFixed(2)}x the results`,
      );
    }
    for (const s of [baseline, ...steps]) {
      const perOut = (x: number) => (s.eventsOut ? `${((x * 1000) / s.eventsOut).toFixed(1)} µs` : '-');
      console.log(
        `  ${s.clients} clients${s.sameOp ? ' on one operation' : ''}: ${s.eventsIn} upstream events -> ${s.eventsOut} results; enrichment ${s.enrichmentMeanMs.toFixed(2)} ms/upstream event; ` +
          `CPU in ${(s.cpu.windowMs / 1000).toFixed(1)} s: gateway ${(s.cpu.gatewayMs / 1000).toFixed(1)} s (${perOut(s.cpu.gatewayMs)}/result), ` +
          `clients ${(s.cpu.clientsMs / 1000).toFixed(1)} s, cluster ${(s.cpu.clusterMs / 1000).toFixed(1)} s; ` +
          `writer late ≤ ${s.writer.maxLagMs.toFixed(0)} ms; drained ${(s.drainMs / 1000).toFixed(1)} s after; ` +
          `gateway heap ${(s.memory.heapUsed / 2 ** 20).toFixed(1)} MB, RSS ${(s.memory.rss / 2 ** 20).toFixed(1)} MB; max latency ${ms(s.gateway.max)} ms` +
          ('connectMs' in s ? `; connected in ${((s as { connectMs: number }).connectMs / 1000).toFixed(1)} s` : ''),
      );
    }
    console.log(
      `  gateway with no clients (after the baseline): heap ${(memoryNoClients.heapUsed / 2 ** 20).toFixed(1)} MB, RSS ${(memoryNoClients.rss / 2 ** 20).toFixed(1)} MB (GC forced: ${memoryNoClients.gc}); API-server watches before any subscription: ${watchesBefore}`,
    );
    console.log(`total ${totalS.toFixed(0)} s; results in ${RESULTS}`);

    writeResults(RESULTS, {
      config: {
        steps: STEPS,
        sameOpSteps: SAME_OP_STEPS,
        rate: RATE,
        sameOpRate: SAME_OP_RATE,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        namespaces: namespaces.length,
        pods: cluster.ready.pods,
        query: QUERY,
        syncMs: Math.round(cluster.ready.syncMs),
      },
      clock,
      watchesBefore,
      memoryNoClients,
      baseline,
      steps: steps.map((s) => ({
        ...s,
        ratioP50: s.gateway.p50 / base.p50,
        ratioP99: s.gateway.p99 / base.p99,
        heapPerClient: perClient(s, 'heapUsed'),
        rssPerClient: perClient(s, 'rss'),
      })),
      totalSeconds: Math.round(totalS),
    });

    // Every event must arrive, in order, and sharing must hold: one upstream per distinct operation, the same watches.
    const phases = [baseline, ...steps];
    const bad = phases.filter(
      (s) => s.lostEvents || s.outOfOrder || s.clientsEnded || s.direct.lost || s.direct.outOfOrder,
    );
    failWhen(
      bad,
      () => `events lost or out of order, or clients ended, with ${bad.map((s) => s.clients).join(', ')} clients`,
    );
    const grew = phases.filter(
      (s, i) =>
        s.apiServerWatches !== watchesBefore ||
        s.upstreamSubscriptions !== (i === 0 || s.sameOp ? 1 : Math.min(s.clients, namespaces.length)),
    );
    failWhen(
      grew,
      () =>
        `upstream subscriptions or API-server watches not as expected (${grew.map((s) => `${s.clients} clients: ${s.upstreamSubscriptions} upstream, ${s.apiServerWatches} watches`).join('; ')})`,
    );
  } finally {
    for (const cl of clients) cl.close();
    probe?.close();
    direct?.close();
    await stopChild(gw);
    await stopChild(cluster);
  }
}

/** The run failed (exit code 1), saying why, when any phase is listed. */
function failWhen(listed: unknown[], why: () => string): void {
  if (!listed.length) return;
  console.error(`\nFAILED: ${why()}`);
  process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
