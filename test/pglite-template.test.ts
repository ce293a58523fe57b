// A fresh embedded database is a copy of an initdb'd template (services/accounts/clients/pglite-template.ts): the
// copy must be a working database of its own, the template complete or absent, and every failure must leave the
// folder to PGlite's own initdb.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { pgliteTemplatePath, seedFromTemplate } from '../services/accounts/clients/pglite-template.js';
import { migratedTemplatePath, openDb } from '../services/accounts/clients/db.js';
import { MIGRATIONS, migrate, migratedTemplate, type Migration } from '../services/accounts/clients/migrations.js';
import { openRepositoryStore, sharedRepositoryTableSql } from '../services/apps/clients/repository-store.js';

const dir = mkdtempSync(join(tmpdir(), 'kubegraph-pglite-template-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PGlite data folders from a template', () => {
  it('is kept beside the PGlite package, per version', () => {
    expect(pgliteTemplatePath()).toMatch(/\/node_modules\/\.cache\/kubegraph\/pglite-\d+\.\d+\.\d+[^/]*-initdb$/);
  });

  it('makes the template once, and each new folder is an independent database copied from it', async () => {
    const template = join(dir, 'cache', 'template');
    mkdirSync(join(dir, 'cache'));
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    // Two at once, as accounts and apps at start: one template, both folders filled.
    expect(await Promise.all([seedFromTemplate(PGlite, a, template), seedFromTemplate(PGlite, b, template)])).toEqual([
      true,
      true,
    ]);
    expect(existsSync(join(template, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(join(dir, 'cache'))).toEqual(['template']);
    const dbA = new PGlite(a);
    await dbA.exec("CREATE TABLE t (v text); INSERT INTO t VALUES ('in a')");
    await dbA.close();
    const dbB = new PGlite(b);
    const inB = await dbB.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 't'");
    expect(inB.rows[0]!.n).toBe(0);
    await dbB.close();
    // Reopened: the row written in a is there.
    const again = new PGlite(a);
    expect((await again.query<{ v: string }>('SELECT v FROM t')).rows).toEqual([{ v: 'in a' }]);
    await again.close();
  }, 240_000);

  it('removes the partial templates of processes that are gone, not those of live ones', async () => {
    const cache = join(dir, 'cache2');
    const gone = join(cache, 'template.partial-999999999-x');
    const live = join(cache, `template.partial-${process.ppid}-y`);
    mkdirSync(gone, { recursive: true });
    mkdirSync(live);
    // The template exists already: nothing is made, but the leftovers are looked at first.
    mkdirSync(join(cache, 'template'));
    writeFileSync(join(cache, 'template', 'PG_VERSION'), '17\n');
    expect(await seedFromTemplate(PGlite, join(dir, 'c'), join(cache, 'template'))).toBe(true);
    expect(readdirSync(cache).sort()).toEqual(['template', `template.partial-${process.ppid}-y`]);
  });

  it('copies beside files of others (apps keeps credentials.key there), and leaves any part of a database to PGlite', async () => {
    const template = join(dir, 'cache', 'template');
    const withKey = join(dir, 'with-key');
    mkdirSync(withKey);
    writeFileSync(join(withKey, 'credentials.key'), 'k');
    expect(await seedFromTemplate(PGlite, withKey, template)).toBe(true);
    expect(existsSync(join(withKey, 'PG_VERSION'))).toBe(true);
    expect(readFileSync(join(withKey, 'credentials.key'), 'utf8')).toBe('k');
    // A folder with a database, or part of one: nothing copied over it.
    const partial = join(dir, 'partial');
    mkdirSync(join(partial, 'base'), { recursive: true });
    writeFileSync(join(partial, 'base', 'x'), 'x');
    expect(await seedFromTemplate(PGlite, partial, template)).toBe(false);
    expect(readdirSync(partial)).toEqual(['base']);
    expect(await seedFromTemplate(PGlite, withKey, template)).toBe(false);
  });

  it('when no template can be made, leaves the folder empty and PGlite runs initdb in it', async () => {
    // The template's parent is a file: nothing can be created there.
    writeFileSync(join(dir, 'not-a-folder'), '');
    const fresh = join(dir, 'fresh');
    mkdirSync(fresh);
    expect(await seedFromTemplate(PGlite, fresh, join(dir, 'not-a-folder', 'template'))).toBe(false);
    expect(readdirSync(fresh)).toEqual([]);
    const db = new PGlite(fresh);
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
  }, 240_000);
});

describe('migrated templates (npm start: accounts migrations and apps table already in a new database)', () => {
  const extra: Migration = { version: 10_000, name: 'test only', sql: 'CREATE TABLE template_test_extra (v text);' };
  const made: string[] = [];
  afterAll(() => {
    for (const m of made) rmSync(m, { recursive: true, force: true });
  });

  it('copies a migrated database: the runner still runs and finds nothing to do, apps table included', async () => {
    // A test-only extra statement: a template of its own, removed afterwards.
    const template = migratedTemplate([sharedRepositoryTableSql('apps'), `-- ${dir}\nSELECT 1;`]);
    const path = migratedTemplatePath(template)!;
    made.push(path);
    expect(path).toMatch(/\/node_modules\/\.cache\/kubegraph\/pglite-\d+\.\d+\.\d+[^/]*-migrated-[0-9a-f]{16}$/);
    // Several at once (tests open databases in parallel): one template, complete, no partial left.
    const dirs = [0, 1, 2].map((i) => join(dir, `migrated-${i}`));
    const dbs = await Promise.all(dirs.map((d) => openDb({ dataDir: d, template })));
    expect(existsSync(join(path, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(join(path, '..')).filter((f) => f.startsWith(`${basename(path)}.partial-`))).toEqual([]);
    const last = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    for (const db of dbs) {
      expect(await migrate(db)).toEqual({ applied: [], current: last });
      const apps = await db.query("SELECT to_regclass('apps.helm_repositories')::text AS t");
      expect(apps.rows).toEqual([{ t: 'apps.helm_repositories' }]);
      const store = await openRepositoryStore({ db });
      expect(await store.list()).toEqual([]);
      await store.close();
    }
    // Independent copies.
    await dbs[0]!.query("INSERT INTO workspaces (name) VALUES ('only-in-0')");
    expect((await dbs[1]!.query('SELECT name FROM workspaces')).rows).toEqual([]);
    await Promise.all(dbs.map((db) => db.close()));
    // A new migration is applied by the runner on a database copied from a template without it.
    const older = await openDb({ dataDir: join(dir, 'migrated-older'), template });
    expect(await migrate(older, [...MIGRATIONS, extra])).toEqual({ applied: [extra.version], current: extra.version });
    await older.close();
  }, 240_000);

  it('a new or changed migration, or another schema, is another template, never the stale one', async () => {
    const base = migratedTemplate([]);
    const more = migratedTemplate([], [...MIGRATIONS, extra]);
    const changed = migratedTemplate(
      [],
      MIGRATIONS.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\nSELECT 1;` } : m)),
    );
    const paths = new Set([
      migratedTemplatePath(base),
      migratedTemplatePath(more),
      migratedTemplatePath(changed),
      migratedTemplatePath(base, 'other'),
      migratedTemplatePath(migratedTemplate([sharedRepositoryTableSql('apps')])),
      migratedTemplatePath(migratedTemplate([sharedRepositoryTableSql('apps2')])),
    ]);
    expect(paths.size).toBe(6);
    const path = migratedTemplatePath(more)!;
    made.push(path);
    const db = await openDb({ dataDir: join(dir, 'migrated-more'), template: more });
    expect(await migrate(db, [...MIGRATIONS, extra])).toEqual({ applied: [], current: extra.version });
    expect((await db.query("SELECT to_regclass('template_test_extra')::text AS t")).rows).toEqual([
      { t: 'template_test_extra' },
    ]);
    await db.close();
  }, 240_000);
});
