// `npm start` (package.json: `node scripts/start.mjs services/start.ts`): runs the TypeScript sources of the entry
// given, with services/common/tracing.ts loaded before it (what `node --import tsx --import
// ./services/common/tracing.ts <entry>` did), from bundles made with esbuild (the transpiler tsx uses;
// scripts/bundle.mjs says how, and which packages stay out) and kept in node_modules/.cache/kubegraph/start/ until a
// file they were made from changes. npm start's threads (services/common/thread.ts) start the same way.
//
// Why (issue 19 §4): under tsx's loader every module, node_modules included, went through its resolve and load hooks
// on another thread; natively, each of the ~3,400 package modules is still resolved, read, compiled and linked on its
// own. Bundled, the entry is one CommonJS file, compiled with V8's code cache of the run before (runCommonJs below),
// and the preload a small ES module. A changed, added or removed file is seen at the next start (the manifest
// records every file the bundle was made from, packages' included, with its size and mtime) and the bundles are made
// again (esbuild, a few seconds). Stack traces point at the .ts files and the packages' own files, as under tsx
// (scripts/stack-traces.mjs: each bundle file's map, read when a trace is first formatted).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import v8 from 'node:v8';
import { isMainThread, threadId } from 'node:worker_threads';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleOptions } from './bundle.mjs';
import { mapStackTraces } from './stack-traces.mjs';

const ROOT = resolve(import.meta.dirname, '..');
// WebAssembly in baseline code only (Liftoff), never tiered up to TurboFan: PGlite's PostgreSQL is the one big module
// npm start runs, and at its boot V8 tiered its hot functions up to TurboFan on background threads, about 0.9 s of
// CPU of a 3.4 s start on two cores (issue 19 §4). Its queries then run about 10% slower (4,000 small queries: 0.71 s
// against 0.65 s), nothing next to a request. Set before anything is compiled, for every thread (V8's flags are per
// process); deployments run node directly and keep V8's default.
if (isMainThread) v8.setFlagsFromString('--liftoff-only');
const CACHE = join(ROOT, 'node_modules', '.cache', 'kubegraph', 'start');
const PRELOAD = 'services/common/tracing.ts';
/** Files whose change makes a new bundle though esbuild does not read them as sources. */
const ALSO = [
  'scripts/start.mjs',
  'scripts/bundle.mjs',
  'scripts/stack-traces.mjs',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
];

const [entry, option] = process.argv.slice(2);
if (!entry || !entry.endsWith('.ts') || !existsSync(resolve(ROOT, entry))) {
  console.error(`usage: node scripts/start.mjs <entry.ts> [--without-preload] (got ${entry ?? 'nothing'})`);
  process.exit(2);
}
// `--without-preload`: the entry alone (npm start's sandbox thread, services/sandbox/thread.ts: the cluster it
// simulates is not kubegraph, and its spans are not kubegraph's).
const preload = option === '--without-preload' ? undefined : PRELOAD;
const entries = [...(preload ? [preload] : []), relative(ROOT, resolve(ROOT, entry))];
// By checkout too: two checkouts may share one node_modules (a linked one, as bench/start.bench.ts's baseline).
const key = `${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}-${entries.map((e) => e.replace(/[^\w.-]+/g, '_')).join('+')}`;
const manifestPath = join(CACHE, `${key}.json`);
/** What a bundle folder holds (manifests of another layout are made again). */
const LAYOUT = 'preload-esm+main';
/** The entry's bundle: 'cjs', or 'esm' when it awaits at its top level. */
let mainFormat;

const stamp = (file) => {
  try {
    const s = statSync(join(ROOT, file));
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
};

/** The bundle's folder when the last one made for these entries is still up to date; else undefined. */
function upToDate() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest.node !== process.version || !existsSync(join(CACHE, manifest.dir))) return undefined;
  if (manifest.layout !== LAYOUT) return undefined;
  mainFormat = manifest.main;
  for (const [file, was] of Object.entries(manifest.inputs)) if (stamp(file) !== was) return undefined;
  return join(CACHE, manifest.dir);
}

async function bundle() {
  const { build } = await import('esbuild');
  mkdirSync(CACHE, { recursive: true });
  const dir = `${key}-${Date.now().toString(36)}-${process.pid}`;
  const report = (e) => {
    // A syntax error in a source file: esbuild's messages name the file and line, as tsx's would.
    for (const m of e.errors ?? [])
      console.error(`${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`);
    if (!e.errors) console.error(e);
    process.exit(1);
  };
  const outdir = join(CACHE, dir);
  const built = (options) => build(options).catch(report);
  // The preload an ES module (it awaits the tracing SDK at its top level; split, so the SDK loads only when tracing is
  // on); the entry one CommonJS file, which runCommonJs below compiles with a code cache, unless it awaits at its top
  // level (a service's main.ts run alone), which CommonJS cannot: then an ES module too.
  const main = (format) => bundleOptions({ root: ROOT, entryPoints: { main: entry }, outdir, format });
  const [preloaded, commonJs] = await Promise.all([
    preload ? built(bundleOptions({ root: ROOT, entryPoints: { preload }, outdir })) : undefined,
    build(main('cjs')).catch((e) =>
      e.errors?.some((m) => /Top-level await is currently not supported/.test(m.text)) ? undefined : report(e),
    ),
  ]);
  const results = [preloaded, commonJs ?? (await built(main('esm')))].filter(Boolean);
  mainFormat = commonJs ? 'cjs' : 'esm';
  const inputs = {};
  for (const file of [...results.flatMap((r) => Object.keys(r.metafile.inputs)), ...ALSO]) inputs[file] = stamp(file);
  const tmp = `${manifestPath}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ node: process.version, dir, inputs, layout: LAYOUT, main: mainFormat }));
  renameSync(tmp, manifestPath);
  // Bundles no manifest names any more and made over 10 minutes ago: another npm start (or thread) may still be
  // making one or running from it, the more so as each npm start makes three (its threads') at once.
  const current = new Set(
    readdirSync(CACHE)
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        try {
          return JSON.parse(readFileSync(join(CACHE, f), 'utf8')).dir;
        } catch {
          return undefined;
        }
      }),
  );
  for (const d of readdirSync(CACHE, { withFileTypes: true })) {
    if (!d.isDirectory() || current.has(d.name)) continue;
    try {
      if (Date.now() - statSync(join(CACHE, d.name)).mtimeMs > 10 * 60_000)
        rmSync(join(CACHE, d.name), { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
  return join(CACHE, dir);
}

const out = upToDate() ?? (await bundle());
// Stack traces name the sources (the .ts files, the packages' files), the maps read only when a trace is formatted.
mapStackTraces(CACHE);
if (preload) await import(pathToFileURL(join(out, 'preload.js')).href);
if (mainFormat === 'cjs') runCommonJs(join(out, 'main.js'));
else await import(pathToFileURL(join(out, 'main.js')).href);

/**
 * Runs a CommonJS bundle as Node would require it, compiled with V8's code cache of an earlier run (`<file>.v8`, made
 * when this process or thread exits, with every function compiled by then): most of a start after the first then
 * compiles nothing (issue 19 §4). Node 20 offers no such cache for ES modules (Node 22's module.enableCompileCache
 * does); a cache V8 refuses (another Node version, other V8 flags) is made again.
 */
function runCommonJs(file) {
  const cacheFile = `${file}.v8`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // None yet.
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(file, 'utf8')}\n})`;
  const script = new vm.Script(wrapped, { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected)
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}-${threadId}`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // A read-only cache folder: the next start compiles again.
      }
    });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
}
