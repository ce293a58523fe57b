// A fresh embedded database is a copy of an initdb'd template (services/accounts/clients/pglite-template.ts), or its
// spare (a copy made ahead) moved in: each must be a working database of its own, the template and spare complete or
// absent, and every failure must leave the folder to PGlite's own initdb.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { pgliteTemplatePath, seedFromTemplate } from '../services/accounts/clients/pglite-template.js';
import { migratedTemplatePath, openDb } from '../services/accounts/clients/db.js';
import { MIGRATIONS, migrate, migratedTemplate, type Migration } from '../services/accounts/clients/migrations.js';
import { openRepositoryStore, sharedRepositoryTableSql } from '../services/apps/clients/repository-store.js';

const dir = mkdtempSync(join(tmpdir(), 'kubegraph-pglite-template-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Until the template's spare, made in the background after a folder was filled, is in place and none is being made. */
async function spareMade(template: string): Promise<void> {
  await vi.waitFor(
    () => {
      expect(existsSync(join(`${template}.spare`, 'PG_VERSION'))).toBe(true);
      const beside = readdirSync(dirname(template));
      expect(beside.filter((f) => f.startsWith(`${basename(template)}.spare.partial-`))).toEqual([]);
    },
    { timeout: 60_000, interval: 20 },
  );
}

/** Folders of a spare being moved into a data folder. */
const claimed = (template: string) =>
  readdirSync(dirname(template)).filter((f) => f.startsWith(`${basename(template)}.claimed-`));

/** A database opens in the folder and answers. */
async function answers(folder: string): Promise<unknown[]> {
  const db = new PGlite(folder);
  try {
    return (await db.query<{ one: number }>('SELECT 1 AS one')).rows;
  } finally {
    await db.close();
  }
}

async function count(folder: string, table: string): Promise<number> {
  const db = new PGlite(folder);
  try {
    const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_tables WHERE tablename = $1', [table]);
    return r.rows[0]!.n;
  } finally {
    await db.close();
  }
}

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
    // And, in the background, one spare for the next new folder.
    await spareMade(template);
    expect(readdirSync(join(dir, 'cache'))).toEqual(['template', 'template.spare']);
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

  it('removes the partial templates, spares and claimed spares of processes that are gone, not those of live ones', async () => {
    const cache = join(dir, 'cache2');
    const gone = ['template.partial-999999999-x', 'template.spare.partial-999999999-x', 'template.claimed-999999999-x'];
    const live = [`template.partial-${process.ppid}-y`, `template.claimed-${process.ppid}-y`];
    for (const f of [...gone, ...live]) mkdirSync(join(cache, f, 'base'), { recursive: true });
    // The template exists already: nothing is made, but the leftovers are looked at first.
    mkdirSync(join(cache, 'template'));
    writeFileSync(join(cache, 'template', 'PG_VERSION'), '17\n');
    expect(await seedFromTemplate(PGlite, join(dir, 'c'), join(cache, 'template'))).toBe(true);
    await spareMade(join(cache, 'template'));
    expect(readdirSync(cache).sort()).toEqual(['template', ...live, 'template.spare'].sort());
  });

  it('fills the next new folder from the spare by renames, and makes another spare; each an independent database', async () => {
    const template = join(dir, 'cache', 'template');
    await spareMade(template);
    const [s1, s2] = [join(dir, 'spare-1'), join(dir, 'spare-2')];
    expect(await seedFromTemplate(PGlite, s1, template)).toBe(true);
    // Taken (moved into s1), and being made again.
    expect(existsSync(`${template}.spare`)).toBe(false);
    expect(claimed(template)).toEqual([]);
    expect(readdirSync(s1).sort()).toEqual(readdirSync(template).sort());
    await spareMade(template);
    expect(await seedFromTemplate(PGlite, s2, template)).toBe(true);
    expect(existsSync(`${template}.spare`)).toBe(false);
    await spareMade(template);
    const db1 = new PGlite(s1);
    await db1.exec("CREATE TABLE only_in_1 (v text); INSERT INTO only_in_1 VALUES ('1')");
    await db1.close();
    expect(await count(s2, 'only_in_1')).toBe(0);
    expect(await count(s1, 'only_in_1')).toBe(1);
    // The template and the new spare are untouched too.
    expect(await count(`${template}.spare`, 'only_in_1')).toBe(0);
  }, 240_000);

  it('fills two folders at once, one from the spare and one copied, both complete', async () => {
    const template = join(dir, 'cache', 'template');
    await spareMade(template);
    const both = [join(dir, 'both-1'), join(dir, 'both-2')];
    expect(await Promise.all(both.map((d) => seedFromTemplate(PGlite, d, template)))).toEqual([true, true]);
    expect(claimed(template)).toEqual([]);
    await spareMade(template);
    for (const d of both) {
      expect(readdirSync(d).sort()).toEqual(readdirSync(template).sort());
      expect(await answers(d)).toEqual([{ one: 1 }]);
    }
  }, 240_000);

  it('copies instead when the spare cannot be moved in (another file system), leaving no part of it behind', async () => {
    const template = join(dir, 'cache', 'template');
    const exdev = (after: number) => {
      let moves = 0;
      return (from: string, to: string) => {
        if (moves++ === after) throw Object.assign(new Error('cross-device link not permitted'), { code: 'EXDEV' });
        renameSync(from, to);
      };
    };
    // Failing after some entries moved: those go again, the copy fills the folder, and a new spare is made.
    await spareMade(template);
    const midway = join(dir, 'exdev-midway');
    mkdirSync(midway);
    writeFileSync(join(midway, 'credentials.key'), 'k');
    expect(await seedFromTemplate(PGlite, midway, template, undefined, exdev(3))).toBe(true);
    expect(claimed(template)).toEqual([]);
    expect(readdirSync(midway).sort()).toEqual([...readdirSync(template), 'credentials.key'].sort());
    expect(readFileSync(join(midway, 'credentials.key'), 'utf8')).toBe('k');
    // Failing at the first entry (as EXDEV does): the spare is whole still, and kept.
    await spareMade(template);
    const first = join(dir, 'exdev-first');
    expect(await seedFromTemplate(PGlite, first, template, undefined, exdev(0))).toBe(true);
    expect(claimed(template)).toEqual([]);
    expect(readdirSync(`${template}.spare`).sort()).toEqual(readdirSync(template).sort());
    await spareMade(template);
    for (const d of [midway, first]) expect(await answers(d)).toEqual([{ one: 1 }]);
  }, 240_000);

  it('copies beside files of others (apps keeps credentials.key there), and leaves any part of a database to PGlite', async () => {
    const template = join(dir, 'cache', 'template');
    const withKey = join(dir, 'with-key');
    mkdirSync(withKey);
    writeFileSync(join(withKey, 'credentials.key'), 'k');
    // From the spare (moved in beside the key).
    await spareMade(template);
    expect(await seedFromTemplate(PGlite, withKey, template)).toBe(true);
    expect(existsSync(`${template}.spare`)).toBe(false);
    await spareMade(template);
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
    expect(await answers(fresh)).toEqual([{ one: 1 }]);
  }, 240_000);
});

describe('migrated templates (npm start: accounts migrations and apps table already in a new database)', () => {
  const extra: Migration = { version: 10_000, name: 'test only', sql: 'CREATE TABLE template_test_extra (v text);' };
  const made: string[] = [];
  afterAll(async () => {
    // Their spares made first (in the background), then removed with them.
    for (const m of made) {
      await spareMade(m);
      for (const f of [m, `${m}.spare`]) rmSync(f, { recursive: true, force: true });
    }
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
