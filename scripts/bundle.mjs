// How kubegraph is bundled, for `npm start` (scripts/start.mjs) and for the image's dist/ (scripts/build.mjs): one
// esbuild build of the entry points given, kubegraph's code and the packages it imports together, as ES modules split
// into shared chunks, or one CommonJS file per entry (npm start's, compiled with a code cache).
//
// Why the packages too (issue 19 §3/§4): loaded natively, every package module is resolved, read, parsed and linked
// on its own, about 3,400 files at `npm start` (@kubernetes/client-node alone imports 967, 0.7 s of CPU and 115 MB of
// RSS for `import * as k8s`, against 0.15 s and 62 MB bundled). Bundled, there is one module per entry and a few
// shared chunks, and only what the code reaches of each package.
//
// What stays a package of its own (EXTERNAL): what must be the module Node loads from node_modules, because a hook
// or a file beside it is part of how it works:
// - pg: the tracing preload patches it by require() before the services import it (services/common/tracing.ts);
//   bundled, the services would run an unpatched copy and no PostgreSQL span would be recorded;
// - @electric-sql/pglite: loads its WebAssembly and data files from beside its own modules;
// - esbuild: a native binary, only imported by scripts.
// Everything else that reads files beside itself is handled by `sourceLocations` below.
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export const EXTERNAL = ['pg', '@electric-sql/pglite', 'esbuild'];

/**
 * An ES module bundle has no `require`, which the CommonJS packages in it call for Node's built-in modules (and a few
 * optional ones at run time): one resolving from the bundle's folder, which is under the project's node_modules or
 * beside it, so the packages resolve as they would unbundled.
 */
const REQUIRE_BANNER =
  "import { createRequire as __kubegraphCreateRequire } from 'node:module'; const require = __kubegraphCreateRequire(import.meta.url);";

/**
 * import.meta.url/dirname/filename name the module's own file, not the bundle: kubegraph's code finds its schema
 * files this way, and packages their package.json or data files (and __dirname/__filename in CommonJS ones).
 * `locate.path(file)` and `locate.url(file)` give the expression of a file's path or URL at run time: a string
 * literal where the bundle runs where it was made (npm start), an expression from the bundle's own location where it
 * moves (dist/, the image).
 */
function sourceLocations(locate) {
  const withImportMeta = (source, path) =>
    source
      .replaceAll('import.meta.dirname', locate.path(dirname(path)))
      .replaceAll('import.meta.filename', locate.path(path))
      .replaceAll('import.meta.url', locate.url(path));
  return {
    name: 'source-locations',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => ({
        contents: withImportMeta(readFileSync(args.path, 'utf8'), args.path),
        loader: 'ts',
      }));
      b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!/import\.meta\.(url|dirname|filename)|__dirname|__filename|\bmodule\.require\b/.test(source))
          return undefined;
        // `module.require`, which esbuild's module objects lack: Apollo's createHash tests it to choose node:crypto
        // over a JavaScript SHA-256 (sha.js), ~50x slower, on every operation hashed.
        let contents = withImportMeta(source, args.path).replace(/\bmodule\.require\b/g, 'require');
        // A CommonJS module's own __dirname/__filename: declared at its top (esbuild wraps each CommonJS module in a
        // function of its own), unless it declares them itself (an ES module computing them from import.meta.url).
        const declares = (name) => new RegExp(`\\b(const|let|var|function|class)\\s+${name}\\b`).test(source);
        const vars = [];
        if (/\b__dirname\b/.test(source) && !declares('__dirname'))
          vars.push(`__dirname = ${locate.path(dirname(args.path))}`);
        if (/\b__filename\b/.test(source) && !declares('__filename'))
          vars.push(`__filename = ${locate.path(args.path)}`);
        if (vars.length) {
          // After a hashbang and a "use strict" directive, which must stay first.
          const at = PROLOGUE.exec(contents)?.[0].length ?? 0;
          contents = `${contents.slice(0, at)}\nvar ${vars.join(', ')};\n${contents.slice(at)}`;
        }
        return { contents, loader: 'js' };
      });
    },
  };
}

const PROLOGUE = /^(#![^\n]*\n)?((?:\s|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*(['"])use strict\3;?)?/;

/** Where the bundle runs where it was made: every path as it is now. */
const absolute = {
  path: (path) => JSON.stringify(path),
  url: (path) => JSON.stringify(pathToFileURL(path).href),
};

/**
 * Where `outdir` moves with the project (dist/ in the image's /app, node_modules beside it): a file's place relative
 * to the project root, from `__kubegraphRoot`, which each output file computes from its own URL (RELOCATABLE_BANNER).
 * Kubegraph's sources keep their place under outdir (services/x/y.ts: outdir/services/x/y.js, its schema files in
 * outdir/schema), packages theirs in node_modules beside outdir.
 */
function relocatable(root) {
  const fromRoot = (path) => {
    const rel = relative(root, path).split(sep).join('/');
    return rel.startsWith('node_modules/') ? `../${rel}` : rel.replace(/\.ts$/, '.js');
  };
  const url = (path) => `new URL(${JSON.stringify(fromRoot(path))}, __kubegraphRoot)`;
  return {
    path: (path) => `__kubegraphPath(${url(path)})`,
    url: (path) => `${url(path)}.href`,
  };
}

/** The per-file line that defines `__kubegraphRoot`: outdir's URL, from the output file's own (its depth filled in). */
const ROOT_PLACEHOLDER = '__KUBEGRAPH_ROOT_FROM_HERE__';
const RELOCATABLE_BANNER = `import { fileURLToPath as __kubegraphPath } from 'node:url'; const __kubegraphRoot = new URL(${JSON.stringify(ROOT_PLACEHOLDER)}, import.meta.url);`;

/**
 * Fills each output file's root line (relocatable bundles): its depth under outdir, in a line esbuild already counted
 * (the source maps stay right). `outputFiles`: esbuild's, from a build with `write: false`.
 */
export function withRootLines(outputFiles, outdir) {
  return outputFiles.map((f) => {
    if (!f.path.endsWith('.js')) return { path: f.path, contents: f.contents };
    const depth = relative(outdir, dirname(f.path)).split(sep).filter(Boolean).length;
    const text = f.text.replace(JSON.stringify(ROOT_PLACEHOLDER), JSON.stringify('../'.repeat(depth) || './'));
    return { path: f.path, contents: Buffer.from(text) };
  });
}

/**
 * esbuild options for the entry points `entryPoints` ({ name: source }) into `outdir`. Source maps are linked
 * (`.js.map` beside each output), without the sources' text: a stack trace names the .ts file and line, or the
 * package's own file. `relocate`: the bundle runs from wherever outdir is moved with node_modules beside it (dist/ in
 * the image); the build is then not written, the caller writes `withRootLines(result.outputFiles, outdir)`.
 * `format`: 'esm' (split into shared chunks), or 'cjs' (one file per entry, for scripts/start.mjs's code cache; no
 * top-level await in it).
 */
export function bundleOptions({
  root,
  entryPoints,
  outdir,
  target = `node${process.versions.node.split('.')[0]}`,
  relocate = false,
  format = 'esm',
}) {
  const esm = format === 'esm';
  return {
    absWorkingDir: root,
    entryPoints,
    // Packages resolve from the project's node_modules also for an entry outside it.
    nodePaths: [join(root, 'node_modules')],
    outdir,
    bundle: true,
    // One file per entry in CommonJS (esbuild splits ES modules only).
    splitting: esm,
    format,
    // CommonJS: an external package's import() becomes a require (PGlite has a CommonJS build): a vm.Script, which
    // scripts/start.mjs compiles CommonJS with, has no loader for import().
    ...(esm ? {} : { supported: { 'dynamic-import': false } }),
    platform: 'node',
    target,
    external: EXTERNAL,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    // CommonJS has its own require (and no import.meta: the relocatable form is ES modules only).
    banner: { js: !esm ? '' : relocate ? `${RELOCATABLE_BANNER} ${REQUIRE_BANNER}` : REQUIRE_BANNER },
    plugins: [sourceLocations(relocate ? relocatable(root) : absolute)],
    // Relocatable: the caller fills each file's root line (withRootLines) and writes them.
    write: !relocate,
  };
}
