// `npm start` (package.json: `node scripts/start.mjs services/start.ts`): runs the TypeScript sources of the entry
// given, with services/common/tracing.ts loaded before it (what `node --import tsx --import
// ./services/common/tracing.ts <entry>` did), from one ES module bundle of kubegraph's own code, made with esbuild (the
// transpiler tsx uses) and kept in node_modules/.cache/kubegraph/start/ until a source file changes.
//
// Why: under tsx's loader every module, node_modules included, goes through its resolve and load hooks on another
// thread, about 1,300 ES modules at start (@kubernetes/client-node alone is 826); that cost more CPU than the modules
// themselves. Bundled, kubegraph's ~300 files are one module and the packages load natively (they stay external,
// imported from node_modules as before). A changed, added or removed source file is seen at the next start (the
// bundle records every file it was made from with its size and mtime) and the bundle is made again (esbuild, well
// under a second). Stack traces point at the .ts files (source maps on, as under tsx), but not into packages: with
// source maps on, Node reads and parses the map of every module it compiles that names one (thousands of files in
// node_modules ship theirs; ~0.4 s of CPU at start, issue 19 §4), and Node 20 cannot limit that to some files
// (module.setSourceMapsSupport's nodeModules option is Node 22.14+, and would skip this bundle too: it is in
// node_modules/.cache). So the packages each entry imports statically are imported first with source maps off, from
// a module beside it that imports just them (one module graph, the same order of evaluation as the bundle's), and
// the entry after them with source maps on: its own modules' maps are read, the packages' (already loaded) are not.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'kubegraph', 'start');
const PRELOAD = 'services/common/tracing.ts';
/** Files whose change makes a new bundle though esbuild does not read them as sources. */
const ALSO = ['scripts/start.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'];

const entry = process.argv[2];
if (!entry || !entry.endsWith('.ts') || !existsSync(resolve(ROOT, entry))) {
  console.error(`usage: node scripts/start.mjs <entry.ts> (got ${entry ?? 'nothing'})`);
  process.exit(2);
}
const entries = [PRELOAD, relative(ROOT, resolve(ROOT, entry))];
const key = entries.map((e) => e.replace(/[^\w.-]+/g, '_')).join('+');
const manifestPath = join(CACHE, `${key}.json`);

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
  if (manifest.packagesFirst !== true) return undefined;
  for (const [file, was] of Object.entries(manifest.inputs)) if (stamp(file) !== was) return undefined;
  return join(CACHE, manifest.dir);
}

/**
 * Per entry, the packages its output imports statically (through the chunks it imports), in the order ES module
 * evaluation reaches them: depth first, in the order of the import statements (esbuild puts them at the top).
 */
function staticPackages(metafile, dir) {
  const outputs = metafile.outputs;
  const seen = new Set();
  const walk = (output, into) => {
    if (seen.has(output)) return;
    seen.add(output);
    for (const i of outputs[output]?.imports ?? []) {
      if (i.kind !== 'import-statement') continue;
      if (!i.external) walk(i.path, into);
      else if (!isBuiltin(i.path) && !into.includes(i.path)) into.push(i.path);
    }
  };
  return entries.map((_, i) => {
    const into = [];
    walk(relative(ROOT, join(CACHE, dir, `entry${i}.js`)), into);
    return into;
  });
}

/** Inside a module: import.meta.url/dirname/filename name the .ts file itself, not the bundle (schema paths etc.). */
const importMetaOfSource = {
  name: 'import-meta-of-source',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path))
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents, loader: 'ts' };
    });
  },
};

async function bundle() {
  const { build } = await import('esbuild');
  mkdirSync(CACHE, { recursive: true });
  const dir = `${key}-${Date.now().toString(36)}-${process.pid}`;
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(entries.map((e, i) => [`entry${i}`, e])),
    outdir: join(CACHE, dir),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [importMetaOfSource],
  }).catch((e) => {
    // A syntax error in a source file: esbuild's messages name the file and line, as tsx's would.
    for (const m of e.errors ?? [])
      console.error(`${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`);
    if (!e.errors) console.error(e);
    process.exit(1);
  });
  const inputs = {};
  for (const file of [...Object.keys(result.metafile.inputs), ...ALSO]) inputs[file] = stamp(file);
  const tmp = `${manifestPath}.${process.pid}`;
  staticPackages(result.metafile, dir).forEach((packages, i) =>
    writeFileSync(
      join(CACHE, dir, `entry${i}-packages.js`),
      packages.map((p) => `import ${JSON.stringify(p)};\n`).join(''),
    ),
  );
  writeFileSync(tmp, JSON.stringify({ node: process.version, dir, inputs, packagesFirst: true }));
  renameSync(tmp, manifestPath);
  // Bundles no manifest names any more, except the newest few: another npm start may still be reading one.
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
  const old = readdirSync(CACHE, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !current.has(d.name))
    .sort((a, b) => statSync(join(CACHE, b.name)).mtimeMs - statSync(join(CACHE, a.name)).mtimeMs)
    .slice(2);
  for (const d of old) rmSync(join(CACHE, d.name), { recursive: true, force: true });
  return join(CACHE, dir);
}

const out = upToDate() ?? (await bundle());
for (let i = 0; i < entries.length; i++) {
  process.setSourceMapsEnabled(false);
  // A package that fails to load fails again, the same way, when the entry imports it.
  await import(pathToFileURL(join(out, `entry${i}-packages.js`)).href).catch(() => {});
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(join(out, `entry${i}.js`)).href);
}
