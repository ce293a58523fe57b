// Project memberships in accounts against a real cluster (the sandbox) and the real PostgreSQL: a membership belongs
// to the namespace (uid) it was granted on. It ends with the namespace's DELETED event while accounts runs, and with
// the relist at start for what happened while it was down; rows from before uids were recorded are kept only where
// they would be granted today.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  dropSchema,
  newSchemaName,
  startTestAccounts,
  TEST_DATABASE_URL,
  type TestAccounts,
} from './harness/accounts.js';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';

const WS = 'kubesphere.io/workspace';
interface Bindings {
  projects: { project: string; workspace: string | null; role: string; namespaceUid: string | null }[];
  revision: number;
}

describe('project memberships follow the namespaces', () => {
  let cluster: TestSandbox;
  const schema = newSchemaName('accounts_projects');
  let a: TestAccounts | undefined;

  const start = async () => {
    const started = await startTestAccounts('postgres', { kubeConfig: cluster.kc, dbSchema: schema });
    a = started;
    adminToken = (await started.login('admin', ADMIN_PASSWORD)).accessToken;
    return { a: started, admin: adminToken };
  };
  let adminToken = '';
  /** The running accounts (started again if a test stopped it) and the admin's token. */
  const current = async () => (a ? { a, admin: adminToken } : await start());
  const stop = async () => {
    await a?.close();
    a = undefined;
  };
  const bindings = async (user: string): Promise<Bindings> =>
    (await (await fetch(`${a!.sub.baseUrl}/internal/bindings/${user}`)).json()) as Bindings;
  const createNamespace = async (name: string, workspace?: string) =>
    (await cluster.core.createNamespace({ body: { metadata: { name, labels: workspace ? { [WS]: workspace } : {} } } }))
      .metadata!.uid!;
  const deleteNamespace = async (name: string) => {
    await cluster.core.deleteNamespace({ name });
    await eventually(
      async () => (await cluster.core.listNamespace()).items.every((n) => n.metadata?.name !== name) || undefined,
      30_000,
      `namespace ${name} to be gone`,
    );
  };
  const sql = async (text: string, values: unknown[] = []) => {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    try {
      await c.query(`SET search_path TO ${schema}`);
      return await c.query(text, values);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    cluster = await startTestSandbox();
    const { a, admin } = await current();
    for (const q of [
      'mutation { createWorkspace(name: "team-a") { name } }',
      'mutation { createUser(input: { username: "bob", password: "bob-password" }) { username } }',
      'mutation { createUser(input: { username: "mallory", password: "mallory-password" }) { username } }',
      'mutation { addWorkspaceMember(workspace: "team-a", username: "bob", role: "workspace-regular") { name } }',
    ])
      expect((await a.gql(q, {}, admin)).errors).toBeUndefined();
  });
  afterAll(async () => {
    await stop();
    await dropSchema(schema);
    await cluster?.close();
  });

  it('drops the members of a namespace when it is deleted, and bumps the bindings revision', async () => {
    const { a, admin } = await current();
    const uid = await createNamespace('live', 'team-a');
    await eventually(
      async () =>
        (
          await a.gql(
            'mutation { addProjectMember(project: "live", username: "bob", role: "project-operator") { name } }',
            {},
            admin,
          )
        ).errors === undefined || undefined,
      10_000,
      'accounts to see live',
    );
    const before = await bindings('bob');
    expect(before.projects).toEqual([
      { project: 'live', workspace: 'team-a', role: 'project-operator', namespaceUid: uid },
    ]);
    await deleteNamespace('live');
    await eventually(
      async () => (await bindings('bob')).projects.length === 0 || undefined,
      10_000,
      'the membership to end',
    );
    expect((await bindings('bob')).revision).toBeGreaterThan(before.revision);
    expect((await sql("SELECT count(*)::int AS n FROM project_members WHERE project = 'live'")).rows[0].n).toBe(0);
  });

  it('reconciles at start what happened while accounts was down: a namespace deleted and created again has no members', async () => {
    const { a, admin } = await current();
    await createNamespace('p1', 'team-a');
    await eventually(
      async () =>
        (
          await a.gql(
            'mutation { addProjectMember(project: "p1", username: "bob", role: "project-admin") { name } }',
            {},
            admin,
          )
        ).errors === undefined || undefined,
      10_000,
      'accounts to see p1',
    );
    await stop();
    await deleteNamespace('p1');
    await createNamespace('p1', 'team-a');
    await start();
    expect((await bindings('bob')).projects).toEqual([]);
    expect((await sql("SELECT count(*)::int AS n FROM project_members WHERE project = 'p1'")).rows[0].n).toBe(0);
  });

  it('keeps rows from before uids only where they would be granted today', async () => {
    await stop();
    const p2 = await createNamespace('p2', 'team-a');
    await createNamespace('unlabelled');
    // As migration 2 leaves the memberships of an earlier version: no uid. mallory's came from the trusted argument.
    for (const [project, username, role] of [
      ['p2', 'bob', 'project-viewer'],
      ['p2', 'mallory', 'project-admin'],
      ['unlabelled', 'bob', 'project-admin'],
      ['never-existed', 'bob', 'project-admin'],
    ])
      await sql('INSERT INTO project_members (project, username, role, namespace_uid) VALUES ($1, $2, $3, NULL)', [
        project,
        username,
        role,
      ]);
    await start();
    expect((await bindings('bob')).projects).toEqual([
      { project: 'p2', workspace: 'team-a', role: 'project-viewer', namespaceUid: p2 },
    ]);
    expect((await bindings('mallory')).projects).toEqual([]);
    expect((await sql('SELECT project, username FROM project_members ORDER BY project, username')).rows).toEqual([
      { project: 'p2', username: 'bob' },
    ]);
  });
});
