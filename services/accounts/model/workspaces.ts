// Workspaces and their members (KubeSphere's tenant workspaces): who sees which, who manages them, and the
// memberships that carry workspace roles. A workspace's projects are the cluster's (see projects.ts).
import DataLoader from 'dataloader';
import { badUserInput, conflictError, forbiddenError, notFoundError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { pgCode, type Db, type Queryable } from '../clients/db.js';
import { store, type UserRow, type WorkspaceRow } from '../clients/store.js';
import { memo, type Access, type RequestScope } from './access.js';
import { validUsername, validWorkspaceName, workspaceRole } from './roles.js';

export interface Workspace {
  name: string;
  description: string | null;
  createdAt: Date;
}
export interface Member {
  username: string;
  role: string;
}

const workspaceOf = (r: WorkspaceRow): Workspace => ({
  name: r.name,
  description: r.description,
  createdAt: r.created_at,
});

export class Workspaces {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly log: Logger,
  ) {}

  async workspaces(req: RequestScope): Promise<Workspace[]> {
    const a = await this.access.actor(req);
    return (await store.listWorkspaces(this.db, a.platform_role === 'platform-admin' ? undefined : a.username)).map(
      workspaceOf,
    );
  }

  /** null for an unknown workspace; FORBIDDEN for one the viewer is no member of. */
  async workspace(req: RequestScope, name: string): Promise<Workspace | null> {
    const w = await this.access.workspaceLoader(req).load(name);
    if (!w) return null;
    if (!(await this.access.canSeeWorkspace(req, name)))
      throw forbiddenError(`${req.viewer?.username} is no member of workspace ${name}`);
    return workspaceOf(w);
  }

  /** The workspace a project's label names, as far as accounts knows it (no membership needed to see its name). */
  async workspaceByName(req: RequestScope, name: string | null | undefined): Promise<Workspace | null> {
    if (!name) return null;
    const w = await this.access.workspaceLoader(req).load(name);
    return w ? workspaceOf(w) : null;
  }

  async createWorkspace(req: RequestScope, name: string, description: string | null | undefined): Promise<Workspace> {
    const a = await this.access.requirePlatformAdmin(req, 'create workspaces');
    validWorkspaceName(name, 'name');
    if (description && description.length > 1024)
      throw badUserInput('the description is longer than 1024 characters', { field: 'description' });
    const row = await store.insertWorkspace(this.db, name, description ?? null);
    if (!row) throw conflictError(`workspace ${name} already exists`);
    this.log.info('workspace created', { workspace: name, by: a.username });
    return workspaceOf(row);
  }

  async updateWorkspace(req: RequestScope, name: string, description: string | null | undefined): Promise<Workspace> {
    await this.requireWorkspaceAdmin(await this.access.actor(req), this.db, name);
    if (description && description.length > 1024)
      throw badUserInput('the description is longer than 1024 characters', { field: 'description' });
    const row = await store.updateWorkspace(this.db, name, description ?? null);
    if (!row) throw notFoundError(`workspace ${name} not found`);
    return workspaceOf(row);
  }

  /** Its memberships go with it; its projects stay known, without a workspace. */
  async deleteWorkspace(req: RequestScope, name: string): Promise<boolean> {
    await this.access.requirePlatformAdmin(req, 'delete workspaces');
    const deleted = await this.db.transaction(async (tx) => {
      const d = await store.deleteWorkspace(tx, name);
      if (d) await store.bumpRevision(tx);
      return d;
    });
    if (!deleted) throw notFoundError(`workspace ${name} not found`);
    return true;
  }

  /** A platform admin, or a workspace-admin of that workspace (read in the caller's transaction). */
  private async requireWorkspaceAdmin(a: UserRow, q: Queryable, workspace: string): Promise<void> {
    if (a.platform_role === 'platform-admin') return;
    if ((await store.workspaceRole(q, workspace, a.username)) === 'workspace-admin') return;
    throw forbiddenError(`only a platform-admin or a workspace-admin of ${workspace} may manage it`);
  }

  async workspaceMembers(req: RequestScope, workspace: string): Promise<Member[]> {
    if (!(await this.access.canSeeWorkspace(req, workspace)))
      throw forbiddenError(`${req.viewer?.username} is no member of workspace ${workspace}`);
    const loader = memo(
      req,
      'wsMembers',
      () =>
        new DataLoader<string, Member[]>(async (names) => {
          const rows = await store.workspaceMembers(this.db, names);
          return names.map((n) =>
            rows.filter((r) => r.workspace === n).map((r) => ({ username: r.username, role: r.role })),
          );
        }),
    );
    return loader.load(workspace);
  }

  /** The workspaces of a user that the viewer can see too. */
  async userWorkspaces(req: RequestScope, username: string): Promise<Workspace[]> {
    const a = await this.access.actor(req);
    let names = (await store.workspaceMemberships(this.db, username)).map((m) => m.workspace);
    if (a.platform_role !== 'platform-admin' && a.username !== username) {
      const mine = await this.access.myWorkspaceRoles(req);
      names = names.filter((w) => mine.has(w));
    }
    return (await store.getWorkspaces(this.db, names)).sort((x, y) => (x.name < y.name ? -1 : 1)).map(workspaceOf);
  }

  /** The workspace of that name, without authorization (internal: workloads checks it before creating a project). */
  async workspaceExists(name: string): Promise<Workspace | undefined> {
    const [w] = await store.getWorkspaces(this.db, [name]);
    return w ? workspaceOf(w) : undefined;
  }

  /** Adds a member, or changes the role of one. */
  async addWorkspaceMember(req: RequestScope, workspace: string, username: string, role: string): Promise<Workspace> {
    validWorkspaceName(workspace);
    validUsername(username);
    workspaceRole(role);
    // Resolved before the transaction: the actor is read outside it (PGlite has a single connection).
    const a = await this.access.actor(req);
    const row = await this.db.transaction(async (tx) => {
      // The workspace row is share-locked: it cannot be deleted halfway.
      const [w] = await store.getWorkspaces(tx, [workspace], true);
      if (!w) throw notFoundError(`workspace ${workspace} not found`);
      await this.requireWorkspaceAdmin(a, tx, workspace);
      try {
        await store.upsertWorkspaceMember(tx, workspace, username, role);
      } catch (e) {
        if (pgCode(e) === '23503') throw notFoundError(`user ${username} not found`);
        throw e;
      }
      await store.bumpRevision(tx);
      return w;
    });
    return workspaceOf(row);
  }

  /** Removes a member, and with them their memberships of the workspace's projects. */
  async removeWorkspaceMember(req: RequestScope, workspace: string, username: string): Promise<Workspace> {
    const a = await this.access.actor(req);
    const row = await this.db.transaction(async (tx) => {
      const [w] = await store.getWorkspaces(tx, [workspace], true);
      if (!w) throw notFoundError(`workspace ${workspace} not found`);
      await this.requireWorkspaceAdmin(a, tx, workspace);
      if (!(await store.deleteWorkspaceMember(tx, workspace, username)))
        throw notFoundError(`${username} is no member of workspace ${workspace}`);
      await store.deleteProjectMemberships(tx, this.access.projects.namespacesOf(workspace), username);
      await store.bumpRevision(tx);
      return w;
    });
    return workspaceOf(row);
  }
}
