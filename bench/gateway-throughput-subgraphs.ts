// The subgraphs of the gateway throughput benchmark (bench/gateway-throughput.bench.ts), in their own process, as
// `npm start` runs them: accounts, workloads and monitoring, with one identity secret (BENCH_IDENTITY_SECRET) that
// every gateway signs with, and accounts' internal token (BENCH_INTERNAL_TOKEN) for our gateway's token checks.
// - workloads on the sandbox given by BENCH_KUBECONFIG (bench/sandbox-server.ts, 10,000 pods);
// - accounts on embedded PGlite in memory (or BENCH_DATABASE_URL), the bootstrap admin's password BENCH_ADMIN_PASSWORD,
//   a workspace for each kubesphere.io/workspace label of the sandbox's namespaces, and BENCH_MEMBERS users who are
//   members of every workspace and of the first 25 projects by name (so that `Project.members` is not empty);
// - monitoring against a stub Prometheus on loopback that answers fixed series: each pod asked for gets a CPU and a
//   memory value derived from its name, so every gateway must give the same numbers.
//
// It prints { ready: true } at once; the IPC command `setup` starts the subgraphs, waits for the workloads caches and
// adds the workspaces and members (answered with Setup: no start-up deadline, a loaded machine may take minutes);
// `cpu` answers the CPU time the process has used so far, so the parent can tell how hard each gateway makes the
// subgraphs work; `profile-start` and `profile-stop` (with a file) take a V8 CPU profile of one run (the parent's
// BENCH_SUBGRAPHS_PROFILE). It exits when the parent disconnects.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { DEV_VIEWER } from '../services/common/authz.js';
import type { Logger } from '../services/common/log.js';
import { WORKSPACE_LABEL } from '../services/common/k8s/labels.js';
import { startAccountsSubgraph } from '../services/accounts/server.js';
import { startMonitoringSubgraph } from '../services/monitoring/server.js';
import { startWorkloadsSubgraph } from '../services/workloads/server.js';

/** The answer to the parent's `setup` command: the subgraphs started, their caches synced, the members added. */
export interface Setup {
  id: number;
  /** GraphQL URLs by subgraph name (as in the supergraph). */
  urls: { accounts: string; workloads: string; monitoring: string };
  /** accounts' base URL (JWKS and /internal/*). */
  accountsBase: string;
  syncMs: number;
  workspaces: number;
  members: number;
}

/** The parent's commands besides `setup`: this process's CPU time, and a CPU profile around one run. */
export type SubgraphsCommand =
  { id: number; cmd: 'cpu' } | { id: number; cmd: 'profile-start' } | { id: number; cmd: 'profile-stop'; file: string };
/** The answer to `cpu`: user + system time so far, µs (as the gateway child answers it). */
export interface CpuReply {
  id: number;
  cpuMicros: number;
  /** GraphQL requests the subgraphs have answered so far (their request counters): fetches the gateways made. */
  requests: number;
}

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const need = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const kc = new k8s.KubeConfig();
kc.loadFromString(need('BENCH_KUBECONFIG'));
const identitySecret = need('BENCH_IDENTITY_SECRET');
const internalToken = need('BENCH_INTERNAL_TOKEN');
const adminPassword = need('BENCH_ADMIN_PASSWORD');
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 3);

// ------------------------------------------------------------------ stub Prometheus

/** A deterministic number in [0, 1) from a string (FNV-1a). */
function unit(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/** The values of a `label="v"` or `label=~"v1|v2"` matcher of a query (the monitoring model's batch matchers). */
function matcherValues(query: string, label: string): string[] {
  const m = new RegExp(`[{,\\s]${label}(=~?)"((?:[^"\\\\]|\\\\.)*)"`).exec(query);
  if (!m) return [];
  const literal = m[2].replace(/\\(.)/g, '$1');
  if (m[1] === '=') return [literal];
  return literal.split(/(?<!\\)\|/).map((v) => v.replace(/\\(.)/g, '$1'));
}

/** Answers instant queries for pods' CPU (cores) and memory (bytes) with fixed values; nothing else has series. */
function stubPrometheus(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const query = form.get('query') ?? url.searchParams.get('query') ?? '';
      const time = Number(form.get('time') ?? url.searchParams.get('time') ?? 1_700_000_000);
      let data: unknown;
      if (url.pathname === '/api/v1/rules') data = { groups: [] };
      else if (url.pathname === '/api/v1/alerts') data = { alerts: [] };
      else {
        const cpu = query.includes('container_cpu_usage_seconds_total');
        const memory = query.includes('container_memory_working_set_bytes');
        const result: unknown[] = [];
        if (cpu || memory)
          for (const namespace of matcherValues(query, 'namespace'))
            for (const pod of matcherValues(query, 'pod')) {
              const u = unit(`${namespace}/${pod}`);
              const v = cpu ? Math.round(u * 2000) / 1000 : Math.round(64 + u * 960) * 1048576;
              result.push({ metric: { namespace, pod }, value: [time, String(v)] });
            }
        data = { resultType: 'vector', result };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data }));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

// ------------------------------------------------------------------ the subgraphs

/** Running subgraphs, for the shutdown. */
const running: { close(): Promise<void> }[] = [];
/** The started subgraphs' base URLs by name, for their request counters. */
const started = new Map<string, string>();

/** The GraphQL requests all subgraphs have answered: the sum of their kubegraph_<name>_requests_total on /metrics. */
async function requestsSoFar(): Promise<number> {
  let total = 0;
  const token = process.env.METRICS_TOKEN;
  for (const [name, base] of started) {
    const res = await fetch(`${base}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const text = await res.text();
    if (!res.ok) throw new Error(`${name} /metrics: HTTP ${res.status} ${text.slice(0, 200)}`);
    for (const line of text.split('\n'))
      if (line.startsWith(`kubegraph_${name}_requests_total{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function setup(): Promise<Omit<Setup, 'id'>> {
  const t0 = performance.now();
  const prometheus = await stubPrometheus();
  const accounts = await startAccountsSubgraph({
    port: 0,
    log: quiet,
    identitySecret,
    internalToken,
    adminPassword,
    kubeConfig: kc,
    ...(process.env.BENCH_DATABASE_URL ? { databaseUrl: process.env.BENCH_DATABASE_URL } : {}),
  });
  const workloads = await startWorkloadsSubgraph({
    port: 0,
    kubeConfig: kc,
    log: quiet,
    identitySecret,
    accounts: { url: accounts.baseUrl, internalToken },
  });
  const monitoring = await startMonitoringSubgraph({
    port: 0,
    log: quiet,
    identitySecret,
    kubeConfig: kc,
    prometheusUrl: prometheus.url,
  });

  /** Waits for the workloads caches, then adds the workspaces and members; answers the parent's `setup` command. */
  running.push(monitoring, workloads, accounts, { close: async () => void prometheus.server.close() });
  for (const [name, s] of Object.entries({ accounts, workloads, monitoring }))
    started.set(name, s.url.replace(/\/graphql$/, ''));
  await workloads.ready();
  const syncMs = performance.now() - t0;
  // Workspaces of the sandbox's namespace labels, and members of each workspace and of the first projects.
  const asAdmin = { viewer: DEV_VIEWER, client: { ip: null, userAgent: 'kubegraph-bench' }, memo: new Map() };
  const namespaces = (await kc.makeApiClient(k8s.CoreV1Api).listNamespace()).items;
  const workspaceOf = new Map(namespaces.map((n) => [n.metadata!.name!, n.metadata?.labels?.[WORKSPACE_LABEL]]));
  const workspaces = [...new Set([...workspaceOf.values()].filter((w): w is string => !!w))].sort();
  const users = Array.from({ length: MEMBERS }, (_, i) => `member-${i + 1}`);
  for (const [i, username] of users.entries())
    await accounts.model.users.createUser(asAdmin, { username, password: `Bench-password-${i}-${internalToken}` });
  for (const w of workspaces) {
    await accounts.model.workspaces.createWorkspace(asAdmin, w, `Benchmark workspace ${w}`);
    for (const u of users) await accounts.model.workspaces.addWorkspaceMember(asAdmin, w, u, 'workspace-viewer');
  }
  // Project members in the first namespaces by name (the projects page asks for 20; more would only slow the start).
  // accounts learns the namespaces from its own watch: retry a project until it knows it.
  const memberProjects = [...workspaceOf]
    .filter(([, w]) => !!w)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .slice(0, 25);
  for (const [ns] of memberProjects) {
    for (const [i, u] of users.entries()) {
      const role = i === 0 ? 'project-admin' : 'project-viewer';
      for (let attempt = 0; ; attempt++) {
        try {
          await accounts.model.projects.addProjectMember(asAdmin, ns, u, role);
          break;
        } catch (e) {
          if (attempt > 300) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
  return {
    urls: { accounts: accounts.url, workloads: workloads.url, monitoring: monitoring.url },
    accountsBase: accounts.baseUrl,
    syncMs,
    workspaces: workspaces.length,
    members: users.length,
  };
}
let setupDone: Promise<Omit<Setup, 'id'>> | undefined;
let profiler: Session | undefined;
async function profile(m: SubgraphsCommand): Promise<object> {
  if (m.cmd === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  } else if (m.cmd === 'profile-stop' && profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    writeFileSync(m.file, JSON.stringify(profile));
  }
  return {};
}
process.on('message', (m: { id: number; cmd: 'setup' } | SubgraphsCommand) => {
  const fail = (e: unknown) => process.send?.({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  if (m.cmd === 'cpu') {
    const u = process.cpuUsage();
    requestsSoFar().then(
      (requests) => process.send?.({ id: m.id, cpuMicros: u.user + u.system, requests } satisfies CpuReply),
      fail,
    );
  } else if (m.cmd === 'setup') (setupDone ??= setup()).then((r) => process.send?.({ ...r, id: m.id }), fail);
  else profile(m).then((r) => process.send?.({ ...r, id: m.id }), fail);
});

let closing: Promise<void> | undefined;
const shutdown = () =>
  (closing ??= (async () => {
    for (const r of running) await r.close();
  })());
process.on('disconnect', () => void shutdown().finally(() => process.exit(0)));
process.once('SIGTERM', () => void shutdown().finally(() => process.exit(0)));

process.stdout.write(JSON.stringify({ ready: true }) + '\n');
