// Names, namespaces, kinds and apiVersions that would walk the Kubernetes API path (issue 12, section 2), through the
// gateway as a real project-operator against the sandbox: each is BAD_USER_INPUT naming its argument, and nothing
// reaches the cluster. The sandbox's own HTTP server is watched for every request it gets (discovery included), and
// its per-verb counters must not grow by a single write.
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLErrorLike } from './harness/graphql.js';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

const WS = 'ws-path';
const NS = 'path-a';
const PASSWORD = 'path-attacks-password-1';
const PODS = ['web-1', 'web-2', 'web-3'];
const CM = 'victim-cm';

let stack: TestStack;
let operator: string;
/** Every request the sandbox's HTTP server received while `recording` was on (method and raw URL). */
const received: string[] = [];
let recording = false;

const core = () => stack.cluster.core;
const server = () => stack.cluster.sandbox.server;

/** Requests that are not the informers' watches (which reconnect whenever the server ends them). */
const notWatches = () => received.filter((r) => !/[?&]watch=(true|1)\b/.test(r));
/** Writes in the sandbox's per-verb counters since `since`. */
const writesSince = (since: Record<string, number>) =>
  Object.keys(server().requestCounts(since)).filter((k) => !/^(get|list|watch) /.test(k));

/** Runs `op` with the sandbox's traffic recorded; the requests other than watches it caused, and the writes counted. */
async function observed<T>(op: () => Promise<T>): Promise<{ result: T; requests: string[]; writes: string[] }> {
  const since = server().requestCounts();
  received.length = 0;
  recording = true;
  try {
    const result = await op();
    return { result, requests: notWatches(), writes: writesSince(since) };
  } finally {
    recording = false;
  }
}

const codes = (errors: GraphQLErrorLike[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);
const argumentsOf = (errors: GraphQLErrorLike[] | undefined) => (errors ?? []).map((e) => e.extensions?.argument);

async function podNames(): Promise<string[]> {
  const list = await core().listNamespacedPod({ namespace: NS });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => p.metadata!.name!)
    .sort();
}

async function expectProjectIntact(): Promise<void> {
  const ns = await core().readNamespace({ name: NS });
  expect(ns.metadata?.deletionTimestamp).toBeUndefined();
  expect(ns.status?.phase).toBe('Active');
  expect(await podNames()).toEqual(PODS);
  const cm = await core().readNamespacedConfigMap({ namespace: NS, name: CM });
  expect(cm.metadata?.labels ?? {}).toEqual({ keep: 'me' });
  expect(cm.metadata?.annotations ?? {}).toEqual({});
}

beforeAll(async () => {
  stack = await startTestStack();
  stack.cluster.sandbox.server.server.on('request', (req: IncomingMessage) => {
    if (recording) received.push(`${req.method} ${req.url}`);
  });
  expect((await stack.gql(`mutation { createWorkspace(name: "${WS}") { name } }`)).errors).toBeUndefined();
  // The project as the cluster has it: a namespace labelled with its workspace.
  await core().createNamespace({ body: { metadata: { name: NS, labels: { 'kubesphere.io/workspace': WS } } } });
  for (const name of [...PODS, 'doomed']) {
    await core().createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name, labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
      },
    });
  }
  await core().createNamespacedConfigMap({
    namespace: NS,
    body: { metadata: { name: CM, labels: { keep: 'me' } }, data: { a: 'b' } },
  });
  expect(
    (
      await stack.gql(
        `mutation($p: String!) { createUser(input: { username: "mallet", password: $p }) { username } }`,
        { p: PASSWORD },
      )
    ).errors,
  ).toBeUndefined();
  expect(
    (
      await stack.gql(
        `mutation { addWorkspaceMember(workspace: "${WS}", username: "mallet", role: "workspace-regular") { name } }`,
      )
    ).errors,
  ).toBeUndefined();
  await eventually(
    async () =>
      (await stack.gql<{ project: { name: string } | null }>(`{ project(name: "${NS}") { name } }`)).data?.project
        ?.name === NS,
    20_000,
    'the project in the workloads cache',
  );
  // The project's workspace is its namespace's label; older accounts subgraphs took it as an argument as well.
  let added = await stack.gql(
    `mutation { addProjectMember(project: "${NS}", username: "mallet", role: "project-operator") { name } }`,
  );
  if (added.errors)
    added = await stack.gql(
      `mutation { addProjectMember(project: "${NS}", workspace: "${WS}", username: "mallet", role: "project-operator") { name } }`,
    );
  expect(added.errors).toBeUndefined();
  operator = await stack.login('mallet', PASSWORD);
  await eventually(
    async () =>
      (
        await stack.gqlAs<{ pods: { totalCount: number } }>(
          operator,
          `{ pods(namespace: "${NS}", first: 1) { totalCount } }`,
        )
      ).data?.pods.totalCount ===
      PODS.length + 1,
    20_000,
    'the operator to see the pods',
  );
  // The operator may delete pods of the project: what follows is refused for the value, not for the role.
  const d = await stack.gqlAs(operator, `mutation { deletePod(namespace: "${NS}", name: "doomed") }`);
  expect(d.errors).toBeUndefined();
  await eventually(
    async () => !(await core().listNamespacedPod({ namespace: NS })).items.some((p) => p.metadata?.name === 'doomed'),
    20_000,
    'doomed to be gone',
  );
  await expectProjectIntact();
});

afterAll(async () => {
  await stack?.close();
});

/** Pod names that would address the namespace, the collection, another path or a query string. */
const BAD_POD_NAMES = [
  '..',
  '.',
  '...',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e.',
  '%2e',
  '..%2f..',
  '..%2F',
  '%2e%2e%2f%2e%2e',
  'a/../..',
  '../..',
  '../../..',
  'x/..',
  'web-1/..',
  'web-1/../..',
  './web-1',
  'web-1/.',
  '..\\..',
  '?',
  '..?',
  '?x=1',
  'web-1?dryRun=All',
  'web-1?propagationPolicy=Background',
  '..?x=1',
  'web-1#x',
  '#',
  '..#',
  '.#',
  'Web-1',
  'WEB-1',
  'web_1',
  'web-1 ',
  ' ',
  '',
  'a'.repeat(254),
  `${'a'.repeat(63)}.${'b'.repeat(190)}`,
  'web-1%00',
  'web-1\n',
];

/** Namespaces that would walk the path instead of naming a project. */
const BAD_NAMESPACES = [
  '..',
  '.',
  '%2e%2e',
  `${NS}/..`,
  `${NS}/pods/web-1/..`,
  `../${NS}`,
  `${NS}?x=1`,
  `${NS}#x`,
  'Path-A',
  '',
  'a'.repeat(64),
];

describe('deletePod with a name or namespace that walks the path', () => {
  it.each(BAD_POD_NAMES.map((n) => [JSON.stringify(n), n]))(
    'name %s is BAD_USER_INPUT and reaches no API',
    async (_, name) => {
      const {
        result: r,
        requests,
        writes,
      } = await observed(() =>
        stack.gqlAs(operator, 'mutation($ns: String!, $n: String!) { deletePod(namespace: $ns, name: $n) }', {
          ns: NS,
          n: name,
        }),
      );
      expect(codes(r.errors)).toEqual(['BAD_USER_INPUT']);
      expect(argumentsOf(r.errors)).toEqual(['name']);
      expect(r.data?.deletePod ?? null).toBeNull();
      expect(requests).toEqual([]);
      expect(writes).toEqual([]);
    },
  );

  it.each(BAD_NAMESPACES.map((n) => [JSON.stringify(n), n]))(
    'namespace %s is BAD_USER_INPUT and reaches no API',
    async (_, ns) => {
      const {
        result: r,
        requests,
        writes,
      } = await observed(() =>
        stack.gqlAs(operator, 'mutation($ns: String!, $n: String!) { deletePod(namespace: $ns, name: $n) }', {
          ns,
          n: 'web-1',
        }),
      );
      expect(codes(r.errors)).toEqual(['BAD_USER_INPUT']);
      expect(argumentsOf(r.errors)).toEqual(['namespace']);
      expect(requests).toEqual([]);
      expect(writes).toEqual([]);
    },
  );

  it('left the project, its pods and its ConfigMap as they were', async () => {
    await expectProjectIntact();
  });
});

/** apiVersions that would splice a path (or a query string) into `/apis/<apiVersion>`. */
const BAD_API_VERSIONS = [
  '../api/v1?x=',
  'v1/../../api',
  'apps/v1/namespaces/x',
  `apps/v1/namespaces/${NS}/deployments/x`,
  '../../api/v1',
  '..',
  '.',
  'v1?x=',
  'v1#x',
  '%2e%2e/api/v1',
  'apps/v1/../../../api/v1',
  '../v1',
  'apps/..',
  'v1/..',
  'V1',
  'apps/V1',
  'Apps/v1',
  '/v1',
  'v1/',
  'apps//v1',
  'apps/v1/',
  ' v1',
  'v1 ',
  '',
  `${'a'.repeat(254)}/v1`,
  'apps/1',
  'apps/v1%2f..',
];
/** Kinds that are not identifiers. */
const BAD_KINDS = [
  'ConfigMap/../..',
  'ConfigMap?x=1',
  'ConfigMap#',
  '../ConfigMap',
  'config-map',
  '1ConfigMap',
  '',
  'K'.repeat(64),
];

const GENERIC = {
  setLabels:
    'mutation($v: String!, $k: String!, $ns: String, $n: String!) { setLabels(apiVersion: $v, kind: $k, namespace: $ns, name: $n, labels: { pwned: "yes" }) }',
  setAnnotations:
    'mutation($v: String!, $k: String!, $ns: String, $n: String!) { setAnnotations(apiVersion: $v, kind: $k, namespace: $ns, name: $n, annotations: { pwned: "yes" }) }',
  deleteResource:
    'mutation($v: String!, $k: String!, $ns: String, $n: String!) { deleteResource(apiVersion: $v, kind: $k, namespace: $ns, name: $n) }',
} as const;
type Generic = keyof typeof GENERIC;
const MUTATIONS = Object.keys(GENERIC) as Generic[];

describe('setLabels, setAnnotations and deleteResource with an apiVersion, kind or name that walks the path', () => {
  const cases: [string, Generic, Record<string, string>, string][] = [];
  for (const m of MUTATIONS) {
    for (const v of BAD_API_VERSIONS)
      cases.push([`${m} apiVersion ${JSON.stringify(v)}`, m, { v, k: 'ConfigMap', ns: NS, n: CM }, 'apiVersion']);
    for (const k of BAD_KINDS) cases.push([`${m} kind ${JSON.stringify(k)}`, m, { v: 'v1', k, ns: NS, n: CM }, 'kind']);
    for (const n of ['..', '.', '%2e%2e', `${CM}/..`, `${CM}?x=1`, 'Victim-CM', ''])
      cases.push([`${m} name ${JSON.stringify(n)}`, m, { v: 'v1', k: 'ConfigMap', ns: NS, n }, 'name']);
    for (const ns of ['..', `${NS}/..`, '%2e%2e'])
      cases.push([`${m} namespace ${JSON.stringify(ns)}`, m, { v: 'v1', k: 'ConfigMap', ns, n: CM }, 'namespace']);
    // A namespace named through a path: the collection of namespaces, by a cluster-scoped kind.
    cases.push([`${m} Namespace ${JSON.stringify(`${NS}/..`)}`, m, { v: 'v1', k: 'Namespace', n: `${NS}/..` }, 'name']);
  }

  it.each(cases)('%s is BAD_USER_INPUT and reaches no API, not even discovery', async (_, m, vars, argument) => {
    const { result: r, requests, writes } = await observed(() => stack.gqlAs(operator, GENERIC[m], vars));
    expect(codes(r.errors)).toEqual(['BAD_USER_INPUT']);
    expect(argumentsOf(r.errors)).toEqual([argument]);
    expect(requests).toEqual([]);
    expect(writes).toEqual([]);
  });

  it('left the project, its pods and its ConfigMap as they were', async () => {
    await expectProjectIntact();
  });
});

describe('applyYaml with an apiVersion or name that walks the path', () => {
  const doc = (apiVersion: string, name: string) =>
    `apiVersion: ${JSON.stringify(apiVersion)}\nkind: ConfigMap\nmetadata:\n  name: ${JSON.stringify(name)}\ndata:\n  a: b\n`;
  const cases: [string, string][] = [
    ['apiVersion "../api/v1?x="', doc('../api/v1?x=', 'applied-cm')],
    ['apiVersion "v1/../../api/v1"', doc('v1/../../api/v1', 'applied-cm')],
    ['apiVersion "apps/v1/namespaces/x"', doc('apps/v1/namespaces/x', 'applied-cm')],
    ['apiVersion "%2e%2e/api/v1"', doc('%2e%2e/api/v1', 'applied-cm')],
    ['name ".."', doc('v1', '..')],
    ['name "."', doc('v1', '.')],
    ['name "applied-cm/.."', doc('v1', 'applied-cm/..')],
    ['name "%2e%2e"', doc('v1', '%2e%2e')],
    ['the second document', `${doc('v1', 'applied-cm')}---\n${doc('../api/v1?x=', 'applied-cm-2')}`],
  ];

  it.each(cases)('%s is BAD_USER_INPUT and creates nothing', async (_, yaml) => {
    const { result: r, writes } = await observed(() =>
      stack.gqlAs(operator, 'mutation($ns: String, $y: String!) { applyYaml(namespace: $ns, yaml: $y) { name } }', {
        ns: NS,
        y: yaml,
      }),
    );
    expect(codes(r.errors)).toEqual(['BAD_USER_INPUT']);
    // Every document is checked before any is sent: not even the valid first one of two is written.
    expect(writes).toEqual([]);
    const names = (await core().listNamespacedConfigMap({ namespace: NS })).items.map((c) => c.metadata!.name!);
    expect(names).not.toContain('applied-cm');
    expect(names).not.toContain('applied-cm-2');
  });

  it('left the project, its pods and its ConfigMap as they were', async () => {
    await expectProjectIntact();
    const names = (await core().listNamespacedConfigMap({ namespace: NS })).items
      .map((c) => c.metadata!.name!)
      .filter((n) => n !== 'kube-root-ca.crt');
    expect(names).toEqual([CM]);
  });
});
