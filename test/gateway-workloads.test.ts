// The gateway in front of the real subgraphs on a sandbox cluster: what `npm start` serves, through the checked-in
// supergraph (the test stack, signed in as the bootstrap admin).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './harness/sandbox.js';
import { startTestStack, type TestStack } from './harness/stack.js';

const ROOT = resolve(import.meta.dirname, '..');

interface PodNode {
  namespace: string;
  name: string;
  status: string;
  ready: string;
  node: { name: string } | null;
}
interface PodsData {
  pods: { totalCount: number; edges: { node: PodNode }[]; pageInfo: { hasNextPage: boolean } };
}

let stack: TestStack;

const gql = <T>(query: string, variables?: Record<string, unknown>) => stack.gql<T>(query, variables);

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
    const shop = await eventually(
      async () => {
        const r = await gql<PodsData>(query, { ns: 'shop' });
        return r.data && r.data.pods.totalCount > 0 && r.data.pods.edges.every((e) => e.node.status === 'RUNNING')
          ? r
          : undefined;
      },
      30_000,
      'running pods in shop',
    );
    expect(shop.status).toBe(200);
    expect(shop.errors).toBeUndefined();
    const names = shop.data!.pods.edges.map((e) => e.node.name);
    expect(names).toEqual([...names].sort());
    expect(shop.data!.pods.edges.every((e) => e.node.namespace === 'shop' && e.node.node?.name)).toBe(true);

    // The demo's payment-worker crash-loops in shop-staging.
    const crashing = await eventually(
      async () => {
        const r = await gql<PodsData>(query, { ns: 'shop-staging', filter: { status: ['CRASH_LOOP_BACK_OFF'] } });
        return r.data && r.data.pods.totalCount > 0 ? r.data : undefined;
      },
      30_000,
      'a crash-looping pod',
    );
    expect(crashing.pods.edges.every((e) => e.node.name.startsWith('payment-worker'))).toBe(true);
  });

  it('keeps refusing abusive queries in front of the real schema', async () => {
    const r = await gql<unknown>(
      '{ nodes(first: 500) { edges { node { pods(first: 500) { edges { node { name containers { name } } } } } } } }',
    );
    expect(r.status).toBe(400);
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('the supergraph offers the whole contract', async () => {
    const out = await promisify(execFile)(
      process.execPath,
      ['../shared/tools/contract-check.mjs', 'schema/supergraph.graphql'],
      { cwd: ROOT },
    ).then(
      (r) => r.stdout,
      (e: { stdout?: string }) => e.stdout ?? '',
    );
    expect(out).toMatch(/contract: (\d+) of \1 elements present/);
    // Parts whose subgraph is not in the supergraph yet are reported as pending; nothing else may be reported.
    expect(out.split('\n').filter((l) => l && !l.startsWith('contract:') && !l.startsWith('pending:'))).toEqual([]);
  });
});
