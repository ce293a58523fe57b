// The workloads subgraph's memory by cluster size: how much heap and RSS each cached pod costs, and how long the
// subgraph takes to be ready (see bench/README.md).
//
//   npm run bench:memory
//
// For each size (BENCH_MEMORY_PODS, default 0,1000,10000 pods; the first is the baseline) this process starts a
// sandbox seeded with that many running pods (nodes: one per 100 pods, at least 3; namespaces: one per 100 pods;
// controllers off, so nothing changes while it is measured), then the workloads subgraph alone in a child process, in
// each launch mode of BENCH_MEMORY_MODES (default both, each printed in its own table against its own baseline):
//
// - `tsx`: as issue 19 measured it, `node --import tsx services/workloads/main.ts`;
// - `deployed`: as the image runs it, `node <the Dockerfile's ENTRYPOINT flags> dist/services/workloads/main.js` from
//   a folder laid out as the image's /app (dist/ built by scripts/build.mjs, `npm run build`, into a temporary folder
//   with node_modules linked beside it, or BENCH_MEMORY_DIST=<folder holding dist/>, e.g. `.` after `npm run
//   build`), with the Dockerfile's ENV and the
//   launch variables (NODE_OPTIONS, MALLOC_ARENA_MAX) of docker-compose.yml's workloads service, which the chart's
//   workloads Deployment sets the same (test/deploy-chart.test.ts);
// - `image`: as `docker run kubegraph dist/services/workloads/main.js` runs it: the ENTRYPOINT and the Dockerfile's ENV
//   only, without the workloads service's own launch variables;
// - `dist-bare`: the same dist/ under plain `node dist/services/workloads/main.js`, none of those flags or variables
//   (what they change).
//
// Every mode runs under --expose-gc with bench/workloads-memory-child.ts preloaded. It reads the time from the fork to
// the first 200 of /readyz and the child's CPU time then (`CPU s`: user + system of all its threads, steadier than the
// wall time when other work loads the machine), waits BENCH_MEMORY_SETTLE_MS (3 s), then the heap used and RSS after
// two full GCs. Before reading it checks that the subgraph answers every pod of the cluster (the totalCount of `pods`,
// asked with a signed admin identity) and one pod's fields equal to the sandbox's object. BENCH_MEMORY_ROUNDS (1)
// repeats each size; the figures printed are the medians. The growth per pod against the baseline is the figure to
// read.
//
// BENCH_MEMORY_SNAPSHOT_DIR: also writes a heap snapshot of the subgraph at each size there.
import { fork, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { transformSync } from 'esbuild';
import { isDeepStrictEqual } from 'node:util';
import { IDENTITY_HEADER, identityKey, signIdentity } from '../services/common/identity.js';
import { startSandbox, type Sandbox } from '../services/sandbox/sandbox.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import type { MemoryCommand, MemoryReply } from './workloads-memory-child.js';
import { freePort } from '../services/common/free-port.js';
import { readCompose, readDockerfile, ROOT } from '../test/harness/deploy.js';

const RESULTS = resultsPath('workloads-memory');
const SIZES = (process.env.BENCH_MEMORY_PODS ?? '0,1000,10000').split(',').map((s) => Number(s.trim()));
const ROUNDS = Number(process.env.BENCH_MEMORY_ROUNDS ?? 1);
const SETTLE_MS = Number(process.env.BENCH_MEMORY_SETTLE_MS ?? 3000);
const SNAPSHOT_DIR = process.env.BENCH_MEMORY_SNAPSHOT_DIR;
const MODES = (process.env.BENCH_MEMORY_MODES ?? 'tsx,deployed').split(',').map((s) => s.trim()) as Mode[];
const SECRET = 'workloads-memory-bench-secret';
const MB = 1024 * 1024;

if (SIZES.some((n) => !Number.isInteger(n) || n < 0)) throw new Error('BENCH_MEMORY_PODS: comma-separated pod counts');

type Mode = 'tsx' | 'deployed' | 'image' | 'dist-bare';
const MODE_LABELS: Record<Mode, string> = {
  tsx: 'tsx: node --import tsx services/workloads/main.ts (as issue 19 measured)',
  deployed:
    'deployed: the image ENTRYPOINT + dist/services/workloads/main.js, its ENV and the workloads launch variables',
  image: 'image: the image ENTRYPOINT + dist/services/workloads/main.js and its ENV (docker run), no service variables',
  'dist-bare': 'dist-bare: node dist/services/workloads/main.js, no launch flags or variables',
};
for (const m of MODES)
  if (!(m in MODE_LABELS)) throw new Error(`BENCH_MEMORY_MODES: ${m}? (${Object.keys(MODE_LABELS)})`);

/** The variables of how a process is launched (not kubegraph's configuration) that the deployed mode takes over. */
const LAUNCH_VARIABLES = ['NODE_ENV', 'NODE_OPTIONS', 'MALLOC_ARENA_MAX'];

interface Launch {
  /** The child's entry point, relative to `cwd`, and the node flags before it. */
  entry: string;
  execArgv: string[];
  cwd: string;
  env: Record<string, string>;
}

/**
 * A folder laid out as the image's /app for the dist modes: dist/ (`npm run build`'s scripts/build.mjs, as the
 * Dockerfile's build stage) with the checkout's node_modules beside it (linked) and the measuring preload transpiled
 * next to it.
 */
function appFolder(): string {
  if (process.env.BENCH_MEMORY_DIST) return resolve(process.env.BENCH_MEMORY_DIST);
  const app = mkdtempSync(join(tmpdir(), 'kubegraph-bench-memory-app-'));
  console.log(`building dist/ into ${app} (scripts/build.mjs)...`);
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--outdir', join(app, 'dist')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error(`scripts/build.mjs failed (${built.status ?? built.signal})`);
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
  const child = readFileSync(join(import.meta.dirname, 'workloads-memory-child.ts'), 'utf8');
  writeFileSync(
    join(app, 'workloads-memory-child.mjs'),
    transformSync(child, { loader: 'ts', format: 'esm', target: 'node20' }).code,
  );
  return app;
}

function launchOf(mode: Mode, app: string | undefined): Launch {
  const preload = (path: string) => ['--expose-gc', '--import', path];
  if (mode === 'tsx')
    return {
      entry: join(ROOT, 'services/workloads/main.ts'),
      execArgv: [...preload('tsx'), '--import', join(import.meta.dirname, 'workloads-memory-child.ts')],
      cwd: ROOT,
      env: {},
    };
  if (!app) throw new Error('no dist/ built');
  const entry = 'dist/services/workloads/main.js';
  const child = join(app, 'workloads-memory-child.mjs');
  if (mode === 'dist-bare') return { entry, execArgv: preload(child), cwd: app, env: {} };
  // ENTRYPOINT ["node", flags...]: the flags as they are (relative to /app, here `app`), before the measuring preload.
  const [node, ...flags] = readDockerfile().entrypoint;
  if (node !== 'node') throw new Error(`the Dockerfile's ENTRYPOINT runs ${node}, not node`);
  const image = readDockerfile().env;
  const service = (mode === 'deployed' && readCompose().services.workloads?.environment) || {};
  const env: Record<string, string> = {};
  for (const v of LAUNCH_VARIABLES) {
    const value = service[v] ?? image[v];
    if (value !== undefined && value !== null) env[v] = String(value);
  }
  return { entry, execArgv: [...flags, ...preload(child)], cwd: app, env };
}

interface Measure {
  mode: Mode;
  pods: number;
  readyMs: number;
  /** The child's CPU time (user + system) when /readyz first answered 200. */
  readyCpuMs: number;
  heapUsed: number;
  rss: number;
  /** The last round's details: heap committed, outside the heap, by heap space. */
  detail?: Omit<MemoryReply, 'id' | 'error' | 'heapUsed' | 'rss'>;
}

interface PodAnswer {
  pods: { totalCount: number };
  pod: {
    namespace: string;
    name: string;
    uid: string;
    nodeName: string | null;
    ip: string | null;
    labels: unknown;
    containers: { name: string; image: string; imageID: string | null; restartCount: number }[];
    volumes: { name: string; kind: string }[];
    tolerations: { key: string | null; operator: string }[];
  } | null;
}

/**
 * Asks the subgraph (as the gateway would: a signed admin identity) for the number of pods and one pod's fields, and
 * throws unless they are the sandbox's: a subgraph that cached too little would be measured too small.
 */
async function checkAnswers(url: string, sandbox: Sandbox, expected: number): Promise<void> {
  const pods = sandbox.store.list(sandbox.store.type('', 'pods'));
  if (pods.length !== expected) throw new Error(`the sandbox holds ${pods.length} pods, not ${expected}`);
  const sample = pods[Math.floor(pods.length / 2)];
  const query = `query ($ns: String!, $name: String!) {
    pods(first: 1) { totalCount }
    pod(namespace: $ns, name: $name) { namespace name uid nodeName ip labels
      containers { name image imageID restartCount } volumes { name kind } tolerations { key operator } }
  }`;
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [IDENTITY_HEADER]: await signIdentity(identityKey(SECRET), { username: 'admin', platformRole: 'platform-admin' }),
    },
    body: JSON.stringify({
      query,
      variables: { ns: sample?.metadata.namespace ?? 'default', name: sample?.metadata.name ?? 'none' },
    }),
  });
  const body = (await res.json()) as { data?: PodAnswer; errors?: unknown[] };
  if (res.status !== 200 || body.errors || !body.data) throw new Error(`workloads answered ${JSON.stringify(body)}`);
  const { pods: page, pod } = body.data;
  if (page.totalCount !== expected)
    throw new Error(`workloads counts ${page.totalCount} pods, the sandbox ${expected}`);
  if (!sample) return;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the sandbox's pod as JSON
  const spec = sample.spec as any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const status = sample.status as any;
  const want = {
    namespace: sample.metadata.namespace,
    name: sample.metadata.name,
    uid: sample.metadata.uid,
    nodeName: spec.nodeName ?? null,
    ip: status?.podIP ?? null,
    labels: sample.metadata.labels ?? {},
    containers: spec.containers.map((c: { name: string; image: string }) => {
      const st = status?.containerStatuses?.find((x: { name: string }) => x.name === c.name);
      return { name: c.name, image: c.image, imageID: st?.imageID ?? null, restartCount: st?.restartCount ?? 0 };
    }),
    volumes: (spec.volumes ?? []).map((v: { name: string }) => v.name),
    tolerations: (spec.tolerations ?? []).map((t: { key?: string; operator?: string }) => t.key ?? null),
  };
  const got = { ...pod, volumes: pod?.volumes.map((v) => v.name), tolerations: pod?.tolerations.map((t) => t.key) };
  if (!isDeepStrictEqual(got, want))
    throw new Error(
      `pod ${want.namespace}/${want.name}: workloads ${JSON.stringify(got)}, sandbox ${JSON.stringify(want)}`,
    );
}

async function measureOnce(mode: Mode, launch: Launch, pods: number, round: number): Promise<Measure> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-memory-'));
  const nodes = Math.max(3, Math.ceil(pods / 100));
  const sandbox = await startSandbox({
    port: 0,
    kubeconfigPath: join(dir, 'kubeconfig'),
    seed: { kind: 'scale', pods, nodes },
    controllers: false,
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const inherited = { ...process.env };
  for (const v of LAUNCH_VARIABLES) delete inherited[v];
  const child = fork(launch.entry, [], {
    execArgv: launch.execArgv,
    cwd: launch.cwd,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      ...inherited,
      ...launch.env,
      KUBECONFIG: join(dir, 'kubeconfig'),
      WORKLOADS_PORT: String(port),
      WORKLOADS_HOST: '127.0.0.1',
      KUBEGRAPH_IDENTITY_SECRET: SECRET,
      // Nothing listens there: createProject is not called by the benchmark.
      ACCOUNTS_URL: 'http://127.0.0.1:9/graphql',
      LOG_LEVEL: 'warn',
    },
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`workloads exited (${signal ?? code})`))),
  );
  exited.catch(() => undefined);
  const ask = (cmd: Omit<MemoryCommand, 'id'>) =>
    new Promise<MemoryReply>((resolve, reject) => {
      const id = Math.floor(Math.random() * 1e9);
      const onMessage = (m: MemoryReply) => {
        if (m.id !== id) return;
        child.off('message', onMessage);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      };
      child.on('message', onMessage);
      child.send({ ...cmd, id });
    });
  try {
    let readyMs = 0;
    const deadline = Date.now() + 180_000;
    while (!readyMs) {
      if (Date.now() > deadline) throw new Error('workloads not ready after 180 s');
      const status = await Promise.race([
        fetch(`${url}/readyz`).then(
          (r) => r.status,
          () => 0,
        ),
        exited,
      ]);
      if (status === 200) readyMs = performance.now() - t0;
      else await new Promise((r) => setTimeout(r, 50));
    }
    const readyCpuMs = (await ask({ cmd: 'cpu' })).cpuMs;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await checkAnswers(url, sandbox, pods);
    const snapshot = SNAPSHOT_DIR ? join(SNAPSHOT_DIR, `workloads-${mode}-${pods}-${round}.heapsnapshot`) : undefined;
    const mem = await ask(snapshot ? { cmd: 'snapshot', path: snapshot } : { cmd: 'memory' });
    const { id: _id, error: _error, heapUsed, rss, ...detail } = mem;
    return { mode, pods, readyMs, readyCpuMs, heapUsed, rss, detail };
  } finally {
    const gone = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) {
      child.disconnect();
      const timer = setTimeout(() => child.kill(), 15_000);
      await gone;
      clearTimeout(timer);
    }
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const loadBefore = load();
const app = MODES.some((m) => m !== 'tsx') ? appFolder() : undefined;
const launches = Object.fromEntries(MODES.map((m) => [m, launchOf(m, app)])) as Record<Mode, Launch>;
const results: Measure[] = [];
// Sizes outside, modes inside: the modes of one size run minutes apart, under the same load.
for (const pods of SIZES) {
  for (const mode of MODES) {
    const rounds: Measure[] = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await measureOnce(mode, launches[mode], pods, r));
    results.push({
      mode,
      pods,
      readyMs: median(rounds.map((m) => m.readyMs)),
      readyCpuMs: median(rounds.map((m) => m.readyCpuMs)),
      heapUsed: median(rounds.map((m) => m.heapUsed)),
      rss: median(rounds.map((m) => m.rss)),
      detail: rounds[rounds.length - 1].detail,
    });
  }
}

const pad = (s: string, n: number) => s.padStart(n);
console.log(
  `workloads subgraph alone, by cluster size (${machineLine()}; ${ROUNDS} round(s), medians; ` +
    `load average ${loadBefore} before, ${load()} after)`,
);
for (const mode of MODES) {
  const rows = results.filter((m) => m.mode === mode);
  const base = rows[0];
  const { execArgv, env, entry } = launches[mode];
  console.log(`\n${MODE_LABELS[mode]}`);
  console.log(
    `  node ${execArgv.join(' ')} ${entry}${Object.keys(env).length ? `  (${new URLSearchParams(env)})` : ''}`,
  );
  console.log(
    ['pods', 'ready s', 'ready ratio', 'CPU s', 'heap MB', 'RSS MB', 'heap KB/pod', 'RSS KB/pod']
      .map((h, i) => pad(h, i ? 12 : 7))
      .join(''),
  );
  for (const m of rows) {
    const per = (x: number, b: number) =>
      m === base || m.pods === base.pods ? '(baseline)' : ((x - b) / (m.pods - base.pods) / 1024).toFixed(2);
    console.log(
      [
        pad(String(m.pods), 7),
        pad((m.readyMs / 1000).toFixed(2), 12),
        pad(`${(m.readyMs / base.readyMs).toFixed(2)}x`, 12),
        pad((m.readyCpuMs / 1000).toFixed(2), 12),
        pad((m.heapUsed / MB).toFixed(1), 12),
        pad((m.rss / MB).toFixed(1), 12),
        pad(per(m.heapUsed, base.heapUsed), 12),
        pad(per(m.rss, base.rss), 12),
      ].join(''),
    );
  }
  const top = rows[rows.length - 1];
  if (top !== base) {
    const perPod = (top.heapUsed - base.heapUsed) / (top.pods - base.pods) / 1024;
    const met = (ok: boolean) => (ok ? 'met' : 'not met');
    const s = (ms: number) => (ms / 1000).toFixed(1);
    console.log(
      `goals (issue 19), ${mode}: heap per pod ${perPod.toFixed(2)} KB (<= 4: ${met(perPod <= 4)}), ` +
        `RSS at ${top.pods} pods ${(top.rss / MB).toFixed(0)} MB (<= 250: ${met(top.rss <= 250 * MB)}), ` +
        `ready ${s(top.readyMs)} s (<= 3: ${met(top.readyMs <= 3000)}; the 0-pod start took ${s(base.readyMs)} s ` +
        `on this machine now; CPU to ready ${s(top.readyCpuMs)} s at ${top.pods} pods, ${s(base.readyCpuMs)} s at 0)`,
    );
  }
}
writeResults(RESULTS, {
  sizes: SIZES,
  modes: MODES,
  launches,
  rounds: ROUNDS,
  settleMs: SETTLE_MS,
  loadAverage: { before: loadBefore, after: load() },
  results,
});
if (app && !process.env.BENCH_MEMORY_DIST) rmSync(app, { recursive: true, force: true });
