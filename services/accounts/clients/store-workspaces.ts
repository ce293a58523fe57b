// The SQL of workspaces and their members.
import type { Queryable } from './db.js';

export interface WorkspaceRow {
  name: string;
  description: string | null;
  created_at: Date;
}
export interface MemberRow {
  username: string;
  role: string;
}
export interface WorkspaceMembershipRow {
  workspace: string;
  role: string;
}

export const workspaceStore = {
  async insertWorkspace(q: Queryable, name: string, description: string | null): Promise<WorkspaceRow | undefined> {
    return (
      await q.query<WorkspaceRow>(
        'INSERT INTO workspaces (name, description) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name, description, created_at',
        [name, description],
      )
    ).rows[0];
  },
  async getWorkspaces(q: Queryable, names: readonly string[], forShare = false): Promise<WorkspaceRow[]> {
    return (
      await q.query<WorkspaceRow>(
        `SELECT name, description, created_at FROM workspaces WHERE name = ANY($1::text[])${forShare ? ' FOR SHARE' : ''}`,
        [names],
      )
    ).rows;
  },
  /** Every workspace, or those `member` belongs to. */
  async listWorkspaces(q: Queryable, member?: string): Promise<WorkspaceRow[]> {
    return (
      await q.query<WorkspaceRow>(
        `SELECT name, description, created_at FROM workspaces
         WHERE $1::text IS NULL OR name IN (SELECT workspace FROM workspace_members WHERE username = $1) ORDER BY name`,
        [member ?? null],
      )
    ).rows;
  },
  async updateWorkspace(q: Queryable, name: string, description: string | null): Promise<WorkspaceRow | undefined> {
    return (
      await q.query<WorkspaceRow>(
        'UPDATE workspaces SET description = $2 WHERE name = $1 RETURNING name, description, created_at',
        [name, description],
      )
    ).rows[0];
  },
  async deleteWorkspace(q: Queryable, name: string): Promise<boolean> {
    return (await q.query('DELETE FROM workspaces WHERE name = $1', [name])).rowCount > 0;
  },
  async upsertWorkspaceMember(q: Queryable, workspace: string, username: string, role: string): Promise<void> {
    await q.query(
      'INSERT INTO workspace_members (workspace, username, role) VALUES ($1, $2, $3) ON CONFLICT (workspace, username) DO UPDATE SET role = EXCLUDED.role',
      [workspace, username, role],
    );
  },
  async deleteWorkspaceMember(q: Queryable, workspace: string, username: string): Promise<boolean> {
    return (
      (await q.query('DELETE FROM workspace_members WHERE workspace = $1 AND username = $2', [workspace, username]))
        .rowCount > 0
    );
  },
  async workspaceMembers(q: Queryable, workspaces: readonly string[]): Promise<(MemberRow & { workspace: string })[]> {
    return (
      await q.query<MemberRow & { workspace: string }>(
        'SELECT workspace, username, role FROM workspace_members WHERE workspace = ANY($1::text[]) ORDER BY workspace, username',
        [workspaces],
      )
    ).rows;
  },
  async workspaceRole(q: Queryable, workspace: string, username: string): Promise<string | undefined> {
    return (
      await q.query<{ role: string }>('SELECT role FROM workspace_members WHERE workspace = $1 AND username = $2', [
        workspace,
        username,
      ])
    ).rows[0]?.role;
  },
  async workspaceMemberships(q: Queryable, username: string): Promise<WorkspaceMembershipRow[]> {
    return (
      await q.query<WorkspaceMembershipRow>(
        'SELECT workspace, role FROM workspace_members WHERE username = $1 ORDER BY workspace',
        [username],
      )
    ).rows;
  },
};
