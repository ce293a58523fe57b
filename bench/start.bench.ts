// `npm run bench:start`: from `npm start` to the first federated answer (issue 19 §4). Runs `npm start` as a developer
// does (a child process group: npm → node --import tsx services/start.ts, no cluster configured, so on the embedded
// sandbox), BENCH_START_RUNS times with a fresh data folder and as many times again on the data the fresh start left
// (a restart), and measures the time until both
//   - `login` of the bootstrap admin answers with an access token (the password start.ts prints on the first start of
//     a database; reused on the restart), and
//   - a query spanning workloads and accounts answers completely: every project (namespace) with its workspace (name
//     and description, from accounts) and its first pods (from workloads), checked against the sandbox itself.
// Each run gets its own temporary folder for every file npm start writes (ACCOUNTS_DATA_DIR, APPS_DATA_DIR,
// SANDBOX_KUBECONFIG) and port 0 or a free port for every listener, so it collides neither with a developer's
// `npm start` nor with tests running on the machine. The baseline, measured in the same run alternating with the
// starts, is the floor any `npm start` pays: npm itself starting node on an empty module. With
// BENCH_START_BASELINE_ROOT=<another checkout> (an earlier commit, `git archive` + its node_modules linked), that
// checkout's `npm start` is measured the same way, alternating, and each row gives this checkout's time / its.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { machineLine, resultsPath, writeResults } from './results.js';
import { freePort } from '../services/common/free-port.js';
import { ANY_FREE_PORTS } from '../test/harness/npm-start.js';

const ROOT = resolve(import.meta.dirname, '..');
/** Optional: another checkout (an earlier commit, its node_modules linked) whose `npm start` is measured alternately. */
const BASELINE_ROOT = process.env.BENCH_START_BASELINE_ROOT;
const RUNS = Number(process.env.BENCH_START_RUNS ?? 3);
const TIMEOUT_MS = Number(process.env.BENCH_START_TIMEOUT_MS ?? 300_000);
const POLL_MS = 20;
const GOAL_FRESH_MS = 3_000;
const GOAL_RESTART_MS = 2_000;

const QUERY = `{ projects(first: 100) { totalCount edges { node { name workspace { name description }
  pods(first: 5) { totalCount edges { node { name status } } } } } } }`;

interface ProjectsAnswer {
  projects: {
    totalCount: number;
    edges: {
      node: {
        name: string;
        workspace: { name: string; description: string | null } | null;
        pods: { totalCount: number; edges: { node: { name: string; status: string } }[] };
      };
    }[];
  };
}

interface Run {
  kind: 'fresh' | 'restart';
  /** This checkout, or the baseline checkout. */
  of: 'this' | 'baseline';
  /** From spawning `npm start` until login answered / the projects query answered completely. */
  loginMs: number;
  queryMs: number;
  answerMs: number;
  /** CPU time (user + system) of the node process of npm start when the answer came. */
  cpuMs: number;
  /** start.ts's own lines with their time since spawn, for where the time went. */
  lines: { ms: number; line: string }[];
}

/** The environment of a developer's shell with none of kubegraph's variables (as test/start.test.ts does). */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const prefixes = ['SANDBOX_', 'ACCOUNTS_', 'GATEWAY_', 'PROMETHEUS_', 'APPS_', 'LOGGING_', 'ELASTICSEARCH_', 'ES_'];
  for (const k of Object.keys(env)) {
    if (k === 'KUBECONFIG' || k === 'NODE_ENV' || k.startsWith('VITEST') || /_(URL|PORT|HOST)$/.test(k)) delete env[k];
    if (prefixes.some((p) => k.startsWith(p))) delete env[k];
  }
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'KUBEGRAPH_IDENTITY_SECRET', 'KUBEGRAPH_ADMIN_PASSWORD', 'LOG_LEVEL'])
    delete env[k];
  return env;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process in ms (Linux /proc; 0 elsewhere). */
function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** The node process npm's `exec node ...` became: npm's child (sh execs node), found in /proc. */
function nodePidUnder(npmPid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${npmPid}/task/${npmPid}/children`, 'utf8').trim().split(/\s+/);
    return children.map(Number).find((p) => p > 0);
  } catch {
    return undefined;
  }
}

interface Started {
  child: ChildProcess;
  stdout(): string;
  exited(): boolean;
}

function spawnNpm(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Started {
  const child = spawn('npm', args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let done = false;
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.once('exit', () => (done = true));
  return { child, stdout: () => out, exited: () => done };
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl-C to the whole group, as a terminal does; SIGKILL after 20 s. */
async function stopGroup(s: Started): Promise<void> {
  const pid = s.child.pid!;
  if (!groupAlive(pid)) return;
  process.kill(-pid, 'SIGINT');
  const until = Date.now() + 20_000;
  while (groupAlive(pid) && Date.now() < until) await sleep(50);
  if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
}

async function post<T>(url: string, query: string, variables: Record<string, unknown>, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'apollo-require-preflight': 'true',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  return (await res.json()) as { data?: T | null; errors?: { message: string }[] };
}

/**
 * Whether the answer is complete and correct against the sandbox: the same namespaces, each project's workspace the
 * one its label names (with a description: the demo's workspaces have one), and each project's pod count and pod
 * names those of the cluster. Returns the reason when it is not.
 */
async function checkAnswer(answer: ProjectsAnswer, kubeconfigPath: string): Promise<string | undefined> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const [namespaces, pods] = await Promise.all([core.listNamespace(), core.listPodForAllNamespaces()]);
  const projects = answer.projects.edges.map((e) => e.node);
  const names = projects.map((p) => p.name).sort();
  const expected = namespaces.items.map((n) => n.metadata!.name!).sort();
  if (names.join() !== expected.join()) return `projects ${names.join()} are not the namespaces ${expected.join()}`;
  let withWorkspace = 0;
  let withPods = 0;
  for (const p of projects) {
    const label = namespaces.items.find((n) => n.metadata!.name === p.name)!.metadata!.labels?.[
      'kubesphere.io/workspace'
    ];
    if ((p.workspace?.name ?? undefined) !== label)
      return `project ${p.name}: workspace ${p.workspace?.name}, label ${label}`;
    if (label) {
      if (!p.workspace?.description) return `project ${p.name}: workspace ${label} without its description`;
      withWorkspace++;
    }
    const inNs = pods.items.filter((x) => x.metadata!.namespace === p.name).map((x) => x.metadata!.name!);
    if (p.pods.totalCount !== inNs.length)
      return `project ${p.name}: ${p.pods.totalCount} pods, cluster ${inNs.length}`;
    const shown = p.pods.edges.map((e) => e.node.name);
    if (shown.length !== Math.min(5, inNs.length) || shown.some((n) => !inNs.includes(n)))
      return `project ${p.name}: pods ${shown.join()} are not among ${inNs.join()}`;
    if (shown.length) withPods++;
  }
  if (withWorkspace === 0 || withPods === 0) return 'no project with a workspace or no project with pods';
  return undefined;
}

interface DataDir {
  dir: string;
  gatewayPort: number;
  password?: string;
}

async function startOnce(kind: Run['kind'], data: DataDir, of: Run['of'] = 'this'): Promise<Run> {
  const env = {
    ...baseEnv(),
    ...ANY_FREE_PORTS,
    GATEWAY_PORT: String(data.gatewayPort),
    ACCOUNTS_DATA_DIR: join(data.dir, 'accounts'),
    APPS_DATA_DIR: join(data.dir, 'apps'),
    SANDBOX_KUBECONFIG: join(data.dir, 'sandbox', 'kubeconfig'),
  };
  const url = `http://127.0.0.1:${data.gatewayPort}/graphql`;
  const t0 = performance.now();
  const s = spawnNpm(['start'], env, of === 'baseline' ? BASELINE_ROOT : ROOT);
  const lineTimes: { ms: number; line: string }[] = [];
  let seen = 0;
  const collectLines = () => {
    const lines = s.stdout().split('\n');
    for (; seen < lines.length - 1; seen++) lineTimes.push({ ms: performance.now() - t0, line: lines[seen]! });
  };
  const deadline = t0 + TIMEOUT_MS;
  const fail = (what: string) => new Error(`${kind} start: ${what}\n--- output ---\n${s.stdout().slice(-8000)}`);
  let nodePid: number | undefined;
  try {
    // The bootstrap flow: on a fresh database start.ts prints the generated password once.
    let token: string | undefined;
    let loginMs = 0;
    while (!token) {
      collectLines();
      nodePid ??= nodePidUnder(s.child.pid!);
      if (s.exited()) throw fail('npm start exited');
      if (performance.now() > deadline) throw fail('no login answer in time');
      data.password ??= s.stdout().match(/bootstrap admin created: username admin, password (\S+)/)?.[1];
      if (data.password) {
        const r = await post<{ login: { accessToken: string } }>(
          url,
          'mutation($p: String!) { login(username: "admin", password: $p) { accessToken } }',
          { p: data.password },
        ).catch(() => undefined);
        if (r?.data?.login?.accessToken) {
          token = r.data.login.accessToken;
          loginMs = performance.now() - t0;
          break;
        }
      }
      await sleep(POLL_MS);
    }
    let queryMs = 0;
    let lastReason = '';
    for (;;) {
      collectLines();
      if (s.exited()) throw fail('npm start exited');
      if (performance.now() > deadline) throw fail(`no complete answer in time (last: ${lastReason})`);
      const r = await post<ProjectsAnswer>(url, QUERY, {}, token).catch((e: Error) => ({
        errors: [{ message: e.message }],
        data: undefined,
      }));
      const at = performance.now() - t0;
      if (r.errors?.length || !r.data) lastReason = JSON.stringify(r.errors).slice(0, 300);
      else {
        const reason = await checkAnswer(r.data, env.SANDBOX_KUBECONFIG);
        if (!reason) {
          queryMs = at;
          break;
        }
        lastReason = reason;
      }
      await sleep(POLL_MS);
    }
    const cpuMs = nodePid ? cpuMsOf(nodePid) : 0;
    collectLines();
    return { kind, of, loginMs, queryMs, answerMs: Math.max(loginMs, queryMs), cpuMs, lines: lineTimes };
  } finally {
    // A developer's earlier `npm start` ran long enough to leave a spare database folder for the next fresh one
    // (pglite-template.ts; made 5 s after a start): this one lives on until it has, or the next fresh run would
    // measure a start no developer sees (a 40 MB copy on its path). Not part of the time measured.
    if (kind === 'fresh' && of === 'this') await sparesMade();
    await stopGroup(s);
  }
}

/** Until every migrated PGlite template has its spare beside it (at most 30 s). */
async function sparesMade(): Promise<void> {
  const cache = join(ROOT, 'node_modules/.cache/kubegraph');
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const names = readdirSync(cache);
    const templates = names.filter((n) => /^pglite-.*-migrated-[0-9a-f]+$/.test(n));
    if (templates.every((t) => names.includes(`${t}.spare`))) return;
    await sleep(100);
  }
}

/** The floor: npm running node on an empty module (what any `npm start` costs before our code). */
async function floorOnce(dir: string): Promise<number> {
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, 'export {};\n');
  const t0 = performance.now();
  const s = spawnNpm(['exec', '--offline', '--', 'node', empty], baseEnv());
  await new Promise((r) => s.child.once('exit', r));
  return performance.now() - t0;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  console.log(`start benchmark: ${RUNS} fresh starts and ${RUNS} restarts of \`npm start\` (${machineLine()})`);
  const runs: Run[] = [];
  const floors: number[] = [];
  const dirs: string[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const of of BASELINE_ROOT ? (['baseline', 'this'] as const) : (['this'] as const)) {
        const dir = mkdtempSync(join(tmpdir(), 'kubegraph-bench-start-'));
        dirs.push(dir);
        const data: DataDir = { dir, gatewayPort: await freePort() };
        if (of === 'this') floors.push(await floorOnce(dir));
        for (const kind of ['fresh', 'restart'] as const) {
          const run = await startOnce(kind, data, of);
          runs.push(run);
          console.log(
            `  ${of.padEnd(8)} ${kind.padEnd(7)} login ${fmt(run.loginMs)}, projects+workspace+pods ${fmt(run.queryMs)}, answer ${fmt(run.answerMs)} (node CPU ${fmt(run.cpuMs)})`,
          );
          if (process.env.BENCH_START_LINES)
            for (const l of run.lines) console.log(`      ${fmt(l.ms).padStart(8)}  ${l.line.slice(0, 160)}`);
        }
      }
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  const floor = median(floors);
  const rowOf = (of: Run['of'], kind: Run['kind']) => {
    const these = runs.filter((r) => r.kind === kind && r.of === of);
    const answer = median(these.map((r) => r.answerMs));
    const goal = kind === 'fresh' ? GOAL_FRESH_MS : GOAL_RESTART_MS;
    return {
      of,
      kind,
      each: these.map((r) => Math.round(r.answerMs)),
      login: median(these.map((r) => r.loginMs)),
      answer,
      cpu: median(these.map((r) => r.cpuMs)),
      goal,
      met: answer <= goal,
    };
  };
  const rows = (BASELINE_ROOT ? (['baseline', 'this'] as const) : (['this'] as const)).flatMap((of) =>
    (['fresh', 'restart'] as const).map((kind) => rowOf(of, kind)),
  );
  console.log('');
  console.log(
    `floor (npm exec node, an empty module): ${fmt(floor)}${BASELINE_ROOT ? `; baseline: npm start of ${BASELINE_ROOT}` : ''}`,
  );
  console.log(
    'start                        each answer (s)      median login  median answer  node CPU  answer/floor  vs baseline  goal',
  );
  for (const r of rows) {
    const base = rows.find((b) => b.of === 'baseline' && b.kind === r.kind);
    console.log(
      `${`npm start, ${r.of === 'baseline' ? 'baseline ' : ''}${r.kind}`.padEnd(29)}${r.each
        .map((x) => (x / 1000).toFixed(2))
        .join(' ')
        .padEnd(
          21,
        )}${fmt(r.login).padStart(12)}${fmt(r.answer).padStart(15)}${fmt(r.cpu).padStart(10)}${`${(r.answer / floor).toFixed(1)}x`.padStart(14)}${(base && r.of === 'this' ? `${(r.answer / base.answer).toFixed(2)}x` : '').padStart(13)}  ≤ ${fmt(r.goal)} ${r.met ? 'met' : 'NOT met'}`,
    );
  }
  writeResults(resultsPath('start'), {
    runs: runs.map(({ lines: _lines, ...r }) => r),
    floorMs: floors,
    rows,
  });
}

await main();
