// `npm run bench`: the sandbox API server at benchmark size (10,000 running pods, 100 nodes, HTTPS), measured with
// the real @kubernetes/client-node, each figure next to a baseline measured in the same run (see bench/README.md).
//
// The server runs in a child process (bench/sandbox-server.ts) so that it does not share an event loop with the
// clients measuring it. Knobs (environment): BENCH_PODS (10000), BENCH_RUNS (7), BENCH_INFORMER_RUNS (5),
// BENCH_WATCHERS (100), BENCH_UPDATES (1000), BENCH_UPDATE_BATCH (50), BENCH_FANOUT_ROUNDS (3); BENCH_SERVER_PROFILE=<dir> writes a V8 CPU
// profile of the server process there (open it in Chrome DevTools or speedscope).
import * as k8s from '@kubernetes/client-node';
import { getRaw } from './https-get.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import { knob } from './knobs.js';
import { startServerProcess, type ServerProcess } from './sandbox-server-process.js';

const RESULTS = resultsPath('sandbox');

const RUNS = knob('BENCH_RUNS', 7, 1);
const INFORMER_RUNS = knob('BENCH_INFORMER_RUNS', 5, 1);
const WATCHERS = knob('BENCH_WATCHERS', 100, 1);
const UPDATES = knob('BENCH_UPDATES', 1000, 1);
const UPDATE_BATCH = knob('BENCH_UPDATE_BATCH', 50, 1);
const FANOUT_ROUNDS = knob('BENCH_FANOUT_ROUNDS', 3, 1);

// ------------------------------------------------------------------ clients and statistics

interface Target {
  name: string;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  ca: Buffer;
  token: string;
  server: string;
}

function target(name: string, kubeconfig: string): Target {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfig);
  const cluster = kc.getCurrentCluster()!;
  return {
    name,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    ca: Buffer.from(cluster.caData!, 'base64'),
    token: kc.getCurrentUser()!.token!,
    server: cluster.server,
  };
}

/** GET without any client library: a fresh TLS connection (as client-node makes per call), body counted, not parsed. */
function rawGet(t: Target, path: string): Promise<Buffer> {
  return getRaw(
    `${t.server}${path}`,
    { ca: t.ca, token: t.token, agent: false },
    (status) => new Error(`${t.name} GET ${path}: HTTP ${status}`),
  );
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], samples: samples.map((x) => Math.round(x * 10) / 10) };
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

// ------------------------------------------------------------------ measurements

interface Comparison {
  name: string;
  unit: 'ms' | 'events/s';
  subject: string;
  value: Stats;
  baselineName: string;
  baseline: Stats;
  /** value / baseline (for ms: how many times slower than the baseline; for events/s: how many times the rate). */
  ratio: number;
  note?: string;
}

const ratioOf = (a: Stats, b: Stats) => a.median / b.median;

/** Full LIST of every pod, sandbox vs the static server holding the same bytes; client-node and raw bytes. */
async function fullList(sandbox: Target, baseline: Target, pods: number, listBytes: number): Promise<Comparison[]> {
  const typed = async (t: Target) => {
    const r = await timed(() => t.core.listPodForAllNamespaces());
    check(r.value.items.length === pods, `${t.name} full LIST returned ${r.value.items.length} pods, expected ${pods}`);
    return r.ms;
  };
  const raw = async (t: Target) => {
    const r = await timed(() => rawGet(t, '/api/v1/pods'));
    check(r.value.length === listBytes, `${t.name} raw LIST returned ${r.value.length} bytes, expected ${listBytes}`);
    return r.ms;
  };
  // Warm-up (JIT, TLS session set-up code paths), not recorded.
  for (const t of [sandbox, baseline]) {
    await typed(t);
    await raw(t);
  }
  const s = { typed: [] as number[], raw: [] as number[] };
  const b = { typed: [] as number[], raw: [] as number[] };
  // Interleaved, so drift in machine load hits both sides alike.
  for (let i = 0; i < RUNS; i++) {
    s.typed.push(await typed(sandbox));
    b.typed.push(await typed(baseline));
    s.raw.push(await raw(sandbox));
    b.raw.push(await raw(baseline));
    log(
      `full LIST run ${i + 1}/${RUNS}: client-node ${s.typed[i].toFixed(0)} vs ${b.typed[i].toFixed(0)} ms, raw ${s.raw[i].toFixed(0)} vs ${b.raw[i].toFixed(0)} ms`,
    );
  }
  const mb = (listBytes / 1e6).toFixed(1);
  return [
    {
      name: 'full LIST, client-node',
      unit: 'ms',
      subject: 'sandbox',
      value: stats(s.typed),
      baselineName: 'static https, same bytes, client-node',
      baseline: stats(b.typed),
      ratio: ratioOf(stats(s.typed), stats(b.typed)),
      note: `listPodForAllNamespaces, ${pods} pods, ${mb} MB`,
    },
    {
      name: 'full LIST, raw bytes',
      unit: 'ms',
      subject: 'sandbox',
      value: stats(s.raw),
      baselineName: 'static https, same bytes, raw',
      baseline: stats(b.raw),
      ratio: ratioOf(stats(s.raw), stats(b.raw)),
      note: `GET /api/v1/pods, body read not parsed, ${mb} MB`,
    },
  ];
}

/** limit=500 + continue until done, sandbox vs the static server holding the same pages. */
async function pagedList(sandbox: Target, baseline: Target, pods: number, pages: number): Promise<Comparison[]> {
  const typed = async (t: Target) => {
    const r = await timed(async () => {
      let n = 0;
      let calls = 0;
      let cont: string | undefined;
      do {
        const page = await t.core.listPodForAllNamespaces({ limit: 500, _continue: cont });
        n += page.items.length;
        calls++;
        cont = page.metadata?._continue || undefined;
      } while (cont);
      return { n, calls };
    });
    check(
      r.value.n === pods && r.value.calls === pages,
      `${t.name} paginated LIST: ${r.value.n} pods in ${r.value.calls} pages, expected ${pods} in ${pages}`,
    );
    return r.ms;
  };
  for (const t of [sandbox, baseline]) await typed(t);
  const s: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    s.push(await typed(sandbox));
    b.push(await typed(baseline));
    log(`paginated LIST run ${i + 1}/${RUNS}: ${s[i].toFixed(0)} vs ${b[i].toFixed(0)} ms`);
  }
  return [
    {
      name: 'paginated LIST (limit 500), client-node',
      unit: 'ms',
      subject: 'sandbox',
      value: stats(s),
      baselineName: 'static https, same pages, client-node',
      baseline: stats(b),
      ratio: ratioOf(stats(s), stats(b)),
      note: `${pages} requests, new TLS connection each (client-node default)`,
    },
  ];
}

/**
 * makeInformer on /api/v1/pods: start() resolves once the LIST is in the cache and the watch is open. Its baseline, a
 * plain full LIST through client-node, is measured again here, interleaved with the syncs, so that both run with the
 * same heap and machine state (a figure from the LIST phase above carries that phase's garbage).
 */
async function informerSync(sandbox: Target, pods: number): Promise<Comparison[]> {
  const syncs: number[] = [];
  const lists: number[] = [];
  for (let i = 0; i < INFORMER_RUNS; i++) {
    const l = await timed(() => sandbox.core.listPodForAllNamespaces());
    check(l.value.items.length === pods, `full LIST returned ${l.value.items.length} pods, expected ${pods}`);
    lists.push(l.ms);
    const informer = k8s.makeInformer<k8s.V1Pod>(sandbox.kc, '/api/v1/pods', () =>
      sandbox.core.listPodForAllNamespaces(),
    );
    const r = await timed(() => informer.start());
    check(informer.list().length === pods, `informer cached ${informer.list().length} pods, expected ${pods}`);
    await informer.stop();
    syncs.push(r.ms);
    log(
      `informer sync run ${i + 1}/${INFORMER_RUNS}: ${r.ms.toFixed(0)} ms (full LIST just before: ${l.ms.toFixed(0)} ms)`,
    );
  }
  const v = stats(syncs);
  const b = stats(lists);
  return [
    {
      name: 'informer sync (list + watch open)',
      unit: 'ms',
      subject: 'sandbox',
      value: v,
      baselineName: 'full LIST, client-node, same phase',
      baseline: b,
      ratio: ratioOf(v, b),
      note: 'makeInformer(/api/v1/pods).start(), alternating with a plain listPodForAllNamespaces',
    },
  ];
}

interface FanoutRound {
  watchers: number;
  updates: number;
  events: number;
  ms: number;
  eventsPerSecond: number;
  /** Time the server process took to apply the updates (each write hands its event to every watch stream). */
  serverApplyMs: number;
  /** CPU time used during the round by the server process and by this (client) process. */
  serverCpuMs: number;
  clientCpuMs: number;
}

/**
 * `watchers` concurrent watches on /api/v1/pods from the current resourceVersion; then the server process applies
 * UPDATES pod status updates; time from the command to the last watcher having every event. Every watcher must see
 * exactly the UPDATES MODIFIED events, for exactly the updated pods, at exactly the resourceVersions written.
 */
async function fanoutRound(srv: ServerProcess, sandbox: Target, watchers: number): Promise<FanoutRound> {
  const list = await sandbox.core.listPodForAllNamespaces({ limit: 1 });
  const rv = list.metadata!.resourceVersion!;
  const received = Array.from({ length: watchers }, () => ({
    events: 0,
    modified: 0,
    rvs: [] as number[],
    names: new Set<string>(),
  }));
  let complete = 0;
  let allDone: (t: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (allDone = resolve));
  const errors: unknown[] = [];
  const watch = new k8s.Watch(sandbox.kc);
  const controllers = await Promise.all(
    received.map((got) =>
      watch.watch(
        '/api/v1/pods',
        { resourceVersion: rv },
        (type, obj: k8s.V1Pod) => {
          got.events++;
          if (type === 'MODIFIED') got.modified++;
          got.rvs.push(Number(obj.metadata?.resourceVersion));
          got.names.add(`${obj.metadata?.namespace}/${obj.metadata?.name}`);
          if (got.events === UPDATES && ++complete === watchers) allDone(performance.now());
        },
        (err) => {
          if (err && (err as { name?: string }).name !== 'AbortError') errors.push(err);
        },
      ),
    ),
  );
  // Every watch is registered in the server before the first update.
  const open = (await srv.call('watches')).open;
  check(open === watchers, `server has ${open} watches open, expected ${watchers}`);

  const serverCpu0 = (await srv.call('cpu')).ms;
  const clientCpu0 = process.cpuUsage();
  const start = performance.now();
  const applied = srv.call('update', { count: UPDATES, batch: UPDATE_BATCH });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () =>
        reject(
          new Error(
            `fan-out (${watchers} watchers) not complete after 120 s: ${complete} watchers complete; received ${received.map((g) => g.events).join(',')}`,
          ),
        ),
      120_000,
    ).unref(),
  );
  const end = await Promise.race([finished, timeout]);
  const clientCpu = process.cpuUsage(clientCpu0);
  const reply = await applied;
  const serverCpuMs = (await srv.call('cpu')).ms - serverCpu0;
  // Let anything extra (there should be nothing) arrive before checking exact counts.
  await new Promise((r) => setTimeout(r, 200));
  for (const c of controllers) c.abort();

  check(errors.length === 0, `watch errors: ${errors.map(String).join('; ')}`);
  const expectedNames = new Set(reply.names);
  check(
    reply.lastRv - reply.firstRv + 1 === UPDATES,
    `server wrote versions ${reply.firstRv}..${reply.lastRv} for ${UPDATES} updates`,
  );
  received.forEach((got, i) => {
    check(
      got.events === UPDATES && got.modified === UPDATES,
      `watcher ${i}: ${got.events} events (${got.modified} MODIFIED), expected ${UPDATES}`,
    );
    check(
      got.rvs.every((v, j) => v === reply.firstRv + j),
      `watcher ${i}: resourceVersions not exactly ${reply.firstRv}..${reply.lastRv} in order`,
    );
    check(
      got.names.size === expectedNames.size && [...got.names].every((n) => expectedNames.has(n)),
      `watcher ${i}: not exactly the updated pods`,
    );
  });
  const ms = end - start;
  const events = watchers * UPDATES;
  return {
    watchers,
    updates: UPDATES,
    events,
    ms,
    eventsPerSecond: events / (ms / 1000),
    serverApplyMs: reply.applyMs,
    serverCpuMs,
    clientCpuMs: (clientCpu.user + clientCpu.system) / 1000,
  };
}

async function fanout(srv: ServerProcess, sandbox: Target): Promise<{ comparison: Comparison; rounds: FanoutRound[] }> {
  // 1 watcher, WATCHERS watchers, alternating, FANOUT_ROUNDS times; medians.
  const rounds: FanoutRound[] = [];
  for (let i = 0; i < FANOUT_ROUNDS; i++) {
    for (const n of [1, WATCHERS]) {
      const r = await fanoutRound(srv, sandbox, n);
      rounds.push(r);
      log(
        `fan-out ${n} watcher(s): ${r.events} events in ${r.ms.toFixed(0)} ms = ${Math.round(r.eventsPerSecond)} events/s (server: updates applied in ${r.serverApplyMs.toFixed(0)} ms, ${r.serverCpuMs.toFixed(0)} ms CPU; client: ${r.clientCpuMs.toFixed(0)} ms CPU)`,
      );
    }
  }
  const many = stats(rounds.filter((r) => r.watchers === WATCHERS).map((r) => r.eventsPerSecond));
  const one = stats(rounds.filter((r) => r.watchers === 1).map((r) => r.eventsPerSecond));
  const manyRounds = rounds.filter((r) => r.watchers === WATCHERS);
  const manyMs = stats(manyRounds.map((r) => r.ms));
  const serverUs = stats(manyRounds.map((r) => (r.serverCpuMs * 1000) / r.events)).median;
  const clientUs = stats(manyRounds.map((r) => (r.clientCpuMs * 1000) / r.events)).median;
  return {
    rounds,
    comparison: {
      name: `watch fan-out, ${WATCHERS} watchers`,
      unit: 'events/s',
      subject: `sandbox, ${WATCHERS} watchers`,
      value: many,
      baselineName: 'same, 1 watcher',
      baseline: one,
      ratio: ratioOf(many, one),
      note:
        `${UPDATES} status updates, ${WATCHERS * UPDATES} events delivered in ${manyMs.median.toFixed(0)} ms (median); ideal ratio ${WATCHERS}; ` +
        `CPU per delivered event: server ${serverUs.toFixed(1)} µs, client ${clientUs.toFixed(1)} µs (${clientUs > serverUs ? 'client' : 'server'}-bound: that process's one event loop limits the rate)`,
    },
  };
}

// ------------------------------------------------------------------ report

function fmt(v: number, unit: Comparison['unit']): string {
  return unit === 'ms' ? `${v.toFixed(v < 100 ? 1 : 0)} ms` : `${Math.round(v).toLocaleString('en-US')} ev/s`;
}

function table(rows: Comparison[]): string {
  const head = ['measurement', 'sandbox (median)', 'baseline (median)', 'ratio', 'baseline is'];
  const body = rows.map((r) => [
    r.name,
    fmt(r.value.median, r.unit),
    fmt(r.baseline.median, r.unit),
    `${r.ratio.toFixed(2)}x`,
    r.baselineName,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 1 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  log(`starting the server process (${process.env.BENCH_PODS ?? 10000} pods)...`);
  const srv = await startServerProcess();
  const { ready } = srv;
  log(
    `sandbox ready at ${ready.sandbox.url} (seeded in ${ready.seedMs.toFixed(0)} ms); static baseline at ${ready.baseline.url}; list ${ready.listBytes} bytes, ${ready.pages} pages`,
  );
  const sandbox = target('sandbox', ready.sandbox.kubeconfig);
  const baseline = target('static', ready.baseline.kubeconfig);
  try {
    const rows: Comparison[] = [];
    rows.push(...(await fullList(sandbox, baseline, ready.pods, ready.listBytes)));
    rows.push(...(await pagedList(sandbox, baseline, ready.pods, ready.pages)));
    rows.push(...(await informerSync(sandbox, ready.pods)));
    const fan = await fanout(srv, sandbox);
    rows.push(fan.comparison);

    const totalS = (performance.now() - started) / 1000;
    console.log(
      `\nsandbox benchmark: ${ready.pods} pods on ${ready.nodes} nodes over HTTPS, @kubernetes/client-node; ${RUNS} runs per LIST figure (${INFORMER_RUNS} informer syncs), medians`,
    );
    console.log(`machine: ${machineLine()}; server in a child process\n`);
    console.log(table(rows));
    console.log(
      '\nratio: for ms rows, sandbox time / baseline time (1.00 = as fast as the baseline); for the fan-out row,',
    );
    console.log(
      `total delivery rate with ${WATCHERS} watchers / rate with 1 watcher (${WATCHERS} = fan-out costs nothing, 1 = no faster in total than one watcher).`,
    );
    for (const r of rows) if (r.note) console.log(`  ${r.name}: ${r.note}`);
    console.log(`\ntotal ${totalS.toFixed(0)} s; results in ${RESULTS}`);

    writeResults(RESULTS, {
      config: {
        pods: ready.pods,
        nodes: ready.nodes,
        runs: RUNS,
        informerRuns: INFORMER_RUNS,
        watchers: WATCHERS,
        updates: UPDATES,
        updateBatch: UPDATE_BATCH,
        listBytes: ready.listBytes,
        pages: ready.pages,
        pageBytes: ready.pageBytes,
        seedMs: Math.round(ready.seedMs),
      },
      results: rows,
      fanoutRounds: fan.rounds,
      totalSeconds: Math.round(totalS),
    });
  } finally {
    // The server process exits by itself once stopped (writing its CPU profile, if asked); killed if it does not.
    const exited = new Promise((resolve) =>
      srv.child.exitCode !== null ? resolve(undefined) : srv.child.once('exit', resolve),
    );
    await srv.call('stop').catch(() => undefined);
    const timer = setTimeout(() => srv.child.kill(), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
