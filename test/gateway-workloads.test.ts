// The gateway in front of the real subgraphs on a sandbox cluster: what `npm start` serves, through the checked-in
// supergraph (the test stack, signed in as the bootstrap admin).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

const ROOT = resolve(import.meta.dirname, '..');

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}
interface PodNode { namespace: string; name: string; status: string; ready: string; node: { name: string } | null }
interface PodsData { pods: { totalCount: number; edges: { node: PodNode }[]; pageInfo: { hasNextPage: boolean } } }

let stack: TestStack;

async function gql<T>(query: string, variables?: Record<string, unknown>): Promise<{ status: number; data?: T; errors?: GraphQLBody['errors'] }> {
  const res = await fetch(stack.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GraphQLBody;
  return { status: res.status, data: (body.data ?? undefined) as T | undefined, errors: body.errors };
}

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.close();
});

describe('gateway over the workloads subgraph', () => {
  it('turns ready once the workloads caches have synced', async () => {
    const readyz = stack.gateway.url.replace(/\/graphql$/, '/readyz');
    await eventually(async () => (await fetch(readyz)).status === 200, 30_000, 'gateway /readyz 200');
  });

  it('lists pods of the demo cluster through the gateway, filtered and sorted', async () => {
    const query = `query Pods($ns: String, $filter: PodFilter) {
      pods(namespace: $ns, filter: $filter, orderBy: { field: NAME, direction: ASC }, first: 50) {
        totalCount pageInfo { hasNextPage } edges { node { namespace name status ready node { name } } }
      }
    }`;
    const shop = await eventually(async () => {
      const r = await gql<PodsData>(query, { ns: 'shop' });
      return r.data && r.data.pods.totalCount > 0 && r.data.pods.edges.every((e) => e.node.status === 'RUNNING') ? r : undefined;
    }, 30_000, 'running pods in shop');
    expect(shop.status).toBe(200);
    expect(shop.errors).toBeUndefined();
    const names = shop.data!.pods.edges.map((e) => e.node.name);
    expect(names).toEqual([...names].sort());
    expect(shop.data!.pods.edges.every((e) => e.node.namespace === 'shop' && e.node.node?.name)).toBe(true);

    // The demo's payment-worker crash-loops in shop-staging.
    const crashing = await eventually(async () => {
      const r = await gql<PodsData>(query, { ns: 'shop-staging', filter: { status: ['CRASH_LOOP_BACK_OFF'] } });
      return r.data && r.data.pods.totalCount > 0 ? r.data : undefined;
    }, 30_000, 'a crash-looping pod');
    expect(crashing.pods.edges.every((e) => e.node.name.startsWith('payment-worker'))).toBe(true);
  });

  it('keeps refusing abusive queries in front of the real schema', async () => {
    const r = await gql<unknown>('{ nodes(first: 500) { edges { node { pods(first: 500) { edges { node { name containers { name } } } } } } } }');
    expect(r.status).toBe(400);
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('the supergraph offers the workloads part of the contract (accounts, monitoring, subscriptions come later)', async () => {
    const out = await promisify(execFile)(process.execPath, ['../shared/tools/contract-check.mjs', 'schema/supergraph.graphql'], { cwd: ROOT }).then(
      (r) => r.stdout,
      (e: { stdout?: string }) => e.stdout ?? '',
    );
    expect(out).toMatch(/contract: \d+ of \d+ elements present/);
    const problems = out.split('\n').filter((l) => l && !l.startsWith('contract:'));
    // What other subgraphs and the gateway's subscriptions will bring.
    const later = new Set(['AuthPayload', 'UserState', 'User', 'Workspace', 'WorkspaceMember', 'ProjectMember', 'ApiToken', 'CreatedApiToken', 'CreateUserInput', 'UserEdge', 'UserConnection', 'Sample', 'Metric', 'PodMetrics', 'Alert', 'Subscription']);
    const laterFields = new Set(['Project.workspace', 'Project.members', 'Pod.metrics', 'Query.me', 'Query.users', 'Query.workspaces', 'Query.workspace', 'Query.apiTokens', 'Query.alerts', 'Mutation.login', 'Mutation.refreshToken', 'Mutation.logout', 'Mutation.createUser', 'Mutation.setUserState', 'Mutation.createWorkspace', 'Mutation.addWorkspaceMember', 'Mutation.removeWorkspaceMember', 'Mutation.addProjectMember', 'Mutation.createApiToken', 'Mutation.revokeApiToken']);
    const workloadsProblems = problems.filter((l) => {
      const type = /^type (\w+) is missing$/.exec(l)?.[1];
      if (type) return !later.has(type);
      const field = /^(\w+\.\w+) is missing$/.exec(l)?.[1];
      return !(field && laterFields.has(field));
    });
    expect(workloadsProblems).toEqual([]);
    expect(out).not.toMatch(/Query\.pods|type Pod is missing|PodConnection|type Workload is missing/);
  });
});
