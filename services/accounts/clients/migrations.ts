// Versioned schema migrations, applied at start. Each runs in its own transaction together with its row in
// schema_migrations, so a failing migration leaves the database exactly as it was; an advisory lock taken inside
// that transaction keeps replicas starting at the same time from applying one twice.
import { createHash } from 'node:crypto';
import type { Db, DbTemplate } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** A membership table: each member's role in a workspace or a project (both kept the same way). */
const membersTable = (table: string, scope: string, scopes: string) => `      CREATE TABLE ${table} (
        ${scope} text NOT NULL REFERENCES ${scopes} (name) ON DELETE CASCADE,
        username text NOT NULL REFERENCES users (username) ON DELETE CASCADE,
        role text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (${scope}, username)
      );
      CREATE INDEX ${table}_username ON ${table} (username);`;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'users, tenancy, tokens',
    sql: `
      CREATE TABLE users (
        username text PRIMARY KEY,
        email text,
        display_name text,
        -- scrypt$<log2 N>$<r>$<p>$<salt>$<hash>; NULL for users of an external identity provider
        password_hash text,
        provider text NOT NULL DEFAULT 'local',
        platform_role text NOT NULL DEFAULT 'platform-regular',
        state text NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'DISABLED', 'LOCKED')),
        failed_logins integer NOT NULL DEFAULT 0,
        -- LOCKED with a time: locked by failed logins until then; LOCKED without: until an administrator unlocks
        locked_until timestamptz,
        last_login_at timestamptz,
        password_changed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE workspaces (
        name text PRIMARY KEY,
        description text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
${membersTable('workspace_members', 'workspace', 'workspaces')}
      -- The projects accounts knows of (namespaces; the cluster's label stays the truth of their workspace).
      CREATE TABLE projects (
        name text PRIMARY KEY,
        workspace text REFERENCES workspaces (name) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX projects_workspace ON projects (workspace);
${membersTable('project_members', 'project', 'projects')}
      -- No foreign key: records of unknown usernames are kept too, and outlive deleted users.
      CREATE TABLE login_records (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        source_ip text,
        user_agent text,
        success boolean NOT NULL,
        reason text,
        provider text
      );
      CREATE INDEX login_records_username_at ON login_records (username, at DESC);
      CREATE TABLE refresh_tokens (
        id text PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        family_id text NOT NULL,
        username text NOT NULL REFERENCES users (username) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE TABLE api_tokens (
        id text PRIMARY KEY,
        username text NOT NULL REFERENCES users (username) ON DELETE CASCADE,
        name text NOT NULL,
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz
      );
      CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (username, name) WHERE revoked_at IS NULL;
      CREATE TABLE signing_keys (
        kid text PRIMARY KEY,
        alg text NOT NULL,
        private_jwk text NOT NULL,
        public_jwk text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz
      );
      CREATE TABLE settings (
        key text PRIMARY KEY,
        value text NOT NULL
      );
      -- Bumped by every change of a role binding: caches of bindings compare it.
      INSERT INTO settings (key, value) VALUES ('bindings_revision', '0');
    `,
  },
  {
    version: 2,
    name: 'project members belong to a namespace uid; no stored project workspace',
    sql: `
      -- A membership is granted on one namespace (its uid): a namespace deleted and created again under the same
      -- name starts with no members. Rows from before have no uid: accounts adopts the namespace's current uid at
      -- start if it exists and drops them otherwise (ProjectDirectory.reconcile).
      ALTER TABLE project_members ADD COLUMN namespace_uid text;
      -- The workspace of a project is the namespace's label, read from the cluster at the moment of a check; a copy
      -- here could drift (and did: it was set from a caller's argument).
      ALTER TABLE project_members DROP CONSTRAINT project_members_project_fkey;
      DROP TABLE projects;
      CREATE INDEX project_members_namespace_uid ON project_members (namespace_uid);
    `,
  },
  {
    version: 3,
    name: 'user ids, revoked sessions, login throttling per source',
    sql: `
      -- A user's identity beyond its name: tokens carry it, so that a user deleted and created again under the same
      -- name is another user to them.
      ALTER TABLE users ADD COLUMN uid text;
      UPDATE users SET uid = gen_random_uuid()::text;
      ALTER TABLE users ALTER COLUMN uid SET NOT NULL;
      ALTER TABLE users ALTER COLUMN uid SET DEFAULT gen_random_uuid()::text;
      CREATE UNIQUE INDEX users_uid ON users (uid);
      ALTER TABLE api_tokens ADD COLUMN user_uid text;
      UPDATE api_tokens SET user_uid = u.uid FROM users u WHERE u.username = api_tokens.username;
      -- Sessions (refresh-token families, the sid of access tokens) ended while their access tokens may still live:
      -- kept until those have expired; the gateway follows the list by revision.
      CREATE TABLE revoked_sessions (
        sid text PRIMARY KEY,
        username text NOT NULL,
        revision bigint NOT NULL,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX revoked_sessions_revision ON revoked_sessions (revision);
      INSERT INTO settings (key, value) VALUES ('sessions_revision', '0');
      -- Failed logins counted per (account, source) and per source, so that one source cannot lock a user out of
      -- logging in from elsewhere.
      CREATE TABLE login_throttle (
        key text PRIMARY KEY,
        failures integer NOT NULL,
        window_start timestamptz NOT NULL,
        locked_until timestamptz
      );
      CREATE INDEX login_throttle_window_start ON login_throttle (window_start);
      -- Locks of whole users by failed logins end: they are per source now.
      UPDATE users SET state = 'ACTIVE', failed_logins = 0, locked_until = NULL WHERE state = 'LOCKED' AND locked_until IS NOT NULL;
    `,
  },
];

// Per schema: test files sharing one database migrate their own schemas side by side.
const LOCK = `SELECT pg_advisory_xact_lock(hashtext('kubegraph-accounts-migrations:' || current_schema()))`;

const SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;

export interface MigrationResult {
  applied: number[];
  current: number;
}

/** Applies the migrations not yet recorded, in version order. */
export async function migrate(db: Db, migrations: Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].version === sorted[i - 1].version)
      throw new Error(`duplicate migration version ${sorted[i].version}`);
  // Under the lock too: two replicas' CREATE TABLE IF NOT EXISTS at the same moment can collide.
  await db.transaction(async (tx) => {
    await tx.query(LOCK);
    await tx.query(SCHEMA_MIGRATIONS);
  });
  const applied: number[] = [];
  for (const m of sorted) {
    const done = await db.transaction(async (tx) => {
      await tx.query(LOCK);
      const seen = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (seen.rows.length) return false;
      try {
        for (const statement of splitStatements(m.sql)) await tx.query(statement);
      } catch (e) {
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e });
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  const cur = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return { applied, current: cur.rows[0]?.v ?? 0 };
}

/**
 * A new embedded database that is migrated already (db.ts `template`): these migrations, then `also` (SQL of others
 * kept in the same database, such as apps' table at npm start), applied once into a template that new data folders
 * are copied from. Its key hashes every statement, so a new or changed migration makes another template; migrate()
 * still runs at every start and finds them recorded.
 */
export function migratedTemplate(also: string[] = [], migrations: Migration[] = MIGRATIONS): DbTemplate {
  const key = createHash('sha256')
    .update(JSON.stringify([SCHEMA_MIGRATIONS, migrations.map((m) => [m.version, m.name, m.sql]), also]))
    .digest('hex');
  return {
    key,
    async fill(db) {
      await migrate(db, migrations);
      for (const sql of also) for (const statement of splitStatements(sql)) await db.query(statement);
    },
  };
}

/**
 * One statement per query: parameterless multi-statement strings behave differently across drivers inside a
 * transaction, so migrations are split on semicolons at line ends (they hold no functions with bodies).
 */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}
