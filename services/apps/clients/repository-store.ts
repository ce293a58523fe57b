// Where chart repositories are kept: a table of the apps subgraph's own, in a schema of its own (`apps` by default)
// of the PostgreSQL database accounts uses (DATABASE_URL), or in an embedded PGlite in APPS_DATA_DIR when there is
// none. Chosen over custom resources because repositories hold credentials (a CRD would put them, encrypted or not,
// in front of everyone with read access to that resource and in etcd backups of the cluster kubegraph watches, which
// need not be kubegraph's own), because names must be unique platform-wide with a real constraint (CONFLICT on a
// race between replicas), and because the deployment already runs that database with its backups; replicas share
// the table and a restart finds it again. The in-memory chart indexes are per replica and rebuilt from the URLs.
// The database plumbing (pg or PGlite behind one interface) is accounts' db.ts, reused as it is.
import { openDb, pgCode, type Db, type Queryable } from '../../accounts/clients/db.js';

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
  /** PGlite's data folder; unset with no URL: in memory (tests). */
  dataDir?: string;
  /** Default `apps`. */
  schema?: string;
}

const MIGRATION = `
  CREATE TABLE IF NOT EXISTS helm_repositories (
    name text PRIMARY KEY,
    url text NOT NULL,
    workspace text,
    credentials text,
    created_at timestamptz NOT NULL DEFAULT now(),
    synced_at timestamptz,
    sync_error text
  )`;

const COLUMNS = 'name, url, workspace, credentials, created_at, synced_at, sync_error';

export async function openRepositoryStore(opts: RepositoryStoreOptions = {}): Promise<RepositoryStore> {
  const db: Db = await openDb({
    url: opts.databaseUrl,
    dataDir: opts.databaseUrl ? undefined : opts.dataDir,
    schema: opts.schema ?? 'apps',
    poolSize: 4,
  });
  try {
    // One replica creates the table; the others wait on the lock, then find it.
    await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('kubegraph-apps-migrations'))`);
      await tx.query(MIGRATION);
    });
  } catch (e) {
    await db.close();
    throw e;
  }
  return repositoryStore(db);
}

function repositoryStore(db: Db): RepositoryStore {
  const q: Queryable = db;
  return {
    async list() {
      return (await q.query<RepositoryRow>(`SELECT ${COLUMNS} FROM helm_repositories ORDER BY name`)).rows;
    },
    async get(name) {
      return (await q.query<RepositoryRow>(`SELECT ${COLUMNS} FROM helm_repositories WHERE name = $1`, [name])).rows[0];
    },
    async insert(row) {
      try {
        const r = await q.query(
          `INSERT INTO helm_repositories (name, url, workspace, credentials, synced_at, sync_error)
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
      return (await q.query('DELETE FROM helm_repositories WHERE name = $1', [name])).rowCount > 0;
    },
    async recordSync(name, syncedAt, error) {
      await q.query(
        'UPDATE helm_repositories SET synced_at = COALESCE($2, synced_at), sync_error = $3 WHERE name = $1',
        [name, syncedAt, error],
      );
    },
    close: () => db.close(),
  };
}
