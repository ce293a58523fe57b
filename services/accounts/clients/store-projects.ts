// The SQL of project members: each row names the namespace uid it was granted on (the workspace is its label).
import type { Queryable } from './db.js';
import type { MemberRow } from './store-workspaces.js';

export interface ProjectMembershipRow {
  project: string;
  namespace_uid: string | null;
  role: string;
}

export const projectStore = {
  async upsertProjectMember(
    q: Queryable,
    project: string,
    namespaceUid: string,
    username: string,
    role: string,
  ): Promise<void> {
    // A row of an earlier namespace under the same name is replaced, never extended.
    await q.query(
      `INSERT INTO project_members (project, namespace_uid, username, role) VALUES ($1, $2, $3, $4)
       ON CONFLICT (project, username) DO UPDATE SET role = EXCLUDED.role, namespace_uid = EXCLUDED.namespace_uid, created_at = CASE WHEN project_members.namespace_uid IS DISTINCT FROM EXCLUDED.namespace_uid THEN now() ELSE project_members.created_at END`,
      [project, namespaceUid, username, role],
    );
  },
  async deleteProjectMember(q: Queryable, project: string, namespaceUid: string, username: string): Promise<boolean> {
    return (
      (
        await q.query('DELETE FROM project_members WHERE project = $1 AND namespace_uid = $2 AND username = $3', [
          project,
          namespaceUid,
          username,
        ])
      ).rowCount > 0
    );
  },
  /** A user's memberships of these projects (removed with the workspace membership). */
  async deleteProjectMemberships(q: Queryable, projects: readonly string[], username: string): Promise<number> {
    return (
      await q.query('DELETE FROM project_members WHERE username = $2 AND project = ANY($1::text[])', [
        projects,
        username,
      ])
    ).rowCount;
  },
  /** Every membership of a namespace that is gone (its uid), and rows of its name from before uids were recorded. */
  async deleteMembershipsOfNamespace(q: Queryable, project: string, namespaceUid: string): Promise<number> {
    return (
      await q.query(
        'DELETE FROM project_members WHERE namespace_uid = $2 OR (project = $1 AND namespace_uid IS NULL)',
        [project, namespaceUid],
      )
    ).rowCount;
  },
  /** Rows from before uids were recorded whose user is no member of the namespace's workspace. */
  async dropLegacyOutside(q: Queryable, project: string, workspace: string): Promise<number> {
    return (
      await q.query(
        'DELETE FROM project_members m WHERE m.project = $1 AND m.namespace_uid IS NULL AND NOT EXISTS (SELECT 1 FROM workspace_members w WHERE w.workspace = $2 AND w.username = m.username)',
        [project, workspace],
      )
    ).rowCount;
  },
  /** The namespaces (name → uid) that memberships were granted on. */
  async memberNamespaces(q: Queryable): Promise<{ project: string; namespace_uid: string | null }[]> {
    return (
      await q.query<{ project: string; namespace_uid: string | null }>(
        'SELECT DISTINCT project, namespace_uid FROM project_members',
      )
    ).rows;
  },
  /** Rows from before uids were recorded take the uid of the namespace that exists now. */
  async adoptNamespaceUid(q: Queryable, project: string, namespaceUid: string): Promise<number> {
    return (
      await q.query('UPDATE project_members SET namespace_uid = $2 WHERE project = $1 AND namespace_uid IS NULL', [
        project,
        namespaceUid,
      ])
    ).rowCount;
  },
  /** The members of many projects (each on its namespace uid) in one query, by project then username. */
  async projectMembers(
    q: Queryable,
    projects: readonly { project: string; namespaceUid: string }[],
  ): Promise<(MemberRow & { project: string; namespace_uid: string })[]> {
    return (
      await q.query<MemberRow & { project: string; namespace_uid: string }>(
        'SELECT project, namespace_uid, username, role FROM project_members WHERE (project, namespace_uid) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY project, username',
        [projects.map((p) => p.project), projects.map((p) => p.namespaceUid)],
      )
    ).rows;
  },
  async projectRole(
    q: Queryable,
    project: string,
    namespaceUid: string,
    username: string,
  ): Promise<string | undefined> {
    return (
      await q.query<{ role: string }>(
        'SELECT role FROM project_members WHERE project = $1 AND namespace_uid = $2 AND username = $3',
        [project, namespaceUid, username],
      )
    ).rows[0]?.role;
  },
  async projectMemberships(q: Queryable, username: string): Promise<ProjectMembershipRow[]> {
    return (
      await q.query<ProjectMembershipRow>(
        'SELECT project, namespace_uid, role FROM project_members WHERE username = $1 ORDER BY project',
        [username],
      )
    ).rows;
  },
};
