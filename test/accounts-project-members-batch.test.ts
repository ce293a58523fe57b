// The members of a page of projects (Project.members on each, as in `projects(first: 20) { … members { … } }` and the
// entity fetches behind it) are decided project by project and read with one query, on the embedded database.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDb, type Db } from '../services/accounts/clients/db.js';
import { migrate } from '../services/accounts/clients/migrations.js';
import { store } from '../services/accounts/clients/store.js';
import { Access, type RequestScope } from '../services/accounts/model/access.js';
import { Projects, type ProjectDirectory } from '../services/accounts/model/projects.js';
import { quietLogger } from './harness/stack.js';

// Namespace → [uid, workspace label].
const NAMESPACES: Record<string, [string, string | undefined]> = {
  alpha: ['uid-alpha', 'team-a'],
  beta: ['uid-beta', 'team-a'],
  gamma: ['uid-gamma', 'team-b'],
  delta: ['uid-delta', 'team-b'],
  epsilon: ['uid-epsilon', 'team-b'],
};
const directory: ProjectDirectory = {
  isSynced: () => true,
  unavailableReason: () => '',
  uidOf: (n) => NAMESPACES[n]?.[0],
  workspaceOf: (n) => NAMESPACES[n]?.[1],
  namespacesOf: (w) => Object.keys(NAMESPACES).filter((n) => NAMESPACES[n][1] === w),
  fresh: async () => undefined,
};

describe('Project.members of many projects', () => {
  let db: Db;
  let projects: Projects;
  const scope = (username: string, platformRole = 'platform-regular'): RequestScope => ({
    viewer: { username, platformRole },
    client: { ip: null, userAgent: null },
    memo: new Map(),
  });

  beforeAll(async () => {
    db = await openDb({});
    await migrate(db);
    for (const [username, platformRole] of [
      ['bob', 'platform-regular'],
      ['carol', 'platform-regular'],
      ['dave', 'platform-regular'],
      ['root', 'platform-admin'],
    ])
      await store.insertUser(db, {
        username,
        email: null,
        displayName: null,
        passwordHash: null,
        provider: 'local',
        platformRole,
      });
    await store.insertWorkspace(db, 'team-a', null);
    await store.insertWorkspace(db, 'team-b', null);
    await store.upsertWorkspaceMember(db, 'team-a', 'bob', 'workspace-regular');
    await store.upsertWorkspaceMember(db, 'team-a', 'carol', 'workspace-regular');
    await store.upsertWorkspaceMember(db, 'team-b', 'carol', 'workspace-regular');
    await store.upsertWorkspaceMember(db, 'team-b', 'dave', 'workspace-regular');
    // Inserted out of order: members come back by username.
    await store.upsertProjectMember(db, 'alpha', 'uid-alpha', 'carol', 'project-operator');
    await store.upsertProjectMember(db, 'alpha', 'uid-alpha', 'bob', 'project-admin');
    await store.upsertProjectMember(db, 'beta', 'uid-beta', 'carol', 'project-viewer');
    await store.upsertProjectMember(db, 'gamma', 'uid-gamma', 'dave', 'project-admin');
    // bob sees delta as its member only (no role in team-b).
    await store.upsertProjectMember(db, 'delta', 'uid-delta', 'carol', 'project-admin');
    await store.upsertProjectMember(db, 'delta', 'uid-delta', 'bob', 'project-viewer');
    // A row of an earlier namespace named epsilon: not a member of the one that exists now.
    await store.upsertProjectMember(db, 'epsilon', 'uid-old-epsilon', 'dave', 'project-admin');
    projects = new Projects(db, new Access(db, directory), quietLogger);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await db?.close();
  });

  it('reads the members of the projects the viewer may see with one query, and refuses the others', async () => {
    const req = scope('bob');
    const spy = vi.spyOn(store, 'projectMembers');
    const names = ['alpha', 'beta', 'gamma', 'delta', 'missing'];
    const results = await Promise.allSettled(names.map((p) => projects.projectMembers(req, p)));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][1]).toEqual([
      { project: 'alpha', namespaceUid: 'uid-alpha' },
      { project: 'beta', namespaceUid: 'uid-beta' },
      { project: 'delta', namespaceUid: 'uid-delta' },
    ]);
    spy.mockRestore();
    const [alpha, beta, gamma, delta, missing] = results;
    expect(alpha).toEqual({
      status: 'fulfilled',
      value: [
        { username: 'bob', role: 'project-admin' },
        { username: 'carol', role: 'project-operator' },
      ],
    });
    expect(beta).toEqual({ status: 'fulfilled', value: [{ username: 'carol', role: 'project-viewer' }] });
    expect(gamma.status).toBe('rejected');
    expect((gamma as PromiseRejectedResult).reason).toMatchObject({
      message: 'bob may not see the members of project gamma',
      extensions: { code: 'FORBIDDEN' },
    });
    expect(delta).toEqual({
      status: 'fulfilled',
      value: [
        { username: 'bob', role: 'project-viewer' },
        { username: 'carol', role: 'project-admin' },
      ],
    });
    expect(missing).toEqual({ status: 'fulfilled', value: [] });
  });

  it('decides each request on its own viewer, and a platform admin sees every project', async () => {
    const bob = await Promise.allSettled(['gamma', 'alpha'].map((p) => projects.projectMembers(scope('bob'), p)));
    expect(bob.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);

    const spy = vi.spyOn(store, 'projectMembers');
    const root = scope('root', 'platform-admin');
    const all = await Promise.all(Object.keys(NAMESPACES).map((p) => projects.projectMembers(root, p)));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    expect(all.map((m) => m.map((x) => x.username))).toEqual([
      ['bob', 'carol'],
      ['carol'],
      ['dave'],
      ['bob', 'carol'],
      // Granted on an earlier namespace of that name.
      [],
    ]);
  });

  it('reads again after the members change in the same request', async () => {
    const req = scope('root', 'platform-admin');
    expect((await projects.projectMembers(req, 'beta')).map((m) => m.username)).toEqual(['carol']);
    await store.upsertProjectMember(db, 'beta', 'uid-beta', 'bob', 'project-viewer');
    expect((await projects.projectMembers(req, 'beta')).map((m) => m.username)).toEqual(['bob', 'carol']);
  });
});
