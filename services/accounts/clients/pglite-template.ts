// A fresh PGlite data folder as a copy of a template, instead of running initdb in it. initdb (the bootstrap and the
// template databases, in WebAssembly) is most of the CPU an embedded database costs at `npm start`: seconds, twice
// (accounts and apps), where opening an existing folder costs a fraction of that. The template is an initdb'd
// folder, cleanly shut down, made once per machine and PGlite version (a new PGlite version may change the data
// format) in node_modules/.cache/kubegraph/ beside the package, and copied into each new data folder: Postgres data
// folders hold no absolute path and PGlite always runs initdb with the same settings, so the copy is the database
// initdb would have made. Anything that fails here (a read-only node_modules, a full disk) leaves the folder as it
// was, and PGlite runs initdb in it as before. A caller may also ask for a template that holds its schema already
// (db.ts `template`: npm start's, migrated): a folder per hash of what fills it, made from a copy of the initdb'd one.
//
// Even copied, 40 MB (a thousand files) is most of a second of kernel time on the critical path of a fresh start
// (issue 19 §4). So beside each template waits one copy made ahead of time, `<template>.spare`: a new folder takes it
// by renames (claimed whole by one atomic rename, so one process at most gets it; then its entries moved in), and a
// new spare is copied in the background for the next one. The spare's name follows its template's, which changes
// with the PGlite version and whatever fills it, so a spare always holds its template's database. A data folder on
// another file system (EXDEV) gets the copy, as before.
import { constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { cp, rename, rm } from 'node:fs/promises';
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

// Folders beside a template that belong to one process (its pid after the prefix): a template or a spare being made,
// a spare being moved into a data folder.
const OWNED = ['.partial-', '.spare.partial-', '.claimed-'] as const;

/** The folders of one of those kinds beside the template, with their process ids. */
function owned(template: string, kind: (typeof OWNED)[number]): { path: string; pid: number }[] {
  const prefix = `${basename(template)}${kind}`;
  try {
    return readdirSync(dirname(template))
      .filter((f) => f.startsWith(prefix))
      .map((f) => ({ path: join(dirname(template), f), pid: Number(f.slice(prefix.length).split('-')[0]) }));
  } catch {
    return []; // No cache folder yet.
  }
}

/** Such folders of processes that are gone (killed while at it): 40 MB each, removed. */
function removeAbandoned(template: string): void {
  for (const kind of OWNED)
    for (const { path, pid } of owned(template, kind))
      if (pid > 0 && pid !== process.pid && !alive(pid)) removeQuietly(path);
}

/** Unique in this process too (two claims within a millisecond). */
let seq = 0;
const stamp = () => `${process.pid}-${Date.now().toString(36)}-${(seq++).toString(36)}`;

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

/** Moves one entry of a claimed spare into the data folder (renameSync; tests make it fail as across file systems). */
export type MoveEntry = (from: string, to: string) => void;

/**
 * Moves the template's spare into dataDir (created when missing) by renames; whether it did. False, with nothing
 * left in dataDir, when there is no spare, another process took it, or it cannot be moved (EXDEV: another file
 * system).
 */
function claimSpare(template: string, dataDir: string, move: MoveEntry): boolean {
  const spare = `${template}.spare`;
  const claimed = `${template}.claimed-${stamp()}`;
  try {
    renameSync(spare, claimed);
  } catch {
    return false; // None, or another process's now.
  }
  const moved: string[] = [];
  try {
    mkdirSync(dataDir, { recursive: true });
    for (const f of readdirSync(claimed)) {
      move(join(claimed, f), join(dataDir, f));
      moved.push(f);
    }
    return true;
  } catch {
    // Part of a database would be taken for one: what was moved goes again.
    for (const f of moved) removeQuietly(join(dataDir, f));
    if (moved.length === 0) {
      // Untouched (as with EXDEV, which fails the first move), it is still a whole spare: back for the next one,
      // unless another process made one meanwhile.
      try {
        renameSync(claimed, spare);
      } catch {
        // Removed below.
      }
    }
    return false;
  } finally {
    removeQuietly(claimed);
  }
}

// Spares being made in this process, per template: `again` when one was claimed meanwhile (made next, if no other
// process made one).
const refilling = new Map<string, { again: boolean }>();

let refillDelayMs = 0;
/**
 * Spares are made this long after the folder was filled (default at once): `npm start` waits until it has started,
 * a 40 MB copy meanwhile would take the CPU its start needs (issue 19 §4). The wait keeps no process alive.
 */
export function delaySpareRefills(ms: number): void {
  refillDelayMs = ms;
}

/** A new spare for the template, made in the background; failures only mean the next folder is copied. */
function refill(template: string): void {
  if (isProduction()) return; // No templates there (seedFromTemplate), so no spares.
  const running = refilling.get(template);
  if (running) {
    running.again = true;
    return;
  }
  const state = { again: true };
  refilling.set(template, state);
  void (async () => {
    if (refillDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, refillDelayMs).unref());
    while (state.again) {
      state.again = false;
      await makeSpare(template);
    }
  })().finally(() => refilling.delete(template));
}

async function makeSpare(template: string): Promise<void> {
  const spare = `${template}.spare`;
  // One spare is enough, and one made at a time (another live process's would win the rename anyway).
  if (existsSync(spare) || owned(template, '.spare.partial-').some((p) => p.pid !== process.pid && alive(p.pid)))
    return;
  // Made aside and renamed into place: a spare is complete or absent.
  const partial = `${spare}.partial-${stamp()}`;
  try {
    // Asynchronous: the copying is done off the main thread.
    await cp(template, partial, { recursive: true, errorOnExist: true, mode: constants.COPYFILE_FICLONE });
    // Fails (ENOTEMPTY) when another process's spare appeared meanwhile: ours is removed below.
    await rename(partial, spare);
  } catch {
    // A full disk, or the template or its folder removed: no spare, the next folder is copied.
  } finally {
    await rm(partial, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * Fills a data folder that holds no database yet from the template (making the template first when there is none
 * yet): its spare moved in when there is one, else a copy; then a new spare is made in the background. Files of
 * others in it stay (the apps subgraph keeps its credentials.key there); a folder holding any file of a database
 * (PG_VERSION, or anything named like an entry of the template) is left to PGlite. Returns whether it filled it.
 * `build` makes the template when there is none (by default initdb); the template's name must change whenever what
 * `build` puts in it does. `move` is for tests.
 */
export async function seedFromTemplate(
  PGlite: PGliteClass,
  dataDir: string,
  template = pgliteTemplatePath(),
  build: TemplateBuilder = initdb(PGlite),
  move: MoveEntry = renameSync,
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
    if (claimSpare(template, dataDir, move)) return true;
    // Copied off the main thread, as a reflink where the file system has them.
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
  } finally {
    // Started only now: a copy of its own would slow the one above, on the critical path.
    refill(template);
  }
}
