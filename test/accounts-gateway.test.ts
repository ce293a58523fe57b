// The accounts subgraph federated with workloads behind the gateway (checked-in supergraph): Project.workspace
// resolved from the namespace's workspace label (@requires workspaceName), Project.members, and Workspace.projects
// as Project entities whose other fields workloads resolves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../gateway/gateway.js';
import { startWorkloadsSubgraph, type WorkloadsSubgraph } from '../services/workloads/server.js';
import { startTestAccounts, quietLogger, type TestAccounts } from './harness/accounts.js';
import { gql } from './harness/graphql.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

let cluster: TestSandbox;
let workloads: WorkloadsSubgraph;
let accounts: TestAccounts;
let gateway: Gateway;
// Until the gateway forwards identities, subgraphs run requests as the development identity (admin).
const q = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  gql<T>(gateway.url, query, variables);

beforeAll(async () => {
  cluster = await startTestSandbox({ seed: { kind: 'demo' }, speed: 20 });
  workloads = await startWorkloadsSubgraph({ port: 0, kubeConfig: cluster.kc, log: quietLogger });
  // The development identity, as the other subgraphs have it today.
  accounts = await startTestAccounts('postgres', { identity: undefined, kubeConfig: cluster.kc });
  gateway = await startGateway({
    port: 0,
    subgraphUrls: { workloads: workloads.url, accounts: accounts.sub.url },
    logger: quietLogger,
    readyCacheMs: 0,
  });
  await workloads.ready();
});
afterAll(async () => {
  await gateway?.close();
  await accounts?.close();
  await workloads?.close();
  await cluster?.close();
});

describe('accounts through the gateway', () => {
  it('links projects to workspaces and members across subgraphs', async () => {
    const setup = await q(`mutation {
      createUser(input: { username: "olivia", password: "olivia-password", displayName: "Olivia" }) { username }
      createWorkspace(name: "demo-shop", description: "The shop") { name }
      addWorkspaceMember(workspace: "demo-shop", username: "olivia", role: "workspace-regular") { name }
      addProjectMember(project: "shop", username: "olivia", role: "project-operator") { name phase members { user { displayName } role } }
    }`);
    expect(setup.errors).toBeUndefined();
    expect(setup.data!.addProjectMember).toEqual({
      name: 'shop',
      phase: 'Active',
      members: [{ user: { displayName: 'Olivia' }, role: 'project-operator' }],
    });

    // Project (workloads) → workspace (accounts, from the label) → members (accounts).
    const p = await q(
      `{ project(name: "shop") { name workspaceName workspace { name description members { user { username } role } } members { user { username } role } } }`,
    );
    expect(p.errors).toBeUndefined();
    expect(p.data).toEqual({
      project: {
        name: 'shop',
        workspaceName: 'demo-shop',
        workspace: {
          name: 'demo-shop',
          description: 'The shop',
          members: [{ user: { username: 'olivia' }, role: 'workspace-regular' }],
        },
        members: [{ user: { username: 'olivia' }, role: 'project-operator' }],
      },
    });
    // A label naming a workspace accounts does not know: no workspace.
    const analytics = await q(`{ project(name: "analytics") { workspaceName workspace { name } members { role } } }`);
    expect(analytics.data).toEqual({ project: { workspaceName: 'data-platform', workspace: null, members: [] } });

    // Workspace (accounts) → projects (every namespace labelled with it: workloads' label index) → their fields.
    const w = await q(`{ workspace(name: "demo-shop") { projects { name phase workspaceName createdAt } } }`);
    expect(w.errors).toBeUndefined();
    expect(w.data).toMatchObject({
      workspace: {
        projects: [
          { name: 'shop', phase: 'Active', workspaceName: 'demo-shop' },
          { name: 'shop-staging', phase: 'Active', workspaceName: 'demo-shop' },
        ],
      },
    });

    // A list from workloads, each with its workspace from accounts.
    const list = await eventually(
      async () => {
        const r = await q<{ projects: { edges: { node: { name: string; workspace: { name: string } | null } }[] } }>(
          `{ projects(workspace: "demo-shop") { edges { node { name workspace { name } } } } }`,
        );
        return r.data && r.data.projects.edges.length >= 2 ? r : undefined;
      },
      20_000,
      'the demo-shop projects',
    );
    expect(list.data!.projects.edges.map((e) => e.node)).toEqual([
      { name: 'shop', workspace: { name: 'demo-shop' } },
      { name: 'shop-staging', workspace: { name: 'demo-shop' } },
    ]);
    // The user's side.
    const me = await q(`{ users { edges { node { username workspaces { name projects { name } } } } } }`);
    expect(me.data).toMatchObject({
      users: {
        edges: expect.arrayContaining([
          {
            node: {
              username: 'olivia',
              workspaces: [{ name: 'demo-shop', projects: [{ name: 'shop' }, { name: 'shop-staging' }] }],
            },
          },
        ]),
      },
    });
  });
});
