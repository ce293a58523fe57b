// The accounts database: PostgreSQL through `pg` when a URL is given, otherwise an embedded PGlite in a data folder
// (so `npm start` works on a fresh machine). Both run the same SQL behind this one small interface.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { badUserInput } from '../../common/errors.js';
import { pgliteTemplatePath, seedFromTemplate } from './pglite-template.js';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres://… ; unset: embedded PGlite in dataDir. */
  url?: string;
  /** PGlite's data folder (created when missing); unset with no url: in memory. */
  dataDir?: string;
  /** A schema to use (created when missing) instead of public; tests give each file its own. */
  schema?: string;
  /** Most pooled connections to PostgreSQL. */
  poolSize?: number;
  /**
   * PGlite only: what a new data folder should hold already (npm start: the migrated schema). It is copied from a
   * template filled once per key and schema; whoever opens the database still runs its migrations, which find them
   * done. Ignored with a url or in memory.
   */
  template?: DbTemplate;
}

export interface DbTemplate {
  /** A hash of everything fill writes (every migration's SQL): another key is another template, never a stale one. */
  key: string;
  /** Fills the template's database (opened with the same schema) once; the same statements as at start. */
  fill(db: Db): Promise<void>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema))
    throw new Error(`invalid schema name ${JSON.stringify(opts.schema)}`);
  return opts.url ? openPostgres(opts.url, opts) : openPGlite(opts);
}

// Serialization failures and deadlocks are retried: the transaction is replayed from the start.
const RETRYABLE = new Set(['40001', '40P01']);

async function openPostgres(url: string, opts: DbOptions): Promise<Db> {
  if (opts.schema) {
    // Created before the pool sets it as search_path on every connection.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
    } catch (e) {
      // Another process created it at the same moment (IF NOT EXISTS does not cover that race).
      if (pgCode(e) !== '23505' && pgCode(e) !== '42P06') throw e;
    } finally {
      await c.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const query = async <T>(
    client: pg.Pool | pg.PoolClient,
    sql: string,
    params?: unknown[],
  ): Promise<QueryResult<T>> => {
    const r = await client.query(sql, withoutNul(params) as unknown[] | undefined);
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  };
  return {
    kind: 'postgres',
    query: (sql, params) => query(pool, sql, params),
    async transaction(fn) {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const result = await fn({ query: (sql, params) => query(client, sql, params) });
          await client.query('COMMIT');
          return result;
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {});
          if (attempt < 5 && RETRYABLE.has((e as { code?: string }).code ?? '')) continue;
          throw e;
        } finally {
          client.release();
        }
      }
    },
    close: () => pool.end(),
  };
}

async function openPGlite(opts: DbOptions): Promise<Db> {
  // Loaded only when used: the WebAssembly build is large, and deployments with DATABASE_URL never need it.
  const { PGlite } = await import('@electric-sql/pglite');
  if (opts.dataDir) {
    mkdirSync(opts.dataDir, { recursive: true });
    // A new folder: a copy of a template rather than initdb again (pglite-template.ts), an already migrated one when
    // the caller says what migrated means (its migrations then find nothing to do: ~1.5 s of CPU at npm start).
    const t = opts.template;
    let seeded = false;
    if (t) {
      const path = migratedTemplatePath(t, opts.schema);
      const fill = async (folder: string) => {
        const db = await openPGlite({ dataDir: folder, schema: opts.schema });
        try {
          await t.fill(db);
        } finally {
          await db.close();
        }
      };
      seeded = !!path && (await seedFromTemplate(PGlite, opts.dataDir, path, fill));
    }
    if (!seeded) await seedFromTemplate(PGlite, opts.dataDir);
  }
  // shared_buffers 16 MB rather than initdb's 128 MB: Postgres zeroes its shared memory at every start, which in
  // WebAssembly was ~0.6 s of CPU per open (issue 19 §4); these databases are a few MB.
  const db = new PGlite(opts.dataDir, { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] });
  await db.waitReady;
  if (opts.schema) await db.exec(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}; SET search_path TO ${opts.schema}`);
  // A query on the database (not the transaction) from inside a transaction would wait for the transaction to end,
  // forever: refused loudly instead, so such a bug shows in tests rather than as a hang.
  const inTransaction = new AsyncLocalStorage<boolean>();
  const wrap = <T>(r: { rows: unknown[]; affectedRows?: number }): QueryResult<T> => ({
    rows: r.rows as T[],
    rowCount: r.affectedRows ?? r.rows.length,
  });
  return {
    kind: 'pglite',
    query: async (sql, params) => {
      if (inTransaction.getStore())
        throw new Error(
          'a query outside the transaction was made inside it (PGlite has one connection: it would wait forever)',
        );
      return wrap(await db.query(sql, withoutNul(params)));
    },
    // PGlite is one connection: its transaction() holds a mutex, so other queries wait until it ends.
    transaction: (fn) =>
      db.transaction((tx) =>
        inTransaction.run(true, () =>
          fn({ query: async (sql, params) => wrap(await tx.query(sql, withoutNul(params))) }),
        ),
      ),
    close: () => db.close(),
  };
}

/** The folder of the template `openDb({ template, schema, dataDir })` copies a new folder from (per key and schema). */
export function migratedTemplatePath(template: DbTemplate, schema?: string): string | undefined {
  const hash = createHash('sha256')
    .update(JSON.stringify([template.key, schema ?? null]))
    .digest('hex')
    .slice(0, 16);
  return pgliteTemplatePath(`migrated-${hash}`);
}

/**
 * PostgreSQL text cannot hold a NUL character: a value with one (a name looked up, a description stored) is the
 * caller's mistake, refused as BAD_USER_INPUT before it reaches the database, whose own refusal would surface as an
 * internal error carrying its message. The model's validators refuse such names first; this covers every other path.
 */
function withoutNul(params: unknown[] | undefined): unknown[] | undefined {
  for (const p of params ?? []) {
    const values = Array.isArray(p) ? p : [p];
    if (values.some((v) => typeof v === 'string' && v.includes('\u0000')))
      throw badUserInput('text arguments must not contain NUL characters');
  }
  return params;
}

/** The PostgreSQL error code of a failed query (23505 unique violation, 23503 foreign key violation, …). */
export function pgCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}
