// Where chart repositories are kept: a table of the apps subgraph's own, in a schema of its own (`apps` by default)
// of the PostgreSQL database accounts uses (DATABASE_URL), or in an embedded PGlite in APPS_DATA_DIR when there is
// none. Chosen over custom resources because repositories hold credentials (a CRD would put them, encrypted or not,
// in front of everyone with read access to that resource and in etcd backups of the cluster kubegraph watches, which
// need not be kubegraph's own), because names must be unique platform-wide with a real constraint (CONFLICT on a
// race between replicas), and because the deployment already runs that database with its backups; replicas share
// the table and a restart finds it again. The in-memory chart indexes are per replica and rebuilt from the URLs.
// The database plumbing (pg or PGlite behind one interface) is accounts' db.ts, reused as it is. `npm start` hands
// over accounts' own embedded database instead (one PGlite to open rather than two, issue 19 §4): the table is then in
// schema `apps` of it, named with its schema in every statement, since the one PGlite connection's search_path is
// accounts'.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, pgCode, type Db, type Queryable } from '../../accounts/clients/db.js';
import { splitStatements } from '../../accounts/clients/migrations.js';

export interface RepositoryRow {
  name: string;
  url: string;
  /** null: a platform repository. */
  workspace: string | null;
  /** Encrypted basic-auth credentials (model/catalog-credentials.ts); null: none. */
  credentials: string | null;
  created_at: Date;
  synced_at: Date | null;
  sync_error: string | null;
}

export interface RepositoryStore {
  list(): Promise<RepositoryRow[]>;
  get(name: string): Promise<RepositoryRow | undefined>;
  /** false when the name is taken. */
  insert(row: Omit<RepositoryRow, 'created_at'>): Promise<boolean>;
  /** false when there was none. */
  delete(name: string): Promise<boolean>;
  recordSync(name: string, syncedAt: Date | null, error: string | null): Promise<void>;
  close(): Promise<void>;
}

export interface RepositoryStoreOptions {
  /** postgres://… (the accounts database); unset: embedded PGlite. */
  databaseUrl?: string;
  /**
   * PGlite's data folder; unset with no URL: in memory (tests). With `db`, the folder of an earlier embedded apps
   * database, if there is one: its repositories are copied into `db` once (an upgrade keeps them), then it is not read.
   */
  dataDir?: string;
  /** An open database to keep the table in instead (npm start: accounts' embedded one); the caller closes it. */
  db?: Db;
  /** Default `apps`. */
  schema?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Written into an earlier apps database's folder once its repositories are copied into the shared database. */
export const MOVED_MARKER = 'MOVED.txt';

const migration = (table: string) => `
  CREATE TABLE IF NOT EXISTS ${table} (
    name text PRIMARY KEY,
    url text NOT NULL,
    workspace text,
    credentials text,
    created_at timestamptz NOT NULL DEFAULT now(),
    synced_at timestamptz,
    sync_error text
  )`;

/**
 * The SQL that makes the table in a database shared with accounts (npm start), for accounts' migrated template
 * (migrations.ts migratedTemplate): the same statements openRepositoryStore runs, which then finds them done.
 */
export function sharedRepositoryTableSql(schema = 'apps'): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  return `CREATE SCHEMA IF NOT EXISTS ${schema};\n${migration(`${schema}.helm_repositories`)}`;
}

const COLUMNS = 'name, url, workspace, credentials, created_at, synced_at, sync_error';

export async function openRepositoryStore(opts: RepositoryStoreOptions = {}): Promise<RepositoryStore> {
  const schema = opts.schema ?? 'apps';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  const table = `${schema}.helm_repositories`;
  const db: Db =
    opts.db ??
    (await openDb({
      url: opts.databaseUrl,
      dataDir: opts.databaseUrl ? undefined : opts.dataDir,
      schema,
      poolSize: 4,
    }));
  const closeOwn = () => (opts.db ? Promise.resolve() : db.close());
  try {
    // One replica creates the table; the others wait on the lock, then find it.
    await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('kubegraph-apps-migrations'))`);
      if (opts.db) for (const statement of splitStatements(sharedRepositoryTableSql(schema))) await tx.query(statement);
      else await tx.query(migration(table));
    });
    if (opts.db && opts.dataDir) await importEarlierDatabase(opts.dataDir, schema, db, table);
  } catch (e) {
    await closeOwn();
    throw e;
  }
  return repositoryStore(db, table, closeOwn);
}

/**
 * The repositories of an apps database of its own from before `npm start` shared accounts' (an upgrade must not lose
 * them silently): copied once, a name already present kept as it is, then a note left in that folder so that it is
 * not read again. Its files stay (deleting a developer's data is not this code's to do); credentials.key beside them
 * is still the key the copied credentials are sealed with.
 */
async function importEarlierDatabase(dataDir: string, schema: string, into: Db, table: string): Promise<void> {
  if (!existsSync(join(dataDir, 'PG_VERSION')) || existsSync(join(dataDir, MOVED_MARKER))) return;
  const earlier = await openDb({ dataDir, schema });
  let rows: RepositoryRow[];
  try {
    const found = await earlier.query<{ t: string | null }>(`SELECT to_regclass('helm_repositories')::text AS t`);
    rows = found.rows[0]?.t
      ? (await earlier.query<RepositoryRow>(`SELECT ${COLUMNS} FROM helm_repositories ORDER BY name`)).rows
      : [];
  } finally {
    await earlier.close();
  }
  await into.transaction(async (tx) => {
    for (const r of rows)
      await tx.query(
        `INSERT INTO ${table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING`,
        [r.name, r.url, r.workspace, r.credentials, r.created_at, r.synced_at, r.sync_error],
      );
  });
  writeFileSync(
    join(dataDir, MOVED_MARKER),
    `The Helm repositories of the database in this folder (${rows.length}) were copied on ${new Date().toISOString()}\n` +
      `into schema ${schema} of the accounts database, where npm start keeps them now; this database is not read\n` +
      `again. credentials.key is still in use: keep it. The other files may be deleted.\n`,
  );
}

function repositoryStore(db: Db, table: string, close: () => Promise<void>): RepositoryStore {
  const q: Queryable = db;
  return {
    async list() {
      return (await q.query<RepositoryRow>(`SELECT ${COLUMNS} FROM ${table} ORDER BY name`)).rows;
    },
    async get(name) {
      return (await q.query<RepositoryRow>(`SELECT ${COLUMNS} FROM ${table} WHERE name = $1`, [name])).rows[0];
    },
    async insert(row) {
      try {
        const r = await q.query(
          `INSERT INTO ${table} (name, url, workspace, credentials, synced_at, sync_error)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING`,
          [row.name, row.url, row.workspace, row.credentials, row.synced_at, row.sync_error],
        );
        return r.rowCount > 0;
      } catch (e) {
        if (pgCode(e) === '23505') return false;
        throw e;
      }
    },
    async delete(name) {
      return (await q.query(`DELETE FROM ${table} WHERE name = $1`, [name])).rowCount > 0;
    },
    async recordSync(name, syncedAt, error) {
      await q.query(`UPDATE ${table} SET synced_at = COALESCE($2, synced_at), sync_error = $3 WHERE name = $1`, [
        name,
        syncedAt,
        error,
      ]);
    },
    close,
  };
}
