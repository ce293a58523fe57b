// The SQL of users: their rows, the page of users a viewer may list, and changes made by administrators.
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

export const USER_COLUMNS =
  'username, uid, email, display_name, password_hash, provider, platform_role, state, failed_logins, locked_until, last_login_at, created_at, updated_at';

export const userStore = {
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
};
