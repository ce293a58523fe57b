// The SQL of logins and sessions: login throttling, login records, refresh tokens (a session is a family of them)
// and the ended sessions the gateway follows.
import type { Queryable } from './db.js';
import { USER_COLUMNS, type UserRow } from './store-users.js';

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

export const sessionStore = {
  // ---- logins
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
};
