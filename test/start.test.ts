// `npm start` as a developer runs it: a child process (npm → node --import tsx services/start.ts) in its own process group.
// Without KUBECONFIG it starts the embedded sandbox, says so first, starts every subgraph and the gateway, prints
// their URLs, and the gateway answers a login and the demo pods once /readyz says it is ready; Ctrl-C (SIGINT to the
// group) stops everything, the Prometheus it started included. With KUBECONFIG it uses that cluster (a sandbox this
// file starts in-process) and no sandbox of its own, and /readyz stays not ready while that cluster cannot answer.
// The default ports of DESIGN.md are checked on the configuration functions: the tests never listen on fixed ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatewayOptionsFromEnv } from '../gateway/config.js';
import { SUBGRAPHS } from '../gateway/subgraphs.js';
import { accountsOptionsFromEnv } from '../services/accounts/config.js';
import { findOnPath } from '../services/monitoring/local-prometheus.js';
import { monitoringOptionsFromEnv } from '../services/monitoring/config.js';
import { workloadsOptionsFromEnv } from '../services/workloads/config.js';
import { sandboxOptionsFromEnv } from '../services/sandbox/config.js';
import { gql } from './harness/graphql.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { ANY_FREE_PORTS } from './harness/npm-start.js';

const ROOT = resolve(import.meta.dirname, '..');
const ADMIN_PASSWORD = 'start-test-admin-password';
const STARTUP_MS = 120_000;

/** A running `npm start`: its process group, its output so far, and when it exited. */
interface Kubegraph {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Lines start.ts prints itself (`kubegraph: ...`), in order; structured logs and npm's banner left out. */
  lines(): string[];
  exit: Promise<number | null>;
  exited(): boolean;
}

const started: Kubegraph[] = [];
const tmpDirs: string[] = [];

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

/**
 * The environment of a developer's shell: no cluster, no Prometheus URL, no kubegraph variables, and not under a test
 * runner (NODE_ENV=test would also turn off the subgraphs' Apollo Server signal handlers that `npm start` must live with).
 */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k === 'KUBECONFIG' || k === 'NODE_ENV' || k.startsWith('VITEST') || /_(URL|PORT|HOST)$/.test(k)) delete env[k];
    if (
      k.startsWith('SANDBOX_') ||
      k.startsWith('ACCOUNTS_') ||
      k.startsWith('GATEWAY_') ||
      k.startsWith('PROMETHEUS_')
    )
      delete env[k];
  }
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'KUBEGRAPH_IDENTITY_SECRET', 'LOG_LEVEL']) delete env[k];
  return env;
}

function startKubegraph(env: NodeJS.ProcessEnv): Kubegraph {
  // detached: its own process group (npm, sh, tsx, node, prometheus), signalled as a whole like a terminal's Ctrl-C.
  const child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let done = false;
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => ((done = true), r(code))));
  const k: Kubegraph = {
    child,
    stdout: () => out,
    stderr: () => err,
    lines: () => out.split('\n').filter((l) => l.startsWith('kubegraph:')),
    exit,
    exited: () => done,
  };
  started.push(k);
  return k;
}

/** Waits (bounded) for a line of start.ts matching re; fails at once, with the output, if the process exits. */
async function waitForLine(k: Kubegraph, re: RegExp, timeoutMs = STARTUP_MS): Promise<RegExpMatchArray> {
  const dump = () => `stdout:\n${k.stdout().slice(-6000)}\nstderr:\n${k.stderr().slice(-6000)}`;
  const died = k.exit.then((code) => {
    throw new Error(`npm start exited (${code}) before printing ${re}\n${dump()}`);
  });
  const found = eventually(
    () =>
      k
        .lines()
        .map((l) => l.match(re))
        .find(Boolean) ?? undefined,
    timeoutMs,
    `a line ${re}`,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${dump()}`);
  });
  return Promise.race([found, died]);
}

function groupAlive(k: Kubegraph): boolean {
  try {
    process.kill(-k.child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl-C: SIGINT to the whole group; resolves when every process of it is gone (bounded). */
async function interrupt(k: Kubegraph): Promise<void> {
  if (groupAlive(k)) process.kill(-k.child.pid!, 'SIGINT');
  await eventually(() => !groupAlive(k), 20_000, 'every process of npm start to exit');
}

async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((r, j) => s.once('error', j).listen(0, '127.0.0.1', () => r()));
      servers.push(s);
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

async function login(gatewayUrl: string): Promise<string> {
  const r = await gql<{ login: { accessToken: string } }>(
    gatewayUrl,
    'mutation($p: String!) { login(username: "admin", password: $p) { accessToken } }',
    { p: ADMIN_PASSWORD },
    {},
  );
  expect(r.errors).toBeUndefined();
  expect(r.data?.login.accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  return r.data!.login.accessToken;
}

const readyzStatus = async (gatewayUrl: string) => {
  const res = await fetch(gatewayUrl.replace(/\/graphql$/, '/readyz'), { signal: AbortSignal.timeout(5_000) });
  await res.arrayBuffer();
  return res.status;
};

afterAll(async () => {
  // Whatever happened: no process of ours outlives the file.
  for (const k of started) {
    if (!groupAlive(k)) continue;
    process.kill(-k.child.pid!, 'SIGINT');
    await eventually(() => !groupAlive(k), 15_000, 'npm start to stop').catch(() => {
      if (groupAlive(k)) process.kill(-k.child.pid!, 'SIGKILL');
    });
  }
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

describe('configuration defaults: the ports of DESIGN.md', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  it('gateway 4000, accounts 4001, workloads 4002, monitoring 4003, sandbox 6443, and the gateway routes to 4001-4005 by default', () => {
    for (const k of [
      'GATEWAY_PORT',
      'ACCOUNTS_PORT',
      'WORKLOADS_PORT',
      'MONITORING_PORT',
      'SANDBOX_PORT',
      ...Object.values(SUBGRAPHS).map((s) => s.env),
    ])
      delete process.env[k];
    expect(gatewayOptionsFromEnv().port).toBe(4000);
    expect(accountsOptionsFromEnv().port).toBe(4001);
    expect(workloadsOptionsFromEnv().port).toBe(4002);
    expect(monitoringOptionsFromEnv().port).toBe(4003);
    expect(sandboxOptionsFromEnv().port).toBe(6443);
    // Where the gateway looks for each subgraph when no *_URL overrides it.
    expect(Object.fromEntries(Object.entries(SUBGRAPHS).map(([name, s]) => [name, new URL(s.url).port]))).toEqual({
      accounts: '4001',
      workloads: '4002',
      monitoring: '4003',
      logging: '4004',
      apps: '4005',
    });
  });
});

describe('npm start with no cluster configured', () => {
  let k: Kubegraph;
  let ports: { gateway: number; accounts: number; workloads: number; monitoring: number; sandbox: number };
  let dir: string;
  let gatewayUrl: string;
  let token: string;

  beforeAll(async () => {
    expect(findOnPath('prometheus'), 'the prometheus binary (Debian package prometheus) on PATH').toBeDefined();
    const [gateway, accounts, workloads, monitoring, sandbox] = await freePorts(5);
    ports = { gateway, accounts, workloads, monitoring, sandbox };
    dir = tmp('kubegraph-start-');
    k = startKubegraph({
      ...baseEnv(),
      GATEWAY_PORT: String(gateway),
      ACCOUNTS_PORT: String(accounts),
      WORKLOADS_PORT: String(workloads),
      MONITORING_PORT: String(monitoring),
      SANDBOX_PORT: String(sandbox),
      // The logging and apps subgraphs and the Elasticsearch stand-in on free ports, apps' database in the test's folder.
      LOGGING_PORT: '0',
      APPS_PORT: '0',
      ES_PORT: '0',
      ACCOUNTS_DATA_DIR: join(dir, 'accounts'),
      APPS_DATA_DIR: join(dir, 'apps'),
      SANDBOX_KUBECONFIG: join(dir, 'kubeconfig'),
      KUBEGRAPH_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    gatewayUrl = (await waitForLine(k, /^kubegraph: gateway at (\S+)/))[1];
  }, STARTUP_MS + 10_000);

  it('says first that it runs against the embedded sandbox, on SANDBOX_PORT, and where its kubeconfig is', () => {
    // Before anything else it prints (npm's own banner aside).
    const first = k
      .stdout()
      .split('\n')
      .find((l) => l.trim() !== '' && !l.startsWith('> '));
    expect(first).toBe(
      `kubegraph: no cluster configured (KUBECONFIG unset): running against the embedded sandbox cluster at https://127.0.0.1:${ports.sandbox}`,
    );
    expect(k.lines()[1]).toContain(`sandbox kubeconfig at ${join(dir, 'kubeconfig')}`);
    expect(existsSync(join(dir, 'kubeconfig'))).toBe(true);
  });

  it('starts every subgraph of the supergraph (schema/<name>.graphql)', () => {
    const subgraphs = readdirSync(join(ROOT, 'schema'))
      .filter((f) => f.endsWith('.graphql') && f !== 'supergraph.graphql')
      .map((f) => f.replace(/\.graphql$/, ''));
    expect(subgraphs.length).toBeGreaterThanOrEqual(3);
    for (const name of subgraphs)
      expect(
        k.lines().some((l) => l.startsWith(`kubegraph: ${name} subgraph at http://`)),
        `${name} subgraph started`,
      ).toBe(true);
  });

  it('prints the URL of each subgraph and of the gateway, each on the port its variable names', () => {
    const url = (re: RegExp) =>
      k
        .lines()
        .map((l) => l.match(re)?.[1])
        .find(Boolean);
    expect(url(/^kubegraph: accounts subgraph at (\S+)/)).toBe(`http://127.0.0.1:${ports.accounts}/graphql`);
    expect(url(/^kubegraph: workloads subgraph at (\S+)/)).toBe(`http://127.0.0.1:${ports.workloads}/graphql`);
    expect(url(/^kubegraph: monitoring subgraph at (\S+)/)).toBe(`http://127.0.0.1:${ports.monitoring}/graphql`);
    expect(gatewayUrl).toBe(`http://127.0.0.1:${ports.gateway}/graphql`);
    const gatewayLine = k.lines().find((l) => l.startsWith('kubegraph: gateway at'))!;
    expect(gatewayLine).toContain(`readiness: http://127.0.0.1:${ports.gateway}/readyz`);
    expect(
      k
        .lines()
        .some((l) => /^kubegraph: PROMETHEUS_URL unset: started \S*prometheus at http:\/\/127\.0\.0\.1:\d+ /.test(l)),
    ).toBe(true);
  });

  it('/readyz turns 200, and then every subgraph answers through the gateway', async () => {
    await eventually(async () => (await readyzStatus(gatewayUrl)) === 200, 60_000, 'the gateway to be ready');
    // Accounts: a login; the demo's workspaces exist from the first start.
    token = await login(gatewayUrl);
    const auth = { authorization: `Bearer ${token}` };
    const ws = await gql<{ workspaces: { name: string }[] }>(gatewayUrl, '{ workspaces { name } }', {}, auth);
    expect(ws.errors).toBeUndefined();
    expect(ws.data!.workspaces.map((w) => w.name)).toEqual(expect.arrayContaining(['demo-shop', 'data-platform']));
    // Workloads: the demo pods, as many as the sandbox holds (read with the kubeconfig start.ts wrote).
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(join(dir, 'kubeconfig'));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await eventually(
      async () => {
        const r = await gql<{ pods: { totalCount: number } }>(
          gatewayUrl,
          '{ pods(first: 5) { totalCount } }',
          {},
          auth,
        );
        expect(r.errors).toBeUndefined();
        const inCluster = (await core.listPodForAllNamespaces()).items.length;
        expect(r.data!.pods.totalCount).toBeGreaterThan(5);
        return r.data!.pods.totalCount === inCluster;
      },
      30_000,
      'pods(first: 5) { totalCount } to count the demo pods',
    );
    // Monitoring: PromQL on the Prometheus start.ts started, which scrapes the sandbox.
    await eventually(
      async () => {
        const r = await gql<{ promQuery: { series: { labels: Record<string, string> }[] } }>(
          gatewayUrl,
          '{ promQuery(query: "up") { series { labels } } }',
          {},
          auth,
        );
        expect(r.errors).toBeUndefined();
        return r.data!.promQuery.series.some((s) => s.labels.job === 'sandbox');
      },
      60_000,
      'Prometheus to have scraped the sandbox',
    );
  });

  it('Ctrl-C stops every process of it and removes the Prometheus data folder', async () => {
    const promDir = k
      .lines()
      .map((l) => l.match(/\(data in (\S+), removed at exit\)/)?.[1])
      .find(Boolean);
    expect(promDir).toBeDefined();
    tmpDirs.push(promDir!); // removed in afterAll should this test fail
    expect(existsSync(promDir!)).toBe(true);
    await interrupt(k);
    expect(existsSync(promDir!)).toBe(false);
    expect(k.stderr()).not.toMatch(/not stopped after|Error:/);
  });
});

describe('npm start with KUBECONFIG set', () => {
  let cluster: TestSandbox;
  let k: Kubegraph;
  let gatewayUrl: string;
  let auth: Record<string, string>;
  const ns = `start-test-${Date.now().toString(36)}`;

  beforeAll(async () => {
    cluster = await startTestSandbox({ seed: { kind: 'empty', nodes: 2 }, speed: 10 });
    // The cluster refuses every API request until the test lets it answer.
    cluster.sandbox.server.faults.failCode = 503;
    cluster.sandbox.server.faults.failRatio = 1;
    const dir = tmp('kubegraph-start-kc-');
    // Port 0 everywhere: start.ts prints the ports it got.
    k = startKubegraph({
      ...baseEnv(),
      KUBECONFIG: cluster.kubeconfigPath,
      ...ANY_FREE_PORTS,
      ACCOUNTS_DATA_DIR: join(dir, 'accounts'),
      APPS_DATA_DIR: join(dir, 'apps'),
      SANDBOX_KUBECONFIG: join(dir, 'kubeconfig'),
      KUBEGRAPH_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    gatewayUrl = (await waitForLine(k, /^kubegraph: gateway at (\S+)/))[1];
  }, STARTUP_MS + 10_000);

  afterAll(async () => {
    if (k && groupAlive(k)) await interrupt(k).catch(() => {});
    await cluster?.close();
  });

  it('says it uses the cluster of KUBECONFIG, and starts no sandbox', () => {
    expect(k.lines()[0]).toBe(`kubegraph: using the cluster of KUBECONFIG=${cluster.kubeconfigPath}`);
    expect(k.stdout()).not.toMatch(/embedded sandbox|sandbox cluster|sandbox kubeconfig/i);
    expect(k.lines().some((l) => l.startsWith('kubegraph: PROMETHEUS_URL unset and no Prometheus started'))).toBe(true);
    expect(gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:(\d+)\/graphql$/);
    expect(gatewayUrl).not.toMatch(/:0\//);
  });

  it('/readyz is not ready while the cluster cannot answer, and turns ready when it can', async () => {
    // Bounded: readiness is polled for 3 s while the cluster refuses every request; it must never be 200.
    const until = Date.now() + 3_000;
    const seen = new Set<number>();
    while (Date.now() < until) {
      seen.add(await readyzStatus(gatewayUrl));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...seen]).not.toContain(200);
    expect(seen.size).toBeGreaterThan(0);
    cluster.sandbox.server.faults.failRatio = 0;
    await eventually(
      async () => (await readyzStatus(gatewayUrl)) === 200,
      60_000,
      'the gateway to be ready once the cluster answers',
    );
  });

  it('queries through the gateway see that cluster', async () => {
    auth = { authorization: `Bearer ${await login(gatewayUrl)}` };
    await cluster.core.createNamespace({ body: { metadata: { name: ns } } });
    await cluster.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'probe' }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } },
    });
    const found = await eventually(
      async () => {
        const r = await gql<{ projects: { edges: { node: { name: string } }[] } }>(
          gatewayUrl,
          'query($n: String) { projects(filter: { name: $n }) { edges { node { name } } } }',
          { n: ns },
          auth,
        );
        expect(r.errors).toBeUndefined();
        return r.data!.projects.edges.find((e) => e.node.name === ns);
      },
      20_000,
      `project ${ns} through the gateway`,
    );
    expect(found.node.name).toBe(ns);
    await eventually(
      async () => {
        const r = await gql<{ pods: { edges: { node: { name: string } }[] } }>(
          gatewayUrl,
          'query($n: String) { pods(namespace: $n) { edges { node { name } } } }',
          { n: ns },
          auth,
        );
        expect(r.errors).toBeUndefined();
        return r.data!.pods.edges.map((e) => e.node.name).join() === 'probe';
      },
      20_000,
      `pod ${ns}/probe through the gateway`,
    );
    // No demo workspaces: those are made only on the embedded sandbox.
    const ws = await gql<{ workspaces: { name: string }[] }>(gatewayUrl, '{ workspaces { name } }', {}, auth);
    expect(ws.data!.workspaces.map((w) => w.name)).not.toContain('demo-shop');
  });

  it('SIGTERM to the npm process alone (systemd, docker stop) stops every process of it', async () => {
    expect(groupAlive(k)).toBe(true);
    process.kill(k.child.pid!, 'SIGTERM');
    await eventually(() => !groupAlive(k), 20_000, 'every process of npm start to exit after SIGTERM to npm alone');
    expect(k.stderr()).not.toMatch(/not stopped after|Error:/);
  });
});

describe('npm start with a bad variable', () => {
  it.each([
    ['LOG_LEVEL', 'loud'],
    ['WORKLOADS_STALE_AFTER_MS', 'soon'],
    ['ACCOUNTS_URL', 'not a url'],
    ['GATEWAY_TRUST_PROXY', 'sometimes'],
  ])('%s=%s stops it before the sandbox starts, naming the variable, without a stack trace', async (name, value) => {
    const kubeconfig = join(tmp('kubegraph-badvar-'), 'kubeconfig');
    const k = startKubegraph({ ...baseEnv(), SANDBOX_PORT: '0', SANDBOX_KUBECONFIG: kubeconfig, [name]: value });
    expect(await k.exit).toBe(2);
    expect(k.stderr()).toContain(`configuration error: ${name}=`);
    expect(k.stderr()).not.toMatch(/\n\s+at /);
    expect(k.stdout()).not.toMatch(/embedded sandbox/);
    expect(existsSync(kubeconfig)).toBe(false);
  });
});
