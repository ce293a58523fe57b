// The gateway throughput benchmark (issue 19 §1): our gateway, with every protection on and real access tokens, next
// to plain @apollo/gateway, Hive Gateway and Hive Gateway with its Rust planner, each alone in its own process in
// front of the same subgraphs and the same supergraph, loaded by autocannon from this process (see bench/README.md).
//
//   npm run bench:gateway
//
// Processes: the sandbox (bench/sandbox-server.ts, 10,000 pods, controllers off), the subgraphs
// (bench/gateway-throughput-subgraphs.ts: accounts, workloads, monitoring on a stub Prometheus), one gateway at a time
// (bench/gateway-throughput-gateway.ts), and this one, the load generator.
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { randomIdentitySecret } from '../services/common/identity.js';
import { SUPERGRAPH_PATH } from '../gateway/compose.js';
import { startChild, stopChild, type Child } from './child.js';
import { knob } from './knobs.js';
import type { GatewayKind } from './gateway-throughput-gateway.js';
import type { CpuReply, Setup, SubgraphsCommand } from './gateway-throughput-subgraphs.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import type { Ready } from './sandbox-server.js';

const RESULTS = resultsPath('gateway-throughput');
const GATEWAY_KINDS: GatewayKind[] = ['ours', 'plain', 'hive', 'hive-router'];
const PODS = knob('BENCH_PODS', 10_000);
const NODES = knob('BENCH_NODES', 100);
const CONNECTIONS = knob('BENCH_CONNECTIONS', 8);
const DURATION_S = knob('BENCH_DURATION_S', 12);
const WARMUP_S = knob('BENCH_WARMUP_S', 3);
const ROUNDS = knob('BENCH_ROUNDS', 2);
/** Which gateways (comma-separated), default the four; `tree:<dir>` is ours as the checkout in <dir> has it. */
const KINDS = (process.env.BENCH_GATEWAYS?.split(',') ?? GATEWAY_KINDS) as GatewayKind[];
/** BENCH_PROFILE=<dir>: our gateway runs with --cpu-prof, its profiles written there. */
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** BENCH_SUBGRAPHS_PROFILE=<dir>: a CPU profile of the subgraphs process during each timed run, written there. */
const SUBGRAPHS_PROFILE_DIR = process.env.BENCH_SUBGRAPHS_PROFILE;

const LABELS: Record<string, string> = {
  ours: 'ours',
  plain: 'plain @apollo/gateway',
  hive: 'Hive Gateway',
  'hive-router': 'Hive + router runtime',
};
const label = (kind: GatewayKind) => LABELS[kind] ?? `ours at ${kind.slice(5)}`;

interface Operation {
  name: string;
  subgraphs: number;
  query: string;
  /** Throws unless the data is a sane answer (the comparison across gateways does the rest). */
  check(data: unknown): void;
}

type Edges<T> = { edges: { node: T }[] };
const OPERATIONS: Operation[] = [
  {
    name: 'pods(first: 50) { name namespace status restarts }',
    subgraphs: 1,
    query: 'query PodsPage { pods(first: 50) { edges { node { name namespace status restarts } } } }',
    check(data) {
      const pods = (data as { pods: Edges<{ name: string }> }).pods.edges;
      if (pods.length !== 50 || pods.some((e) => !e.node.name)) throw new Error('not a page of 50 pods');
    },
  },
  {
    name: 'projects(first: 20) { workspace members }',
    subgraphs: 2,
    query:
      'query ProjectsPage { projects(first: 20) { edges { node { name workspace { name description } members { user { username } role } } } } }',
    check(data) {
      const projects = (
        data as { projects: Edges<{ workspace: { name: string } | null; members: { role: string }[] }> }
      ).projects.edges;
      if (projects.length !== 20) throw new Error(`${projects.length} projects, not 20`);
      if (!projects.some((e) => e.node.workspace?.name && e.node.members.length > 0))
        throw new Error('no project with a workspace and members');
    },
  },
  {
    name: 'pods(first: 50) { metrics { cpu memory } }',
    subgraphs: 3,
    query:
      'query PodsMetrics { pods(first: 50) { edges { node { name namespace restarts metrics { cpuCores { value } memoryBytes { value } } } } } }',
    check(data) {
      const pods = (data as { pods: Edges<{ metrics: { cpuCores: { value: number | null } } }> }).pods.edges;
      if (pods.length !== 50 || pods.some((e) => typeof e.node.metrics.cpuCores.value !== 'number'))
        throw new Error('not 50 pods with their CPU');
    },
  },
];

// ------------------------------------------------------------------ autocannon

/** autocannon's counts of failed requests, with how a failed run names them: any of them fails the run. */
const FAILURES = { errors: 'errors', timeouts: 'timeouts', non2xx: 'non-2xx', mismatches: 'other answers' } as const;
/** What is read of autocannon's result. */
type AutocannonResult = Record<keyof typeof FAILURES | 'duration', number> & {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
};
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
// CommonJS without type declarations: loaded through require, its result typed above.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

async function post(url: string, query: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, text: await res.text() };
}

interface Run {
  gateway: GatewayKind;
  operation: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  cpuMsPerRequest: number;
  /** The subgraphs process's CPU time per request of the gateway: how much work the gateway's fetches give them. */
  subgraphsCpuMsPerRequest: number;
  /** GraphQL requests the subgraphs answered per request of the gateway (fewer where it merges identical fetches). */
  fetchesPerRequest: number;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  // No usage or schema reporting from any gateway, whatever the environment says: the children inherit none of these
  // (Hive Gateway reports only with a `reporting` option, which it is not given; Apollo's are off in ours).
  for (const name of ['APOLLO_KEY', 'APOLLO_GRAPH_REF', 'APOLLO_GRAPH_ID', 'HIVE_REGISTRY_TOKEN', 'HIVE_USAGE_TARGET'])
    delete process.env[name];
  const started = performance.now();
  if (SUBGRAPHS_PROFILE_DIR) mkdirSync(SUBGRAPHS_PROFILE_DIR, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-gateway-bench-'));
  const identitySecret = randomIdentitySecret();
  const internalToken = randomIdentitySecret();
  const adminPassword = `Bench-${randomIdentitySecret()}`;
  let sandbox: Child<Ready> | undefined;
  let subgraphs: Child<unknown> | undefined;
  const runs: Run[] = [];
  try {
    sandbox = await startChild<Ready>('sandbox-server.ts', { BENCH_PODS: String(PODS), BENCH_NODES: String(NODES) });
    subgraphs = await startChild<unknown>('gateway-throughput-subgraphs.ts', {
      BENCH_KUBECONFIG: sandbox.ready.sandbox.kubeconfig,
      BENCH_IDENTITY_SECRET: identitySecret,
      BENCH_INTERNAL_TOKEN: internalToken,
      BENCH_ADMIN_PASSWORD: adminPassword,
    });
    const setup = await subgraphs.call<{ id: number }, Setup>({ cmd: 'setup' });
    const { urls } = setup;
    console.error(
      `subgraphs ready: caches synced after ${(setup.syncMs / 1000).toFixed(1)} s; ${setup.workspaces} workspaces, ${setup.members} members each`,
    );
    // One supergraph for every gateway: the routing URLs of the three subgraphs; the others point nowhere.
    const supergraphPath = join(dir, 'supergraph.graphql');
    writeFileSync(
      supergraphPath,
      readFileSync(SUPERGRAPH_PATH, 'utf8').replace(
        /@join__graph\(name: "(\w+)", url: "[^"]*"\)/g,
        (_, name: string) =>
          `@join__graph(name: "${name}", url: "${urls[name as keyof typeof urls] ?? 'http://127.0.0.1:1/graphql'}")`,
      ),
    );
    // The reference answer of each operation (the first gateway's), which every other must give too.
    const reference = new Map<string, unknown>();
    const order = (round: number) => (round % 2 === 0 ? KINDS : [...KINDS].reverse());
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of order(round)) {
        const gateway = await startChild<unknown>(
          'gateway-throughput-gateway.ts',
          {
            BENCH_GATEWAY: kind,
            BENCH_SUPERGRAPH: supergraphPath,
            BENCH_IDENTITY_SECRET: identitySecret,
            BENCH_INTERNAL_TOKEN: internalToken,
            BENCH_ACCOUNTS_BASE: setup.accountsBase,
            NODE_ENV: 'production',
          },
          (kind === 'ours' || kind.startsWith('tree:')) && PROFILE_DIR
            ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`]
            : [],
        );
        try {
          runs.push(...(await measure(kind, gateway, subgraphs, round, reference, adminPassword)));
        } finally {
          await stopChild(gateway);
        }
      }
    }
  } finally {
    await stopChild(subgraphs);
    await stopChild(sandbox);
    rmSync(dir, { recursive: true, force: true });
  }
  report(runs, (performance.now() - started) / 1000);
}

async function measure(
  kind: GatewayKind,
  gateway: Child<unknown>,
  subgraphs: Child<unknown>,
  round: number,
  reference: Map<string, unknown>,
  adminPassword: string,
): Promise<Run[]> {
  const { url } = await gateway.call<{ id: number }, { id: number; url: string }>({ cmd: 'start' });
  // Ours checks real access tokens: the bootstrap admin logs in through it, as a user would.
  let token: string | undefined;
  if (kind === 'ours' || kind.startsWith('tree:')) {
    const login = await post(
      url,
      `mutation { login(username: "admin", password: ${JSON.stringify(adminPassword)}) { accessToken } }`,
    );
    token = (JSON.parse(login.text) as { data?: { login?: { accessToken?: string } } }).data?.login?.accessToken;
    if (!token) throw new Error(`login through our gateway failed: ${login.text}`);
  }
  const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const out: Run[] = [];
  const cpuOf = (child: Child<unknown>) => child.call<{ id: number; cmd: 'cpu' }, CpuReply>({ cmd: 'cpu' });
  // Omit over each member of the union (Omit of a union keeps only the keys they share).
  const subgraphsCall = (cmd: SubgraphsCommand extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never) =>
    subgraphs.call<SubgraphsCommand, { id: number }>(cmd);
  for (const [i, op] of OPERATIONS.entries()) {
    // Checked before it counts: a sane answer, the same data as every other gateway's, and then byte for byte the
    // same answer throughout the timed run (autocannon counts any other body as a mismatch).
    const first = await post(url, op.query, token);
    const body = JSON.parse(first.text) as { data?: unknown; errors?: unknown[] };
    if (first.status !== 200 || body.errors || !body.data)
      throw new Error(`${label(kind)}: ${op.name}: HTTP ${first.status} ${first.text.slice(0, 500)}`);
    op.check(body.data);
    const ref = reference.get(op.name);
    if (ref === undefined) reference.set(op.name, body.data);
    else if (!isDeepStrictEqual(ref, body.data))
      throw new Error(`${label(kind)} answers ${op.name} differently from the first gateway measured`);
    const load = { url, method: 'POST', headers, body: JSON.stringify({ query: op.query }), connections: CONNECTIONS };
    await autocannon({ ...load, duration: WARMUP_S });
    const again = await post(url, op.query, token);
    if (again.text !== first.text) throw new Error(`${label(kind)}: ${op.name}: the answer changed during warm-up`);
    if (SUBGRAPHS_PROFILE_DIR) await subgraphsCall({ cmd: 'profile-start' });
    const [cpu0, subgraphs0] = [(await cpuOf(gateway)).cpuMicros, await cpuOf(subgraphs)];
    const r = await autocannon({ ...load, duration: DURATION_S, expectBody: first.text });
    const [cpu1, subgraphs1] = [(await cpuOf(gateway)).cpuMicros, await cpuOf(subgraphs)];
    if (SUBGRAPHS_PROFILE_DIR) {
      const file = join(
        SUBGRAPHS_PROFILE_DIR,
        `subgraphs-${kind.replace(/\W+/g, '_')}-op${i + 1}-round${round + 1}.cpuprofile`,
      );
      await subgraphsCall({ cmd: 'profile-stop', file });
    }
    const failed = (Object.keys(FAILURES) as (keyof typeof FAILURES)[]).filter((k) => r[k]);
    if (failed.length)
      throw new Error(`${label(kind)}: ${op.name}: ${failed.map((k) => `${r[k]} ${FAILURES[k]}`).join(', ')}`);
    const run: Run = {
      gateway: kind,
      operation: op.name,
      round,
      rps: r.requests.total / (r.duration || DURATION_S),
      p50: r.latency.p50,
      p99: r.latency.p99,
      requests: r.requests.total,
      cpuMsPerRequest: (cpu1 - cpu0) / 1000 / Math.max(1, r.requests.total),
      subgraphsCpuMsPerRequest: (subgraphs1.cpuMicros - subgraphs0.cpuMicros) / 1000 / Math.max(1, r.requests.total),
      fetchesPerRequest: (subgraphs1.requests - subgraphs0.requests) / Math.max(1, r.requests.total),
    };
    console.error(
      `  round ${round + 1} ${label(kind).padEnd(22)} ${op.name.padEnd(46)} ${Math.round(run.rps).toString().padStart(5)} req/s  p50 ${run.p50} ms  p99 ${run.p99} ms  ${run.cpuMsPerRequest.toFixed(2)} ms CPU/req  subgraphs ${run.subgraphsCpuMsPerRequest.toFixed(2)} ms CPU/req, ${run.fetchesPerRequest.toFixed(2)} fetches/req`,
    );
    out.push(run);
  }
  return out;
}

function report(runs: Run[], totalS: number): void {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const kinds = KINDS.filter((k) => runs.some((r) => r.gateway === k));
  const stat = (kind: GatewayKind, op: string) => {
    const rs = runs.filter((r) => r.gateway === kind && r.operation === op);
    return {
      rps: mean(rs.map((r) => r.rps)),
      runs: rs.map((r) => Math.round(r.rps)),
      p50: mean(rs.map((r) => r.p50)),
      p99: Math.max(...rs.map((r) => r.p99)),
      cpu: mean(rs.map((r) => r.cpuMsPerRequest)),
      subgraphsCpu: mean(rs.map((r) => r.subgraphsCpuMsPerRequest)),
      fetches: mean(rs.map((r) => r.fetchesPerRequest)),
    };
  };
  console.log(
    `\ngateway throughput: ${CONNECTIONS} connections (keep-alive), ${DURATION_S} s per run after ${WARMUP_S} s of warm-up, ${ROUNDS} rounds alternating the order; each gateway alone in its process; every answer checked`,
  );
  console.log(`machine: ${machineLine()}\n`);
  const rows: Record<string, unknown>[] = [];
  for (const op of OPERATIONS) {
    console.log(`${op.name} (${op.subgraphs} subgraph${op.subgraphs > 1 ? 's' : ''})`);
    const s = Object.fromEntries(kinds.map((k) => [k, stat(k, op.name)]));
    for (const k of kinds)
      console.log(
        `  ${label(k).padEnd(22)} ${Math.round(s[k].rps).toLocaleString('en-US').padStart(6)} req/s  (runs ${s[k].runs.join(', ')})  p50 ${s[k].p50.toFixed(1)} ms  p99 ${s[k].p99} ms  CPU ${s[k].cpu.toFixed(2)} ms/req  subgraphs CPU ${s[k].subgraphsCpu.toFixed(2)} ms/req  ${s[k].fetches.toFixed(2)} fetches/req`,
      );
    const hives = kinds.filter((k) => k === 'hive' || k === 'hive-router');
    const best = hives.length ? hives.reduce((a, b) => (s[a].rps >= s[b].rps ? a : b)) : undefined;
    const ratios: Record<string, number> = {};
    if (s.ours && s.plain) ratios.oursOverPlain = s.ours.rps / s.plain.rps;
    if (s.ours && best) ratios.oursOverBestHive = s.ours.rps / s[best].rps;
    for (const k of kinds.filter((x) => x.startsWith('tree:')))
      if (s.ours) ratios[`oursOver ${k}`] = s.ours.rps / s[k].rps;
    if (Object.keys(ratios).length)
      console.log(
        `  ratio: ${ratios.oursOverPlain !== undefined ? `ours / plain ${ratios.oursOverPlain.toFixed(2)}x (goal >= 1.5)` : ''}${ratios.oursOverBestHive !== undefined ? `  ours / ${label(best!)} ${ratios.oursOverBestHive.toFixed(2)}x (goal >= 1.0)` : ''}${kinds
          .filter((k) => k.startsWith('tree:'))
          .map(
            (k) =>
              `  ours / ${label(k)} ${(s.ours.rps / s[k].rps).toFixed(2)}x (CPU per request ${(s.ours.cpu / s[k].cpu).toFixed(2)}x)`,
          )
          .join('')}`,
      );
    rows.push({ operation: op.name, subgraphs: op.subgraphs, query: op.query, gateways: s, ratios, best });
  }
  console.log(`\ntotal ${totalS.toFixed(0)} s; results in ${RESULTS}`);
  writeResults(RESULTS, {
    config: { pods: PODS, connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S, rounds: ROUNDS },
    results: rows,
    runs,
    totalSeconds: Math.round(totalS),
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
