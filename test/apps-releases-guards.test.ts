// What the apps subgraph refuses before helm changes anything (issue 16 §2, §3), through the gateway: bad input (each a
// clear error, nothing installed), a second operation on a release while one runs (CONFLICT), charts whose rendered
// objects (hooks included) go beyond a project operator (FORBIDDEN, naming them), and who may read and follow what.
// The charts are made with the real helm (the standard repository of test/harness/charts.ts, plus hostile ones).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChartRepo, helm, serveChartRepo, type BuiltChartRepo, type ChartRepoServer } from './harness/charts.js';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

let stack: TestStack;
let repo: BuiltChartRepo;
let served: ChartRepoServer;
const tokens: Record<'operator' | 'viewer' | 'outsider' | 'padmin', string> = {
  operator: '',
  viewer: '',
  outsider: '',
  padmin: '',
};
const clients: Client[] = [];
const NS = 'shop';
const PASSWORD = 'apps-password-1';

/** Templates of the hostile charts, added to what `helm create` makes. */
const HOSTILE: Record<string, Record<string, string>> = {
  clusterwide: {
    'clusterrole.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-reader
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get"]
`,
  },
  elsewhere: {
    'configmap.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-planted
  namespace: analytics
data:
  a: b
`,
  },
  hooked: {
    'hook.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-admin
  annotations:
    "helm.sh/hook": pre-install
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: default
    namespace: {{ .Release.Namespace }}
`,
  },
  // A Role within a project admin's rights and a binding to it; and a Role that would let its holders escalate.
  roled: {
    'role.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .Release.Name }}-pods
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get", "list", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .Release.Name }}-pods
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .Release.Name }}-pods
subjects:
  - kind: ServiceAccount
    name: default
    namespace: {{ .Release.Namespace }}
`,
  },
  escalating: {
    'role.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .Release.Name }}-everything
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["roles"]
    verbs: ["escalate", "bind"]
`,
  },
  secretive: {
    'secret.yaml': `apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-credentials
stringData:
  password: s3cret-value
`,
  },
};

beforeAll(async () => {
  [stack, repo] = await Promise.all([startTestStack(), buildChartRepo()]);
  // The hostile charts join the standard repository (helm create + a template, helm package, helm repo index).
  for (const [name, templates] of Object.entries(HOSTILE)) {
    const src = join(repo.dir, '..', 'hostile', name);
    mkdirSync(join(repo.dir, '..', 'hostile'), { recursive: true });
    await helm(['create', src]);
    for (const [file, text] of Object.entries(templates)) writeFileSync(join(src, 'templates', file), text);
    await helm(['package', src, '-d', repo.dir]);
  }
  await helm(['repo', 'index', repo.dir]);
  served = await serveChartRepo(repo.dir);
  const added = await stack.gql(
    'mutation($u: String!) { addHelmRepository(input: { name: "charts", url: $u }) { name } }',
    {
      u: served.url,
    },
  );
  expect(added.errors).toBeUndefined();
  expect((await stack.gql('mutation { createWorkspace(name: "demo-shop") { name } }')).errors).toBeUndefined();
  for (const [who, role] of [
    ['operator', 'project-operator'],
    ['viewer', 'project-viewer'],
    ['padmin', 'project-admin'],
    ['outsider', undefined],
  ] as const) {
    const steps = [`mutation($p: String!) { createUser(input: { username: "${who}", password: $p }) { username } }`];
    if (role)
      steps.push(
        `mutation { addWorkspaceMember(workspace: "demo-shop", username: "${who}", role: "workspace-regular") { name } }`,
        `mutation { addProjectMember(project: "shop", username: "${who}", role: "${role}") { name } }`,
      );
    for (const m of steps) expect((await stack.gql(m, { p: PASSWORD })).errors).toBeUndefined();
    tokens[who] = await stack.login(who, PASSWORD);
  }
}, 120_000);
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await served?.close();
  repo?.cleanup();
  await stack?.close();
});

const as = <T = Record<string, unknown>>(
  who: keyof typeof tokens | 'admin',
  query: string,
  variables: Record<string, unknown> = {},
) => (who === 'admin' ? stack.gql<T>(query, variables) : stack.gqlAs<T>(tokens[who], query, variables));

function wsClient(who: keyof typeof tokens | 'admin'): Client {
  const c = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${who === 'admin' ? stack.adminToken : tokens[who]}` },
  });
  clients.push(c);
  return c;
}

/** Follows an operation to its end as `who`; the last state, or the error the subscription got. */
async function finished(who: keyof typeof tokens | 'admin', id: string): Promise<{ state?: string; error?: string }> {
  const client = wsClient(who);
  let stop = () => {};
  const out = await new Promise<{ state?: string; error?: string }>((resolve) => {
    stop = client.subscribe<{ helmOperation: { state: string } }>(
      { query: 'subscription($id: ID!) { helmOperation(id: $id) { state } }', variables: { id } },
      {
        next: (r) => {
          if (r.errors) resolve({ error: String(r.errors[0].extensions?.code) });
          else if (r.data!.helmOperation.state !== 'RUNNING') resolve({ state: r.data!.helmOperation.state });
        },
        error: (e) => resolve({ error: JSON.stringify(e) }),
        complete: () => {},
      },
    );
  });
  stop();
  return out;
}

const INSTALL = `mutation($name: String!, $chart: String!, $version: String, $values: String) {
  installRelease(namespace: "shop", name: $name, repository: "charts", chart: $chart, version: $version, values: $values) { id state }
}`;
type Install = { installRelease: { id: string; state: string } | null };

/** Helm's storage Secrets of a release in shop (none: helm never stored it). */
const storedRevisions = async (name: string) =>
  (await stack.cluster.core.listNamespacedSecret({ namespace: NS, labelSelector: `owner=helm,name=${name}` })).items
    .length;

describe('bad input: a clear error, and nothing installed', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['a release name that is not DNS-1123', { name: 'Bad_Name', chart: 'webapp' }, 'BAD_USER_INPUT', /release name/],
    ['a release name over 53 characters', { name: 'a'.repeat(54), chart: 'webapp' }, 'BAD_USER_INPUT', /53/],
    ['a version that is not semver', { name: 'v1', chart: 'webapp', version: 'latest' }, 'BAD_USER_INPUT', /semantic/],
    ['a version that does not exist', { name: 'v2', chart: 'webapp', version: '9.9.9' }, 'NOT_FOUND', /9\.9\.9/],
    ['a chart that does not exist', { name: 'v3', chart: 'nope' }, 'NOT_FOUND', /nope/],
    ['values that are not YAML', { name: 'v4', chart: 'webapp', values: 'replicaCount: [1' }, 'BAD_USER_INPUT', /YAML/],
    ['values that are not a mapping', { name: 'v5', chart: 'webapp', values: '- 1\n- 2' }, 'BAD_USER_INPUT', /mapping/],
    [
      "values breaking the chart's values.schema.json",
      { name: 'v6', chart: 'webapp', version: '0.2.0', values: 'replicaCount: many' },
      'BAD_USER_INPUT',
      /schema/,
    ],
  ];
  for (const [what, variables, code, message] of cases) {
    it(what, async () => {
      const r = await as<Install>('operator', INSTALL, variables);
      expect(r.errors?.[0]?.extensions?.code).toBe(code);
      expect(r.errors?.[0]?.message).toMatch(message);
      if (typeof variables.name === 'string' && /^[a-z0-9-]{1,53}$/.test(variables.name))
        expect(await storedRevisions(variables.name)).toBe(0);
    });
  }

  it('the values a render refused never reach the cluster either', async () => {
    expect(JSON.parse(await stack.cluster.helm(['list', '-n', NS, '-o', 'json']))).toEqual([]);
  });
});

describe('one operation per release at a time', () => {
  it('answers CONFLICT to a second operation on a release while the first runs', async () => {
    const variables = { name: 'twice', chart: 'webapp', version: '0.1.0' };
    const [a, b] = await Promise.all([
      as<Install>('operator', INSTALL, variables),
      as<Install>('operator', INSTALL, variables),
    ]);
    const codes = [a, b].map((r) => r.errors?.[0]?.extensions?.code ?? r.data?.installRelease?.state);
    expect(codes.sort()).toEqual(['CONFLICT', 'RUNNING']);
    const started = (a.data?.installRelease ?? b.data?.installRelease)!;
    // While it runs, an upgrade or an uninstall of the same release is refused too.
    const upgrade = await as(
      'operator',
      'mutation { upgradeRelease(namespace: "shop", name: "twice", repository: "charts", chart: "webapp") { id } }',
    );
    expect(upgrade.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await finished('operator', started.id)).toEqual({ state: 'SUCCEEDED' });
    expect(await storedRevisions('twice')).toBe(1);
    // Once it ended, the release takes operations again.
    const uninstall = await as<{ uninstallRelease: { id: string } }>(
      'operator',
      'mutation { uninstallRelease(namespace: "shop", name: "twice") { id } }',
    );
    expect(uninstall.errors).toBeUndefined();
    expect(await finished('operator', uninstall.data!.uninstallRelease.id)).toEqual({ state: 'SUCCEEDED' });
  });
});

describe('charts that would apply more than the caller may', () => {
  const refused: [string, string, RegExp][] = [
    ['a ClusterRole', 'clusterwide', /ClusterRole evil-reader \(a cluster-scoped object/],
    [
      'an object in another namespace',
      'elsewhere',
      /ConfigMap analytics\/evil-planted \(an object in namespace analytics/,
    ],
    ['a hook binding cluster-admin', 'hooked', /ClusterRoleBinding evil-admin/],
  ];
  for (const [what, chart, message] of refused) {
    it(`refuses ${what} for a project operator, naming it, before helm touches the cluster`, async () => {
      const r = await as<Install>('operator', INSTALL, { name: 'evil', chart });
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(r.errors?.[0]?.message).toMatch(message);
      expect(r.errors?.[0]?.extensions?.objects).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: expect.stringMatching(/^evil-/) })]),
      );
      expect(await storedRevisions('evil')).toBe(0);
      expect(await stack.cluster.kubectl(['get', 'clusterroles,clusterrolebindings', '-o', 'name'])).not.toMatch(
        /evil-/,
      );
      expect(await stack.cluster.kubectl(['get', 'configmaps', '-n', 'analytics', '-o', 'name'])).not.toMatch(/evil-/);
    });
  }

  it('lets a platform admin install it; an operator may then not uninstall it (it would delete a ClusterRole)', async () => {
    const r = await as<Install>('admin', INSTALL, { name: 'wide', chart: 'clusterwide' });
    expect(r.errors).toBeUndefined();
    expect(await finished('admin', r.data!.installRelease!.id)).toEqual({ state: 'SUCCEEDED' });
    expect(await stack.cluster.kubectl(['get', 'clusterrole', 'wide-reader', '-o', 'name'])).toMatch(/wide-reader/);
    await eventually(async () => stack.apps.index.get(NS, 'wide'), 10_000, 'the release to be seen');
    const denied = await as('operator', 'mutation { uninstallRelease(namespace: "shop", name: "wide") { id } }');
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(denied.errors?.[0]?.message).toMatch(/ClusterRole wide-reader/);
    const byAdmin = await as<{ uninstallRelease: { id: string } }>(
      'admin',
      'mutation { uninstallRelease(namespace: "shop", name: "wide") { id } }',
    );
    expect(await finished('admin', byAdmin.data!.uninstallRelease.id)).toEqual({ state: 'SUCCEEDED' });
  });
});

describe('RBAC objects in charts', () => {
  it('are for project admins only, and never beyond what a project admin has', async () => {
    const byOperator = await as<Install>('operator', INSTALL, { name: 'roles', chart: 'roled' });
    expect(byOperator.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(byOperator.errors?.[0]?.message).toMatch(/Role roles-pods \(an RBAC object.*only project admins/);
    const escalating = await as<Install>('padmin', INSTALL, { name: 'roles', chart: 'escalating' });
    expect(escalating.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(escalating.errors?.[0]?.message).toMatch(
      /Role roles-everything \(a Role granting more than a project admin has: verb "escalate"/,
    );
    expect(await storedRevisions('roles')).toBe(0);

    const byAdmin = await as<Install>('padmin', INSTALL, { name: 'roles', chart: 'roled' });
    expect(byAdmin.errors).toBeUndefined();
    expect(await finished('padmin', byAdmin.data!.installRelease!.id)).toEqual({ state: 'SUCCEEDED' });
    expect(await stack.cluster.kubectl(['get', 'role,rolebinding', '-n', NS, '-o', 'name'])).toMatch(/roles-pods/);
  });
});

describe('who may read and follow', () => {
  it('viewers read releases and follow operations in their project but install nothing; outsiders see nothing', async () => {
    const install = await as<Install>('operator', INSTALL, { name: 'shown', chart: 'secretive' });
    expect(install.errors).toBeUndefined();
    const id = install.data!.installRelease!.id;
    // A viewer of the project follows the operator's operation; an outsider may not.
    expect(await finished('viewer', id)).toEqual({ state: 'SUCCEEDED' });
    expect(await finished('outsider', id)).toEqual({ error: 'FORBIDDEN' });

    const query = '{ helmRelease(namespace: "shop", name: "shown") { name status manifest } }';
    const seen = await eventually(async () => {
      const r = await as<{ helmRelease: { status: string; manifest: string } | null }>('viewer', query);
      return r.data?.helmRelease?.status === 'DEPLOYED' && r.data.helmRelease;
    });
    // Secret values are for project admins (as Secret data in the workloads subgraph): others see the keys only.
    expect(seen.manifest).toMatch(/password: \(hidden\)/);
    expect(seen.manifest).not.toMatch(/s3cret-value/);
    const asAdmin = await as<{ helmRelease: { manifest: string } }>('admin', query);
    expect(asAdmin.data!.helmRelease.manifest).toMatch(/s3cret-value/);

    const viewerList = await as<{ helmReleases: { edges: { node: { name: string } }[] } }>(
      'viewer',
      '{ helmReleases { edges { node { name } } } }',
    );
    expect(viewerList.data!.helmReleases.edges.map((e) => e.node.name)).toContain('shown');
    const byWorkspace = await as<{ helmReleases: { edges: { node: { namespace: string; name: string } }[] } }>(
      'viewer',
      '{ helmReleases(workspace: "demo-shop") { edges { node { namespace name } } } }',
    );
    expect(byWorkspace.data!.helmReleases.edges.map((e) => `${e.node.namespace}/${e.node.name}`)).toContain(
      'shop/shown',
    );
    const foreignWorkspace = await as('outsider', '{ helmReleases(workspace: "demo-shop") { totalCount } }');
    expect(foreignWorkspace.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const outsiderList = await as<{ helmReleases: { totalCount: number } }>(
      'outsider',
      '{ helmReleases { totalCount } }',
    );
    expect(outsiderList.data!.helmReleases.totalCount).toBe(0);
    expect((await as('outsider', query)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const denied = await as<Install>('viewer', INSTALL, { name: 'peek', chart: 'webapp' });
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await storedRevisions('peek')).toBe(0);
  });
});

describe('helmReleaseChanged resumed from a token', () => {
  it('replays what came after the token, and sends a snapshot for a token too old to replay', async () => {
    type Event = { type: string; resumeToken: string; snapshot: boolean; release: { name: string; revision: number } };
    const collect = (resumeToken: string | null) => {
      const events: Event[] = [];
      const stop = wsClient('viewer').subscribe<{ helmReleaseChanged: Event }>(
        {
          query: `subscription($t: String) { helmReleaseChanged(namespace: "shop", resumeToken: $t) {
            type resumeToken snapshot release { name revision } } }`,
          variables: { t: resumeToken },
        },
        { next: (r) => void (r.data && events.push(r.data.helmReleaseChanged)), error: () => {}, complete: () => {} },
      );
      return { events, stop };
    };
    const live = collect(null);
    await eventually(() => stack.apps.index.readerCount > 0, 10_000, 'the subscription to be open');
    const chart = join(repo.dir, 'webapp-0.1.0.tgz');
    await stack.cluster.helm(['install', 'resumed', chart, '-n', NS]);
    await stack.cluster.helm(['upgrade', 'resumed', chart, '-n', NS]);
    await eventually(
      () => live.events.some((e) => e.release.name === 'resumed' && e.release.revision === 2),
      20_000,
      'revision 2',
    );
    live.stop();
    const first = live.events.find((e) => e.release.name === 'resumed')!;

    const replay = collect(first.resumeToken);
    await eventually(
      () => replay.events.some((e) => e.release.name === 'resumed' && e.release.revision === 2),
      20_000,
      'the replay',
    );
    replay.stop();
    expect(replay.events.every((e) => BigInt(e.resumeToken) > BigInt(first.resumeToken) && !e.snapshot)).toBe(true);

    const old = collect('1');
    await eventually(() => old.events.some((e) => e.release.name === 'resumed'), 20_000, 'the snapshot');
    old.stop();
    expect(old.events.find((e) => e.release.name === 'resumed')).toMatchObject({
      type: 'ADDED',
      snapshot: true,
      release: { revision: 2 },
    });
  });
});
