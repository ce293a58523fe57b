// The subgraph side of the identity path: a subgraph accepts only identities the gateway signed, and authorizes
// with the roles they carry (KubeSphere's project and workspace roles), in lists, lookups, mutations, _entities and
// subscriptions. Requests here are signed as the gateway signs them.
import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '../services/common/authz.js';
import { IDENTITY_HEADER, identityKey, signIdentity } from '../services/common/identity.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../services/workloads/server.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { quietLogger } from './harness/stack.js';

const SECRET = 'test-identity-secret-0123456789';
const key = identityKey(SECRET);

interface Body {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
}

let cluster: TestSandbox;
let workloads: WorkloadsSubgraph;

async function post(
  query: string,
  headers: Record<string, string>,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: Body }> {
  const res = await fetch(workloads.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as Body };
}
const as = async (viewer: Viewer, query: string, variables: Record<string, unknown> = {}) =>
  (await post(query, { [IDENTITY_HEADER]: await signIdentity(key, viewer) }, variables)).body;
const codes = (b: Body) => (b.errors ?? []).map((e) => e.extensions?.code);
const namespacesOf = (b: Body) =>
  [
    ...new Set(
      ((b.data?.pods as { edges: { node: { namespace: string } }[] }).edges ?? []).map((e) => e.node.namespace),
    ),
  ].sort();

const user = (username: string, roles: Partial<Pick<Viewer, 'workspaceRoles' | 'projectRoles'>> = {}): Viewer => ({
  username,
  platformRole: 'platform-regular',
  ...roles,
});

beforeAll(async () => {
  cluster = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20 });
  workloads = await startWorkloadsSubgraph({
    port: 0,
    kubeConfig: cluster.kc,
    log: quietLogger,
    identitySecret: SECRET,
  });
  await workloads.ready();
});
afterAll(async () => {
  await workloads?.close();
  await cluster?.close();
});

describe('a subgraph called without the gateway', () => {
  const query = '{ pods(first: 1) { totalCount } }';

  it('refuses a request without a signed identity, with a forged one and with an expired one (401)', async () => {
    const none = await post(query, {});
    expect(none.status).toBe(401);
    expect(codes(none.body)).toEqual(['UNAUTHENTICATED']);

    const forged = await post(query, {
      [IDENTITY_HEADER]: await signIdentity(identityKey('another-secret-0123456789'), {
        username: 'admin',
        platformRole: 'platform-admin',
      }),
    });
    expect(forged.status).toBe(401);
    expect(forged.body.data).toBeUndefined();

    const expired = await new SignJWT({ pr: 'platform-admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setIssuer('kubegraph-gateway')
      .setAudience('kubegraph-subgraphs')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .sign(key);
    const old = await post(query, { [IDENTITY_HEADER]: expired });
    expect(old.status).toBe(401);
    expect(old.body.errors?.[0].message).toContain('expired');

    // The caller's own bearer token is no substitute.
    expect((await post(query, { authorization: 'Bearer whatever' })).status).toBe(401);
  });

  it('refuses a graphql-ws subscription without a signed identity', async () => {
    const client = createClient({
      url: workloads.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: 'subscription { podStatusChanged { type } }' },
        { next: resolve, error: resolve, complete: () => resolve('complete') },
      );
    });
    await client.dispose();
    expect(JSON.stringify(outcome)).toContain('UNAUTHENTICATED');
  });
});

describe('authorization by role', () => {
  it('lets an anonymous caller do nothing', async () => {
    expect(codes(await as({ username: '', platformRole: '' }, '{ pods(first: 1) { totalCount } }'))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });

  it('filters lists to the projects a member may see, and refuses the others', async () => {
    const viewer = user('pat', { projectRoles: { shop: 'project-viewer' } });
    await eventually(
      async () =>
        namespacesOf(await as(viewer, '{ pods(first: 500) { edges { node { namespace } } } }')).length > 0 || undefined,
      20_000,
      'pods',
    );
    expect(namespacesOf(await as(viewer, '{ pods(first: 500) { edges { node { namespace } } } }'))).toEqual(['shop']);
    const projects = await as(viewer, '{ projects(first: 50) { edges { node { name } } } }');
    expect((projects.data!.projects as { edges: { node: { name: string } }[] }).edges.map((e) => e.node.name)).toEqual([
      'shop',
    ]);
    expect(codes(await as(viewer, '{ pods(namespace: "analytics", first: 1) { totalCount } }'))).toEqual(['FORBIDDEN']);
    expect(codes(await as(viewer, '{ nodes(first: 1) { totalCount } }'))).toEqual(['FORBIDDEN']);
    // A viewer may read, not act.
    expect(
      codes(
        await as(
          viewer,
          'mutation { scaleWorkload(namespace: "shop", kind: DEPLOYMENT, name: "frontend", replicas: 3) { name } }',
        ),
      ),
    ).toEqual(['FORBIDDEN']);
  });

  it('lets a project operator act on workloads but not delete the project', async () => {
    const viewer = user('olga', { projectRoles: { 'shop-staging': 'project-operator' } });
    const scaled = await as(
      viewer,
      'mutation { scaleWorkload(namespace: "shop-staging", kind: DEPLOYMENT, name: "payment-worker", replicas: 1) { name replicas } }',
    );
    expect(scaled.errors).toBeUndefined();
    expect(
      codes(
        await as(
          viewer,
          'mutation { scaleWorkload(namespace: "shop", kind: DEPLOYMENT, name: "frontend", replicas: 3) { name } }',
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    expect(codes(await as(viewer, 'mutation { deleteProject(name: "shop-staging") }'))).toEqual(['FORBIDDEN']);
  });

  it('gives workspace roles their projects: viewers read all of them, regular members create projects', async () => {
    const wsViewer = user('wendy', { workspaceRoles: { 'demo-shop': 'workspace-viewer' } });
    expect(namespacesOf(await as(wsViewer, '{ pods(first: 500) { edges { node { namespace } } } }'))).toEqual([
      'shop',
      'shop-staging',
    ]);
    expect(
      codes(await as(wsViewer, 'mutation { createProject(workspace: "demo-shop", name: "wendy-proj") { name } }')),
    ).toEqual(['FORBIDDEN']);

    const regular = user('reggie', { workspaceRoles: { 'demo-shop': 'workspace-regular' } });
    // workspace-regular sees no project by the workspace role alone...
    expect(namespacesOf(await as(regular, '{ pods(first: 500) { edges { node { namespace } } } }'))).toEqual([]);
    // ...but may create projects in that workspace, not in another.
    const created = await as(
      regular,
      'mutation { createProject(workspace: "demo-shop", name: "reggie-proj") { name workspaceName } }',
    );
    expect(created.errors).toBeUndefined();
    expect(created.data!.createProject).toEqual({ name: 'reggie-proj', workspaceName: 'demo-shop' });
    expect(
      codes(await as(regular, 'mutation { createProject(workspace: "data-platform", name: "reggie-other") { name } }')),
    ).toEqual(['FORBIDDEN']);

    const wsAdmin = user('ada', { workspaceRoles: { 'demo-shop': 'workspace-admin' } });
    expect((await as(wsAdmin, 'mutation { deleteProject(name: "reggie-proj") }')).errors).toBeUndefined();
    expect(codes(await as(wsAdmin, 'mutation { deleteProject(name: "analytics") }'))).toEqual(['FORBIDDEN']);
  });

  it("shows a Secret's values to the project's admins only", async () => {
    const q = '{ secret(namespace: "shop", name: "shop-db") { keys values } }';
    for (const admin of [
      user('ann', { projectRoles: { shop: 'project-admin' } }),
      user('wes', { workspaceRoles: { 'demo-shop': 'workspace-admin' } }),
    ]) {
      const r = await as(admin, q);
      expect(r.errors).toBeUndefined();
      expect(r.data!.secret).toEqual({
        keys: ['password', 'username'],
        values: { password: 's3cr3t-demo', username: 'shop' },
      });
    }
    const operator = await as(user('olga', { projectRoles: { shop: 'project-operator' } }), q);
    expect(operator.data!.secret).toEqual({ keys: ['password', 'username'], values: null });
    expect(operator.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['secret', 'values']]]);
    // The object as YAML never carries them, whoever asks.
    const yaml = (
      await as(
        user('ann', { projectRoles: { shop: 'project-admin' } }),
        '{ secret(namespace: "shop", name: "shop-db") { yaml } }',
      )
    ).data!.secret as { yaml: string };
    expect(yaml.yaml).not.toContain(Buffer.from('s3cr3t-demo').toString('base64'));
    expect(yaml.yaml).not.toContain('s3cr3t-demo');
  });

  it('authorizes _entities lookups like root fields', async () => {
    const viewer = user('pat', { projectRoles: { shop: 'project-viewer' } });
    const pods = await as(
      user('root', { projectRoles: { analytics: 'project-viewer', shop: 'project-viewer' } }),
      '{ a: pods(namespace: "analytics", first: 1) { edges { node { name } } } s: pods(namespace: "shop", first: 1) { edges { node { name } } } }',
    );
    const name = (alias: string) => (pods.data![alias] as { edges: { node: { name: string } }[] }).edges[0].node.name;
    const lookup = await as(viewer, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Pod { name } } }', {
      r: [
        { __typename: 'Pod', namespace: 'shop', name: name('s') },
        { __typename: 'Pod', namespace: 'analytics', name: name('a') },
      ],
    });
    expect((lookup.data!._entities as unknown[])[0]).toEqual({ name: name('s') });
    expect((lookup.data!._entities as unknown[])[1]).toBeNull();
    expect(lookup.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['_entities', 1]]]);
  });
});
