// The SQL of API tokens (only their hash is stored) and of the keys that sign access tokens.
import type { Queryable } from './db.js';

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

const API_TOKEN_COLUMNS = 'id, username, name, created_at, expires_at, last_used_at, revoked_at, user_uid';

export const tokenStore = {
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
