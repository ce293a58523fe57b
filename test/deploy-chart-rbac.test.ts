// The chart's ClusterRole against what kubegraph really calls, and in-cluster mode (issue 18 §3). Every subgraph
// runs as its own process from its real entry point in in-cluster mode: a mount namespace (unshare -m) puts a service
// account token and CA, written to a temporary folder, at /var/run/secrets/kubernetes.io/serviceaccount, and
// KUBERNETES_SERVICE_HOST/PORT name the sandbox on 127.0.0.1; no KUBECONFIG, no ~/.kube. The gateway in front is
// driven through every workloads mutation of the supergraph (the list is read from it, so a new mutation fails here
// until it is driven) and reads that reach the other subgraphs. The sandbox counts each API request by RBAC verb and
// resource (an apply that creates the object as a create too); the rendered ClusterRole (helm template) must grant
// every one of them, and grant nothing beyond: reads only of the resources kubegraph reads, and writes only those it
// made, or the verbs of its generic object mutations (deleteResource, setLabels, setAnnotations, applyYaml, which take
// any kind it serves) on the kinds it serves. A
// Helm release's whole life through the apps subgraph (install, upgrade, rollback, uninstall of a `helm create` chart,
// helm running with the service account's token) is granted by the ClusterRole and the apps subgraph's helm role
// (apps.helmRbac), needs the latter, and uses every grant of its default rules.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SUBGRAPHS } from '../gateway/subgraphs.js';
import { helmIn, renderChart, type K8sObject } from './harness/chart.js';
import { buildChartRepo, serveChartRepo, STANDARD_CHARTS } from './harness/charts.js';
import { ROOT, existingServices } from './harness/deploy.js';
import { eventually, startTestSandbox, TOOLS_BIN, type TestSandbox } from './harness/sandbox.js';
import { freePort } from '../services/common/free-port.js';

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const IDENTITY_SECRET = 'deploy-rbac-identity-secret-0000';
const INTERNAL_TOKEN = 'deploy-rbac-internal-token-00000';
const ADMIN_PASSWORD = 'deploy-rbac-admin-password';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface Proc {
  child: ChildProcess;
  exit: Promise<number | null>;
  output: () => string;
}

let t: TestSandbox;
let dir: string;
let gatewayUrl: string;
let adminToken: string;
const procs = new Map<string, Proc>();

function start(name: string, argv: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const proc = {
    child,
    exit: new Promise<number | null>((r) => child.once('exit', (code) => r(code))),
    output: () => out,
  };
  procs.set(name, proc);
  return proc;
}

async function ready(name: string, url: string): Promise<void> {
  const proc = procs.get(name)!;
  const up = eventually(
    async () => {
      const r = await fetch(url).catch(() => undefined);
      await r?.arrayBuffer();
      return r?.status === 200 || undefined;
    },
    120_000,
    `${name} ready`,
  );
  const exited = proc.exit.then((code) => {
    throw new Error(`${name} exited with ${code}`);
  });
  exited.catch(() => {});
  await Promise.race([up, exited]).catch((e: Error) => {
    throw new Error(`${e.message}\n${proc.output()}`);
  });
}

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(adminToken ? { authorization: `Bearer ${adminToken}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: T; errors?: { message: string }[] };
}

async function ok<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await gql<T>(query, variables);
  expect(r.errors, `${query}: ${JSON.stringify(r.errors)}`).toBeUndefined();
  return r.data!;
}

beforeAll(async () => {
  // unshare needs root (CI runs as root, as here); a machine without it cannot run this file.
  expect(spawnSync('unshare', ['-m', 'true']).status, 'unshare -m (root) is needed').toBe(0);
  t = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20 });
  dir = mkdtempSync(join(tmpdir(), 'kubegraph-incluster-'));
  // The files a pod's service account volume holds.
  const sa = join(dir, 'serviceaccount');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), t.kc.getCurrentUser()!.token!);
  const cluster = t.kc.getCurrentCluster()!;
  writeFileSync(
    join(sa, 'ca.crt'),
    cluster.caData ? Buffer.from(cluster.caData, 'base64') : readFileSync(cluster.caFile!),
  );
  writeFileSync(join(sa, 'namespace'), 'kubegraph');
  const apiPort = new URL(cluster.server).port;

  const subgraphs = existingServices().filter((s) => s !== 'gateway');
  const ports = new Map<string, number>();
  for (const s of [...subgraphs, 'gateway']) ports.set(s, await freePort());
  const url = (s: string) => `http://127.0.0.1:${ports.get(s)}`;
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    LOG_LEVEL: 'warn',
    KUBEGRAPH_IDENTITY_SECRET: IDENTITY_SECRET,
    ACCOUNTS_INTERNAL_TOKEN: INTERNAL_TOKEN,
    ACCOUNTS_URL: `${url('accounts')}/graphql`,
  };
  mkdirSync(base.HOME!);
  // accounts first (workloads and the gateway ask it), then the others.
  for (const s of ['accounts', ...subgraphs.filter((x) => x !== 'accounts')]) {
    const upper = s.toUpperCase();
    const script = [
      'set -e',
      // A private /run (so nothing shows outside this process's mount namespace), the token and CA inside it.
      'mount -t tmpfs tmpfs /run',
      `mkdir -p ${SA_PATH}`,
      `mount --bind "$SA_DIR" ${SA_PATH}`,
      `exec "$NODE_BIN" --import tsx services/${s}/main.ts`,
    ].join('\n');
    start(s, ['unshare', '-m', 'sh', '-c', script], {
      ...base,
      SA_DIR: sa,
      NODE_BIN: process.execPath,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: apiPort,
      [`${upper}_PORT`]: String(ports.get(s)),
      [`${upper}_HOST`]: '127.0.0.1',
      KUBEGRAPH_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ACCOUNTS_DATA_DIR: join(dir, 'accounts-data'),
      // Its own (helm repositories): never the checkout's .data/apps, which npm start and other tests use.
      APPS_DATA_DIR: join(dir, 'apps-data'),
      HELM_BIN: join(TOOLS_BIN, 'helm'),
    });
    await ready(s, `${url(s)}/readyz`);
  }
  const gatewayEnv: NodeJS.ProcessEnv = { ...base, GATEWAY_PORT: String(ports.get('gateway')) };
  for (const [name, { env }] of Object.entries(SUBGRAPHS))
    if (ports.has(name)) gatewayEnv[env] = `${url(name)}/graphql`;
  start('gateway', [process.execPath, '--import', 'tsx', 'gateway/main.ts'], gatewayEnv);
  gatewayUrl = url('gateway');
  await ready('gateway', `${gatewayUrl}/readyz`);
  const login = await ok<{ login: { accessToken: string } }>(
    'mutation($p: String!) { login(username: "admin", password: $p) { accessToken } }',
    { p: ADMIN_PASSWORD },
  );
  adminToken = login.login.accessToken;
}, 600_000);

afterAll(async () => {
  for (const p of procs.values()) {
    p.child.kill('SIGTERM');
    await Promise.race([p.exit, new Promise((r) => setTimeout(r, 10_000))]);
    p.child.kill('SIGKILL');
  }
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('in-cluster mode', () => {
  it("the subgraphs reach the cluster with the service account's token and CA alone", async () => {
    for (const [name, p] of procs) if (name !== 'gateway') expect(p.child.exitCode, name).toBeNull();
    const data = await ok<{ projects: { edges: { node: { name: string } }[] }; nodes: { totalCount: number } }>(
      '{ projects(first: 50) { edges { node { name } } } nodes { totalCount } }',
    );
    expect(data.projects.edges.map((e) => e.node.name)).toEqual(expect.arrayContaining(['shop', 'analytics']));
    expect(data.nodes.totalCount).toBe(3);
    // Nothing else could have told them where the sandbox is: the requests came in, with the token.
    expect(Object.keys(t.sandbox.server.requestCounts())).toEqual(expect.arrayContaining(['list pods', 'watch pods']));
  });
});

/** "patch deployments.apps/scale" → verb, group, resource (with subresource). */
function parseRequest(key: string) {
  const [verb, full] = key.split(' ');
  const [resGroup, sub] = full.split('/');
  const dot = resGroup.indexOf('.');
  const resource = dot < 0 ? resGroup : resGroup.slice(0, dot);
  const group = dot < 0 ? '' : resGroup.slice(dot + 1);
  return { verb, group, resource: sub ? `${resource}/${sub}` : resource };
}

const grants = (rules: Rule[], r: { verb: string; group: string; resource: string }) =>
  rules.some(
    (rule) => rule.apiGroups.includes(r.group) && rule.resources.includes(r.resource) && rule.verbs.includes(r.verb),
  );

describe("the chart's ClusterRole", () => {
  let rules: Rule[];
  const observed = new Set<string>();
  const genericVerbs = new Set<string>();

  let helmRules: Rule[];
  beforeAll(async () => {
    const rendered = await renderChart(helmIn(dir), []);
    const roles = rendered.ofKind<K8sObject & { rules: Rule[] }>('ClusterRole');
    rules = roles.find((r) => r.metadata.name === 'kg-kubegraph')!.rules;
    // Held by the apps subgraph's service account only (test/deploy-chart.test.ts checks the bindings).
    helmRules = roles.find((r) => r.metadata.name === 'kg-kubegraph-helm')!.rules;
  });

  it('has no wildcard and none of escalate, bind, impersonate', () => {
    for (const rule of [...rules, ...helmRules]) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
      for (const v of ['escalate', 'bind', 'impersonate']) expect(rule.verbs).not.toContain(v);
    }
  });

  it('grants every request the subgraphs make through every workloads mutation, and nothing beyond', async () => {
    const since = t.sandbox.server.requestCounts();
    const node = (
      await ok<{ nodes: { edges: { node: { name: string } }[] } }>('{ nodes(first: 1) { edges { node { name } } } }')
    ).nodes.edges[0].node.name;
    const pod = async () =>
      (
        await ok<{ pods: { edges: { node: { name: string } }[] } }>(
          '{ pods(namespace: "shop", first: 50) { edges { node { name } } } }',
        )
      ).pods.edges
        .map((e) => e.node.name)
        .find((n) => !n.startsWith('api-'))!;
    const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rbac-probe\ndata:\n  a: "1"\n';
    // One run of each workloads mutation, in an order that leaves each one something to act on.
    const generic = new Set(['applyYaml', 'setLabels', 'setAnnotations', 'deleteResource']);
    const mutations: [string, () => Promise<unknown>][] = [
      [
        'applyYaml',
        () => ok('mutation($y: String!) { applyYaml(namespace: "shop", yaml: $y) { name } }', { y: configMap }),
      ],
      [
        'setLabels',
        () =>
          ok(
            'mutation { setLabels(apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "rbac-probe", labels: { a: "b" }) }',
          ),
      ],
      [
        'setAnnotations',
        () =>
          ok(
            'mutation { setAnnotations(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api", annotations: { a: "b" }) }',
          ),
      ],
      [
        'deleteResource',
        () =>
          ok('mutation { deleteResource(apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "rbac-probe") }'),
      ],
      [
        'scaleWorkload',
        () => ok('mutation { scaleWorkload(namespace: "shop", kind: DEPLOYMENT, name: "api", replicas: 3) { name } }'),
      ],
      [
        'restartWorkload',
        () => ok('mutation { restartWorkload(namespace: "shop", kind: DEPLOYMENT, name: "api") { name } }'),
      ],
      ['pauseRollout', () => ok('mutation { pauseRollout(namespace: "shop", name: "api") { name } }')],
      ['resumeRollout', () => ok('mutation { resumeRollout(namespace: "shop", name: "api") { name } }')],
      ['rollbackDeployment', () => ok('mutation { rollbackDeployment(namespace: "shop", name: "api") { name } }')],
      [
        'deletePod',
        async () => ok('mutation($n: String!) { deletePod(namespace: "shop", name: $n) }', { n: await pod() }),
      ],
      ['suspendCronJob', () => ok('mutation { suspendCronJob(namespace: "analytics", name: "hourly-etl") { name } }')],
      ['resumeCronJob', () => ok('mutation { resumeCronJob(namespace: "analytics", name: "hourly-etl") { name } }')],
      ['triggerCronJob', () => ok('mutation { triggerCronJob(namespace: "analytics", name: "hourly-etl") { name } }')],
      ['cordonNode', () => ok('mutation($n: String!) { cordonNode(name: $n) { name } }', { n: node })],
      ['uncordonNode', () => ok('mutation($n: String!) { uncordonNode(name: $n) { name } }', { n: node })],
      [
        'createProject',
        async () => {
          await ok('mutation { createWorkspace(name: "rbac-ws") { name } }');
          return ok('mutation { createProject(workspace: "rbac-ws", name: "rbac-project") { name } }');
        },
      ],
      ['deleteProject', () => ok('mutation { deleteProject(name: "rbac-project") }')],
    ];
    // The supergraph's workloads mutations, every one driven above.
    const supergraph = readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8');
    const mutationBlock = /\ntype Mutation[^{]*\{([\s\S]*?)\n\}/.exec(supergraph)![1];
    const workloadsMutations = [...mutationBlock.matchAll(/\n {2}(\w+)\(.*@join__field\(graph: WORKLOADS/g)].map(
      (m) => m[1],
    );
    expect(mutations.map(([name]) => name).sort()).toEqual([...workloadsMutations].sort());

    for (const [name, runIt] of mutations) {
      const before = t.sandbox.server.requestCounts();
      await runIt();
      if (generic.has(name))
        for (const key of Object.keys(t.sandbox.server.requestCounts(before))) {
          const { verb } = parseRequest(key);
          if (!['get', 'list', 'watch'].includes(verb)) genericVerbs.add(verb);
        }
    }
    // applyYaml created rbac-probe: an apply that creates the object is a create request as well as a patch (the API
    // server authorizes both), so the ClusterRole must grant create too.
    expect(genericVerbs.has('create'), 'applyYaml creating an object requests create').toBe(true);
    // Reads that only other subgraphs make: a container log (pods/log), the apps subgraph's releases.
    const p = await pod();
    const log = await gql(`{ pod(namespace: "shop", name: "${p}") { containerLog(tailLines: 5) } }`);
    expect(log.errors).toBeUndefined();

    for (const key of Object.keys({ ...since, ...t.sandbox.server.requestCounts() })) observed.add(key);
    const requests = [...observed].map(parseRequest);
    // Every request made is granted.
    const refused = requests
      .filter((r) => !grants(rules, r))
      .map((r) => `${r.verb} ${r.resource}${r.group ? '.' + r.group : ''}`);
    expect(refused, 'requests the ClusterRole does not grant').toEqual([]);
    expect(genericVerbs.size).toBeGreaterThan(0);

    // Nothing beyond: each granted (verb, resource) was requested, or is a generic mutation's verb on a kind read.
    const read = new Set(
      requests.filter((r) => ['list', 'watch', 'get'].includes(r.verb)).map((r) => `${r.group}/${r.resource}`),
    );
    const made = new Set(requests.map((r) => `${r.verb} ${r.group}/${r.resource}`));
    const unused: string[] = [];
    for (const rule of rules)
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of rule.verbs) {
            const key = `${group}/${resource}`;
            const isRead = ['get', 'list', 'watch'].includes(verb);
            const justified = isRead
              ? read.has(key)
              : made.has(`${verb} ${key}`) || (genericVerbs.has(verb) && read.has(key) && !resource.includes('/'));
            if (!justified) unused.push(`${verb} ${key}`);
          }
    expect(unused, 'granted but never used').toEqual([]);
  }, 300_000);

  it("grants what the apps subgraph's helm does in a release's whole life (install, upgrade, rollback, uninstall)", async () => {
    // A chart `helm create` makes (ServiceAccount, Service, Deployment), as kubegraph's catalog tests install, from
    // a repository on loopback; every operation through the gateway as the admin, helm running in the apps
    // subgraph with the service account's token (in-cluster mode).
    const repo = await buildChartRepo(STANDARD_CHARTS.filter((c) => c.name === 'webapp' && c.version === '1.0.0'));
    const served = await serveChartRepo(repo.dir);
    try {
      await ok('mutation($u: String!) { addHelmRepository(input: { name: "rbac-charts", url: $u }) { name } }', {
        u: served.url,
      });
      const before = t.sandbox.server.requestCounts();
      // Each operation followed over graphql-ws to its end (helmOperation completes after SUCCEEDED or FAILED).
      const ws = createClient({
        url: gatewayUrl.replace(/^http/, 'ws') + '/graphql',
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${adminToken}` },
      });
      const operate = async (mutation: string) => {
        const started = await ok<Record<string, { id: string }>>(mutation);
        const id = Object.values(started)[0].id;
        let last: { state: string; message: string | null } | undefined;
        await new Promise<void>((resolve, reject) =>
          ws.subscribe<{ helmOperation: { state: string; message: string | null } }>(
            { query: 'subscription($id: ID!) { helmOperation(id: $id) { state message } }', variables: { id } },
            {
              next: (r) => (r.errors ? reject(new Error(JSON.stringify(r.errors))) : (last = r.data!.helmOperation)),
              error: reject,
              complete: resolve,
            },
          ),
        );
        expect(last?.state, `${mutation}: ${last?.message}\n${procs.get('apps')!.output().slice(-3000)}`).toBe(
          'SUCCEEDED',
        );
      };
      const chart = 'namespace: "shop", name: "rbac-web", repository: "rbac-charts", chart: "webapp", version: "1.0.0"';
      try {
        await operate(`mutation { installRelease(${chart}) { id } }`);
        await operate(`mutation { upgradeRelease(${chart}, values: "replicaCount: 2") { id } }`);
        await operate('mutation { rollbackRelease(namespace: "shop", name: "rbac-web") { id } }');
        await operate('mutation { uninstallRelease(namespace: "shop", name: "rbac-web") { id } }');
      } finally {
        await ws.dispose();
      }
      const requests = Object.keys(t.sandbox.server.requestCounts(before)).map(parseRequest);
      const name = (r: { verb: string; group: string; resource: string }) =>
        `${r.verb} ${r.resource}${r.group ? '.' + r.group : ''}`;
      // Every request is granted to the apps subgraph (the ClusterRole and helm's), and helm's role was needed: the
      // ClusterRole alone refuses some of them (writing release records, creating the chart's objects).
      expect(requests.filter((r) => !grants(rules, r) && !grants(helmRules, r)).map(name)).toEqual([]);
      expect(requests.filter((r) => !grants(rules, r)).length).toBeGreaterThan(0);
      // Nothing beyond: every (verb, resource) helm's role grants was requested in this life.
      const made = new Set(requests.map(name));
      const unused: string[] = [];
      for (const rule of helmRules)
        for (const group of rule.apiGroups)
          for (const resource of rule.resources)
            for (const verb of rule.verbs)
              // An apply (PATCH) that creates an object is counted as the create the API server authorizes too.
              if (!made.has(name({ verb, group, resource }))) unused.push(name({ verb, group, resource }));
      expect(unused, 'granted to helm but never used').toEqual([]);
    } finally {
      await served.close();
      repo.cleanup();
    }
  }, 400_000);
});
