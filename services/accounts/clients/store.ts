// Every SQL statement of accounts, as functions over a Queryable (the pool or a transaction). No rules here:
// the model decides who may do what and calls these inside its transactions.
import type { Queryable } from './db.js';

export interface UserRow {
  username: string;
  /** The user's identity: a user created again under the same name has another one. */
  uid: string;
  email: string | null;
  display_name: string | null;
  password_hash: string | null;
  provider: string;
  platform_role: string;
  state: 'ACTIVE' | 'DISABLED' | 'LOCKED';
  failed_logins: number;
  locked_until: Date | null;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
}
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
export interface ProjectMembershipRow {
  project: string;
  namespace_uid: string | null;
  role: string;
}
export interface LoginRecordRow {
  username: string;
  at: Date;
  source_ip: string | null;
  user_agent: string | null;
  success: boolean;
  reason: string | null;
  provider: string | null;
}
export interface RefreshTokenRow {
  id: string;
  family_id: string;
  username: string;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}
export interface ApiTokenRow {
  id: string;
  username: string;
  name: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  /** The uid of the user it was created for. */
  user_uid: string | null;
}
export interface SigningKeyRow {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created_at: Date;
  retired_at: Date | null;
}

const USER_COLUMNS =
  'username, uid, email, display_name, password_hash, provider, platform_role, state, failed_logins, locked_until, last_login_at, created_at, updated_at';
const API_TOKEN_COLUMNS = 'id, username, name, created_at, expires_at, last_used_at, revoked_at, user_uid';

export const store = {
  // ---- users
  async getUser(q: Queryable, username: string, forUpdate = false): Promise<UserRow | undefined> {
    return (
      await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1${forUpdate ? ' FOR UPDATE' : ''}`, [
        username,
      ])
    ).rows[0];
  },
  async getUsers(q: Queryable, usernames: readonly string[]): Promise<UserRow[]> {
    return (await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = ANY($1::text[])`, [usernames]))
      .rows;
  },
  /** A page of users by username; `visibleTo` limits it to that user and those sharing a workspace with them. */
  async listUsers(
    q: Queryable,
    opts: { after?: string; limit: number; visibleTo?: string },
  ): Promise<{ rows: UserRow[]; total: number }> {
    const visible = `($2::text IS NULL OR username = $2 OR username IN (
        SELECT m.username FROM workspace_members m JOIN workspace_members mine ON mine.workspace = m.workspace WHERE mine.username = $2))`;
    const rows = (
      await q.query<UserRow>(
        `SELECT ${USER_COLUMNS} FROM users WHERE ($1::text IS NULL OR username > $1) AND ${visible} ORDER BY username LIMIT $3`,
        [opts.after ?? null, opts.visibleTo ?? null, opts.limit],
      )
    ).rows;
    const total = (
      await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE $1::text IS NULL AND ${visible}`, [
        null,
        opts.visibleTo ?? null,
      ])
    ).rows[0].n;
    return { rows, total };
  },
  /** Inserts a user; undefined when the username is taken. */
  async insertUser(
    q: Queryable,
    u: {
      username: string;
      email: string | null;
      displayName: string | null;
      passwordHash: string | null;
      provider: string;
      platformRole: string;
    },
  ): Promise<UserRow | undefined> {
    return (
      await q.query<UserRow>(
        `INSERT INTO users (username, email, display_name, password_hash, provider, platform_role, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $4::text IS NULL THEN NULL ELSE now() END)
         ON CONFLICT (username) DO NOTHING RETURNING ${USER_COLUMNS}`,
        [u.username, u.email, u.displayName, u.passwordHash, u.provider, u.platformRole],
      )
    ).rows[0];
  },
  async updateUser(
    q: Queryable,
    username: string,
    patch: { email?: string | null; displayName?: string | null; platformRole?: string },
  ): Promise<UserRow | undefined> {
    return (
      await q.query<UserRow>(
        `UPDATE users SET
           email = CASE WHEN $2 THEN $3 ELSE email END,
           display_name = CASE WHEN $4 THEN $5 ELSE display_name END,
           platform_role = COALESCE($6, platform_role),
           updated_at = now()
         WHERE username = $1 RETURNING ${USER_COLUMNS}`,
        [
          username,
          patch.email !== undefined,
          patch.email ?? null,
          patch.displayName !== undefined,
          patch.displayName ?? null,
          patch.platformRole ?? null,
        ],
      )
    ).rows[0];
  },
  async setUserState(q: Queryable, username: string, state: UserRow['state']): Promise<UserRow | undefined> {
    return (
      await q.query<UserRow>(
        `UPDATE users SET state = $2, failed_logins = 0, locked_until = NULL, updated_at = now() WHERE username = $1 RETURNING ${USER_COLUMNS}`,
        [username, state],
      )
    ).rows[0];
  },
  async setPasswordHash(q: Queryable, username: string, hash: string): Promise<boolean> {
    return (
      (
        await q.query(
          `UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE username = $1`,
          [username, hash],
        )
      ).rowCount > 0
    );
  },
  async deleteUser(q: Queryable, username: string): Promise<boolean> {
    return (await q.query('DELETE FROM users WHERE username = $1', [username])).rowCount > 0;
  },
  /** Whether any of these throttle keys (login_throttle) is locked now. */
  async loginThrottled(q: Queryable, keys: readonly string[]): Promise<boolean> {
    return (
      (await q.query('SELECT 1 FROM login_throttle WHERE key = ANY($1::text[]) AND locked_until > now()', [keys])).rows
        .length > 0
    );
  },
  /**
   * One more failed login under a throttle key, atomically: failures count within `windowSeconds` (or since the last
   * lock ended); at `maxFailures` the key is locked for `lockSeconds`. Returns whether it is locked now.
   */
  async recordLoginFailure(
    q: Queryable,
    key: string,
    maxFailures: number,
    windowSeconds: number,
    lockSeconds: number,
  ): Promise<boolean> {
    const fresh = `(t.window_start <= now() - make_interval(secs => $3) OR t.locked_until <= now())`;
    const failures = `CASE WHEN ${fresh} THEN 1 ELSE t.failures + 1 END`;
    const row = (
      await q.query<{ locked: boolean }>(
        `INSERT INTO login_throttle AS t (key, failures, window_start, locked_until)
         VALUES ($1, 1, now(), CASE WHEN 1 >= $2 THEN now() + make_interval(secs => $4) END)
         ON CONFLICT (key) DO UPDATE SET
           failures = ${failures},
           window_start = CASE WHEN ${fresh} THEN now() ELSE t.window_start END,
           locked_until = CASE WHEN ${failures} >= $2 THEN now() + make_interval(secs => $4) WHEN ${fresh} THEN NULL ELSE t.locked_until END
         RETURNING coalesce(locked_until > now(), false) AS locked`,
        [key, maxFailures, windowSeconds, lockSeconds],
      )
    ).rows[0];
    return row?.locked ?? false;
  },
  async clearLoginFailures(q: Queryable, keys: readonly string[]): Promise<void> {
    await q.query('DELETE FROM login_throttle WHERE key = ANY($1::text[])', [keys]);
  },
  /** Throttle keys whose window and lock are over. */
  async pruneLoginThrottle(q: Queryable, windowSeconds: number): Promise<void> {
    await q.query(
      'DELETE FROM login_throttle WHERE window_start < now() - make_interval(secs => $1) AND (locked_until IS NULL OR locked_until <= now())',
      [windowSeconds],
    );
  },
  async recordSuccessfulLogin(
    q: Queryable,
    username: string,
    profile?: { email: string | null; displayName: string | null },
  ): Promise<UserRow | undefined> {
    return (
      await q.query<UserRow>(
        `UPDATE users SET failed_logins = 0, last_login_at = now(),
           email = CASE WHEN $2 THEN $3 ELSE email END, display_name = CASE WHEN $2 THEN $4 ELSE display_name END
         WHERE username = $1 RETURNING ${USER_COLUMNS}`,
        [username, profile !== undefined, profile?.email ?? null, profile?.displayName ?? null],
      )
    ).rows[0];
  },
  async insertLoginRecord(q: Queryable, r: Omit<LoginRecordRow, 'at'>): Promise<void> {
    await q.query(
      'INSERT INTO login_records (username, source_ip, user_agent, success, reason, provider) VALUES ($1, $2, $3, $4, $5, $6)',
      [r.username, r.source_ip, r.user_agent, r.success, r.reason, r.provider],
    );
  },
  async listLoginRecords(q: Queryable, username: string, limit: number): Promise<LoginRecordRow[]> {
    return (
      await q.query<LoginRecordRow>(
        'SELECT username, at, source_ip, user_agent, success, reason, provider FROM login_records WHERE username = $1 ORDER BY at DESC, id DESC LIMIT $2',
        [username, limit],
      )
    ).rows;
  },

  // ---- workspaces and members
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

  // ---- project members (each row names the namespace uid it was granted on; the workspace is the cluster's label)
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
  async projectMembers(
    q: Queryable,
    projects: readonly { project: string; namespaceUid: string }[],
  ): Promise<(MemberRow & { project: string })[]> {
    return (
      await q.query<MemberRow & { project: string }>(
        'SELECT project, username, role FROM project_members WHERE (project, namespace_uid) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY project, username',
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

  // ---- role-binding revision
  async bumpRevision(q: Queryable): Promise<number> {
    return Number(
      (
        await q.query<{ value: string }>(
          `UPDATE settings SET value = (value::bigint + 1)::text WHERE key = 'bindings_revision' RETURNING value`,
        )
      ).rows[0].value,
    );
  },
  async revision(q: Queryable): Promise<number> {
    return Number(
      (await q.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'bindings_revision'`)).rows[0]?.value ??
        0,
    );
  },
  async getSetting(q: Queryable, key: string): Promise<string | undefined> {
    return (await q.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key])).rows[0]?.value;
  },
  /** Sets a setting only when absent; true when this call set it. */
  async claimSetting(q: Queryable, key: string, value: string): Promise<boolean> {
    return (
      (await q.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]))
        .rowCount > 0
    );
  },

  // ---- refresh tokens
  async insertRefreshToken(
    q: Queryable,
    t: { id: string; hash: string; familyId: string; username: string; ttlSeconds: number },
  ): Promise<void> {
    await q.query(
      `INSERT INTO refresh_tokens (id, token_hash, family_id, username, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [t.id, t.hash, t.familyId, t.username, t.ttlSeconds],
    );
  },
  async refreshTokenByHash(q: Queryable, hash: string, forUpdate = false): Promise<RefreshTokenRow | undefined> {
    return (
      await q.query<RefreshTokenRow>(
        `SELECT id, family_id, username, expires_at, revoked_at, revoked_reason FROM refresh_tokens WHERE token_hash = $1${forUpdate ? ' FOR UPDATE' : ''}`,
        [hash],
      )
    ).rows[0];
  },
  async revokeRefreshToken(q: Queryable, id: string, reason: string): Promise<void> {
    await q.query(
      'UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL',
      [id, reason],
    );
  },
  async revokeRefreshFamily(q: Queryable, familyId: string, reason: string): Promise<void> {
    await q.query(
      'UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = $2 WHERE family_id = $1 AND revoked_at IS NULL',
      [familyId, reason],
    );
  },
  /** Revokes every live refresh token of a user; the sessions (families) they belonged to. */
  async revokeRefreshTokensOf(q: Queryable, username: string, reason: string): Promise<string[]> {
    const rows = (
      await q.query<{ family_id: string }>(
        'UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = $2 WHERE username = $1 AND revoked_at IS NULL RETURNING family_id',
        [username, reason],
      )
    ).rows;
    return [...new Set(rows.map((r) => r.family_id))];
  },

  // ---- revoked sessions (what the gateway follows to refuse access tokens of ended sessions)
  /**
   * Records ended sessions under a new sessions revision, kept `keepSeconds` (the longest an access token of theirs
   * may still live). The revision is bumped by a row update, so revisions commit in order: a reader that has seen
   * revision N has seen every session recorded up to N.
   */
  async recordRevokedSessions(
    q: Queryable,
    sessions: readonly { sid: string; username: string }[],
    keepSeconds: number,
  ): Promise<void> {
    if (!sessions.length) return;
    const revision = (
      await q.query<{ value: string }>(
        `UPDATE settings SET value = (value::bigint + 1)::text WHERE key = 'sessions_revision' RETURNING value`,
      )
    ).rows[0].value;
    await q.query(
      `INSERT INTO revoked_sessions (sid, username, revision, expires_at)
       SELECT sid, username, $3::bigint, now() + make_interval(secs => $4) FROM unnest($1::text[], $2::text[]) AS s (sid, username)
       ON CONFLICT (sid) DO UPDATE SET revision = EXCLUDED.revision, expires_at = GREATEST(revoked_sessions.expires_at, EXCLUDED.expires_at)`,
      [sessions.map((s) => s.sid), sessions.map((s) => s.username), revision, keepSeconds],
    );
    await q.query('DELETE FROM revoked_sessions WHERE expires_at <= now()');
  },
  async sessionsRevision(q: Queryable): Promise<number> {
    return Number(
      (await q.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'sessions_revision'`)).rows[0]?.value ??
        0,
    );
  },
  /** Ended sessions recorded after revision `after` that are still kept. */
  async revokedSessionsSince(
    q: Queryable,
    after: number,
  ): Promise<{ sid: string; revision: number; expires_at: Date }[]> {
    const rows = (
      await q.query<{ sid: string; revision: string; expires_at: Date }>(
        'SELECT sid, revision, expires_at FROM revoked_sessions WHERE revision > $1 AND expires_at > now() ORDER BY revision',
        [after],
      )
    ).rows;
    return rows.map((r) => ({ sid: r.sid, revision: Number(r.revision), expires_at: r.expires_at }));
  },
  async sessionRevoked(q: Queryable, sid: string): Promise<boolean> {
    return (await q.query('SELECT 1 FROM revoked_sessions WHERE sid = $1', [sid])).rows.length > 0;
  },

  // ---- API tokens
  async insertApiToken(
    q: Queryable,
    t: { id: string; username: string; userUid: string; name: string; hash: string; expiresAt: Date | null },
  ): Promise<ApiTokenRow | undefined> {
    return (
      await q.query<ApiTokenRow>(
        `INSERT INTO api_tokens (id, username, name, token_hash, expires_at, user_uid) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (username, name) WHERE revoked_at IS NULL DO NOTHING RETURNING ${API_TOKEN_COLUMNS}`,
        [t.id, t.username, t.name, t.hash, t.expiresAt, t.userUid],
      )
    ).rows[0];
  },
  async listApiTokens(q: Queryable, username: string): Promise<ApiTokenRow[]> {
    return (
      await q.query<ApiTokenRow>(
        `SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE username = $1 AND revoked_at IS NULL ORDER BY created_at, name`,
        [username],
      )
    ).rows;
  },
  async apiTokenById(q: Queryable, id: string): Promise<ApiTokenRow | undefined> {
    return (await q.query<ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE id = $1`, [id])).rows[0];
  },
  async apiTokenByHash(q: Queryable, hash: string): Promise<ApiTokenRow | undefined> {
    return (await q.query<ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1`, [hash]))
      .rows[0];
  },
  /** Marks a use; skipped when the last one is more recent than `granularitySeconds` (one write per token per period). */
  async touchApiToken(q: Queryable, id: string, granularitySeconds: number): Promise<void> {
    await q.query(
      `UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
      [id, granularitySeconds],
    );
  },
  async revokeApiToken(q: Queryable, id: string): Promise<boolean> {
    return (
      (await q.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id])).rowCount >
      0
    );
  },

  // ---- signing keys
  async signingKeys(q: Queryable): Promise<SigningKeyRow[]> {
    return (
      await q.query<SigningKeyRow>(
        'SELECT kid, alg, private_jwk, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid',
      )
    ).rows;
  },
  async insertSigningKey(
    q: Queryable,
    k: { kid: string; alg: string; privateJwk: string; publicJwk: string },
  ): Promise<void> {
    await q.query('INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk) VALUES ($1, $2, $3, $4)', [
      k.kid,
      k.alg,
      k.privateJwk,
      k.publicJwk,
    ]);
  },
  async retireSigningKeys(q: Queryable, exceptKid: string): Promise<void> {
    await q.query('UPDATE signing_keys SET retired_at = now() WHERE kid <> $1 AND retired_at IS NULL', [exceptKid]);
  },
  async lockSigningKeys(q: Queryable): Promise<void> {
    await q.query(`SELECT pg_advisory_xact_lock(hashtext('kubegraph-accounts-signing-keys:' || current_schema()))`);
  },
};
