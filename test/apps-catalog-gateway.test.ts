// The chart catalog through the gateway (issue 16 §3), with the real identity path: a repository made by helm and
// served on 127.0.0.1 is added, synced, searched and read (versions, README, values, schema) in GraphQL; bad input
// answers with its code and stores nothing; workspace repositories are their members' only. Repository hosts other
// than 127.0.0.1 exist only in a stub resolver (no traffic leaves loopback).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolver } from '../services/apps/clients/url-check.js';
import { buildChartRepo, helm, serveChartRepo, type BuiltChartRepo, type ChartRepoServer } from './harness/charts.js';
import type { GraphQLErrorLike } from './harness/graphql.js';
import { startTestStack, type TestStack } from './harness/stack.js';

let stack: TestStack;
let repo: BuiltChartRepo;
let server: ChartRepoServer;
const asked: string[] = [];
const stubResolver: Resolver = async (host) => {
  asked.push(host);
  if (host === 'metadata.internal') return [{ address: '169.254.169.254', family: 4 }];
  if (host === 'charts.test') return [{ address: '127.0.0.1', family: 4 }];
  throw new Error(`getaddrinfo ENOTFOUND ${host}`);
};

const REPOS = `query($ws: String) { helmRepositories(workspace: $ws) { name url workspace { name } syncedAt syncError } }`;
const ADD = `mutation($input: HelmRepositoryInput!) { addHelmRepository(input: $input) { name url syncedAt syncError workspace { name } } }`;
const CHARTS = `query($repository: String, $search: String, $first: Int, $after: String) {
  charts(repository: $repository, search: $search, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { name repository { name } description keywords latestVersion { version deprecated } } }
  } }`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped GraphQL results in tests
type Result = { data: any; errors?: GraphQLErrorLike[] };
const q = async (query: string, variables?: Record<string, unknown>) => (await stack.gql(query, variables)) as Result;
const qAs = async (token: string | undefined, query: string, variables?: Record<string, unknown>) =>
  (await stack.gqlAs(token, query, variables)) as Result;

const codes = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.map((e) => e.extensions?.code);

let regularToken: string;
let wsAdminToken: string;
let wsViewerToken: string;

beforeAll(async () => {
  repo = await buildChartRepo();
  server = await serveChartRepo(repo.dir);
  stack = await startTestStack({ apps: { repositories: { resolver: stubResolver, syncIntervalMs: 0 } } });
  const setup = await q(`mutation {
    a: createUser(input: { username: "rita", password: "rita-password-1" }) { username }
    b: createUser(input: { username: "wanda", password: "wanda-password-1" }) { username }
    c: createUser(input: { username: "vic", password: "vic-password-1" }) { username }
    createWorkspace(name: "ws1") { name }
    d: addWorkspaceMember(workspace: "ws1", username: "wanda", role: "workspace-admin") { name }
    e: addWorkspaceMember(workspace: "ws1", username: "vic", role: "workspace-viewer") { name }
  }`);
  expect(setup.errors).toBeUndefined();
  regularToken = await stack.login('rita', 'rita-password-1');
  wsAdminToken = await stack.login('wanda', 'wanda-password-1');
  wsViewerToken = await stack.login('vic', 'vic-password-1');
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await server?.close();
  repo?.cleanup();
});

describe('the catalog through the gateway', () => {
  it('adds a repository, lists it, searches and pages its charts', async () => {
    const added = await q(ADD, { input: { name: 'main', url: server.url } });
    expect(added.errors).toBeUndefined();
    expect(added.data.addHelmRepository).toMatchObject({
      name: 'main',
      url: server.url,
      syncError: null,
      workspace: null,
    });
    expect(Date.parse(added.data.addHelmRepository.syncedAt)).not.toBeNaN();
    expect((await q(REPOS)).data.helmRepositories.map((r: { name: string }) => r.name)).toEqual(['main']);

    const nginx = await q(CHARTS, { search: 'nginx' });
    expect(nginx.data.charts.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual([
      'nginx-proxy',
      'proxy',
      'webapp',
      'cachebox',
    ]);
    expect(nginx.data.charts.edges[2].node).toMatchObject({
      repository: { name: 'main' },
      keywords: ['web', 'nginx'],
      latestVersion: { version: '1.0.0', deprecated: false },
    });
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await q(CHARTS, { repository: 'main', first: 4, after });
      seen.push(...page.data.charts.edges.map((e: { node: { name: string } }) => e.node.name));
      if (!page.data.charts.pageInfo.hasNextPage) break;
      after = page.data.charts.pageInfo.endCursor;
    }
    expect(seen).toEqual([...seen].sort());
    expect(seen).toHaveLength((await q(CHARTS, { repository: 'main' })).data.charts.totalCount);
    const nested = await q(`{ helmRepositories { name charts(search: "legacy") { totalCount
      edges { node { name latestVersion { version deprecated } } } } } }`);
    expect(nested.data.helmRepositories[0].charts.edges[0].node).toEqual({
      name: 'legacy',
      latestVersion: { version: '0.9.0', deprecated: true },
    });
  });

  it('shows versions newest first and a version’s README, values and schema', async () => {
    const r = await q(`{ chart(repository: "main", name: "webapp") { name
      versions { version appVersion createdAt digest readme values valuesSchema } } }`);
    expect(r.errors).toBeUndefined();
    const versions = r.data.chart.versions;
    expect(versions.map((v: { version: string }) => v.version)).toEqual(['1.1.0-rc.1', '1.0.0', '0.2.0', '0.1.0']);
    const tgz = `${repo.dir}/webapp-1.0.0.tgz`;
    expect(versions[1].readme).toBe((await helm(['show', 'readme', tgz])).replace(/\n$/, ''));
    expect(versions[1].values).toBe((await helm(['show', 'values', tgz])).replace(/\n$/, ''));
    expect(versions[1].valuesSchema.properties.replicaCount).toEqual({ type: 'integer', minimum: 0 });
    expect(versions[3].valuesSchema).toBeNull();
    expect((await q(`{ chart(repository: "main", name: "nope") { name } }`)).data.chart).toBeNull();
  });

  it('syncs on demand and removes', async () => {
    const synced = await q(`mutation { syncHelmRepository(name: "main") { name syncError syncedAt } }`);
    expect(synced.data.syncHelmRepository).toMatchObject({ name: 'main', syncError: null });
    expect(server.requests.at(-1)).toMatchObject({ path: '/index.yaml', status: 304 });
    await q(ADD, { input: { name: 'spare', url: server.url } });
    expect((await q(`mutation { removeHelmRepository(name: "spare") }`)).data.removeHelmRepository).toBe(true);
    expect(codes(await q(`mutation { removeHelmRepository(name: "spare") }`))).toEqual(['NOT_FOUND']);
  });

  it('answers bad input with its code and stores nothing', async () => {
    const bad = async (input: Record<string, unknown>) => codes(await q(ADD, { input }));
    expect(await bad({ name: 'oci', url: 'oci://registry.example/charts' })).toEqual(['BAD_USER_INPUT']);
    expect(await bad({ name: 'Bad_Name', url: server.url })).toEqual(['BAD_USER_INPUT']);
    expect(await bad({ name: 'meta', url: 'http://metadata.internal/' })).toEqual(['BAD_USER_INPUT']);
    expect(await bad({ name: 'literal', url: 'http://169.254.169.254/' })).toEqual(['BAD_USER_INPUT']);
    expect(asked).toContain('metadata.internal');
    expect(await bad({ name: 'main', url: server.url })).toEqual(['CONFLICT']);
    server.writeFile('broken/index.yaml', 'apiVersion: v1\nentries:\n  x:\n  - version: [1\n');
    expect(await bad({ name: 'broken', url: `${server.url}broken/` })).toEqual(['BAD_USER_INPUT']);
    const names = (await q(REPOS)).data.helmRepositories.map((r: { name: string }) => r.name);
    expect(names).toEqual(['main']);
    // The host name is resolved by the stub to 127.0.0.1: the checked address is the one connected to.
    const port = new URL(server.url).port;
    const viaName = await q(ADD, { input: { name: 'named', url: `http://charts.test:${port}/` } });
    expect(viaName.errors).toBeUndefined();
    await q(`mutation { removeHelmRepository(name: "named") }`);
    expect(codes(await q(`{ chart(repository: "main", name: "webapp") { password } }`))).toEqual([
      'GRAPHQL_VALIDATION_FAILED',
    ]);
  });

  it('keeps workspace repositories to their members and lets only admins manage them', async () => {
    const input = { name: 'ws1-charts', url: server.url, workspace: 'ws1', username: 'robot', password: 'secret-pw-1' };
    expect(codes(await qAs(regularToken, ADD, { input }))).toEqual(['FORBIDDEN']);
    expect(codes(await qAs(wsViewerToken, ADD, { input }))).toEqual(['FORBIDDEN']);
    expect(codes(await qAs(wsAdminToken, ADD, { input: { ...input, workspace: undefined } }))).toEqual(['FORBIDDEN']);
    const added = await qAs(wsAdminToken, ADD, { input });
    expect(added.errors).toBeUndefined();
    expect(added.data.addHelmRepository.workspace).toEqual({ name: 'ws1' });
    expect(JSON.stringify(added)).not.toContain('secret-pw-1');

    const visible = async (token: string) =>
      (await qAs(token, REPOS)).data.helmRepositories.map((r: { name: string }) => r.name);
    expect(await visible(wsViewerToken)).toEqual(['main', 'ws1-charts']);
    expect(await visible(regularToken)).toEqual(['main']);
    expect(codes(await qAs(regularToken, CHARTS, { repository: 'ws1-charts' }))).toEqual(['FORBIDDEN']);
    expect(codes(await qAs(regularToken, REPOS, { ws: 'ws1' }))).toEqual(['FORBIDDEN']);
    expect(codes(await qAs(undefined, REPOS))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await qAs(wsViewerToken, `mutation { syncHelmRepository(name: "ws1-charts") { name } }`))).toEqual([
      'FORBIDDEN',
    ]);
    expect(
      (await qAs(wsAdminToken, `mutation { removeHelmRepository(name: "ws1-charts") }`)).data.removeHelmRepository,
    ).toBe(true);
  });
});
