// A fresh PGlite data folder as a copy of a template, instead of running initdb in it. initdb (the bootstrap and the
// template databases, in WebAssembly) is most of the CPU an embedded database costs at `npm start`: seconds, twice
// (accounts and apps), where opening an existing folder costs a fraction of that. The template is an initdb'd
// folder, cleanly shut down, made once per machine and PGlite version (a new PGlite version may change the data
// format) in node_modules/.cache/kubegraph/ beside the package, and copied into each new data folder: Postgres data
// folders hold no absolute path and PGlite always runs initdb with the same settings, so the copy is the database
// initdb would have made. Anything that fails here (a read-only node_modules, a full disk) leaves the folder as it
// was, and PGlite runs initdb in it as before. A caller may also ask for a template that holds its schema already
// (db.ts `template`: npm start's, migrated): a folder per hash of what fills it, made from a copy of the initdb'd one.
import { constants, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { isProduction } from '../../common/config.js';

type PGliteClass = typeof import('@electric-sql/pglite').PGlite;

/**
 * Where the template of this PGlite version lives (`kind`: initdb'd only, or another name for one filled further);
 * undefined when the package cannot be located.
 */
export function pgliteTemplatePath(kind = 'initdb'): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    const at = entry.lastIndexOf('/node_modules/');
    if (at < 0) return undefined;
    const nodeModules = entry.slice(0, at + '/node_modules'.length);
    const pkg = JSON.parse(readFileSync(join(nodeModules, '@electric-sql/pglite/package.json'), 'utf8')) as {
      version: string;
    };
    return join(nodeModules, '.cache', 'kubegraph', `pglite-${pkg.version}-${kind}`);
  } catch {
    return undefined;
  }
}

// One template made at a time in a process (accounts and apps open theirs concurrently at start).
const making = new Map<string, Promise<boolean>>();

/** Makes a database in a new folder: initdb's, unless the caller fills it further; closed cleanly when it resolves. */
export type TemplateBuilder = (folder: string) => Promise<void>;

const initdb =
  (PGlite: PGliteClass): TemplateBuilder =>
  async (folder) => {
    const db = new PGlite(folder);
    await db.waitReady;
    await db.close();
  };

async function makeTemplate(template: string, build: TemplateBuilder): Promise<boolean> {
  removeAbandoned(template);
  if (existsSync(join(template, 'PG_VERSION'))) return true;
  // Built aside and renamed into place: a template is complete or absent, also with two processes at it at once.
  const partial = `${template}.partial-${process.pid}-${Date.now().toString(36)}`;
  try {
    await build(partial);
    try {
      renameSync(partial, template);
    } catch {
      // Another process renamed its template first: the same database, ours is not needed.
    }
    return existsSync(join(template, 'PG_VERSION'));
  } catch {
    return false;
  } finally {
    removeQuietly(partial);
  }
}

/** Partial templates of processes that are gone (killed while making one): 40 MB each, removed. */
function removeAbandoned(template: string): void {
  const prefix = `${basename(template)}.partial-`;
  try {
    for (const f of readdirSync(dirname(template))) {
      if (!f.startsWith(prefix)) continue;
      const pid = Number(f.slice(prefix.length).split('-')[0]);
      if (pid > 0 && pid !== process.pid && !alive(pid)) removeQuietly(join(dirname(template), f));
    }
  } catch {
    // No cache folder yet.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // Nothing was made there.
  }
}

/**
 * Fills a data folder that holds no database yet with a copy of the template (making the template first when there
 * is none yet). Files of others in it stay (the apps subgraph keeps its credentials.key there); a folder holding any
 * file of a database (PG_VERSION, or anything named like an entry of the template) is left to PGlite. Returns
 * whether it copied. `build` makes the template when there is none (by default initdb); the template's name must
 * change whenever what `build` puts in it does.
 */
export async function seedFromTemplate(
  PGlite: PGliteClass,
  dataDir: string,
  template = pgliteTemplatePath(),
  build: TemplateBuilder = initdb(PGlite),
): Promise<boolean> {
  // In production (the image) a database folder is made once per volume and node_modules belongs to the image: the
  // template would only add its making to that one first start.
  if (!template || isProduction() || existsSync(join(dataDir, 'PG_VERSION'))) return false;
  let made = making.get(template);
  if (!made) {
    made = makeTemplate(template, build);
    making.set(template, made);
    void made.finally(() => making.delete(template));
  }
  if (!(await made)) return false;
  const ours = readdirSync(template);
  const present = new Set(existsSync(dataDir) ? readdirSync(dataDir) : []);
  if (ours.some((f) => present.has(f))) return false;
  try {
    // Copied off the main thread (40 MB: a third of a second of it, issue 19 §4), as a reflink where the file system
    // has them.
    await cp(template, dataDir, {
      recursive: true,
      force: false,
      errorOnExist: true,
      mode: constants.COPYFILE_FICLONE,
    });
    return true;
  } catch {
    // A half copy would be taken for a database: what was copied goes again, and PGlite runs initdb.
    for (const f of ours) removeQuietly(join(dataDir, f));
    return false;
  }
}
