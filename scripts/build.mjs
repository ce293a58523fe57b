// `npm run build`: dist/ for the image (Dockerfile) and for deploy tests: every service's entry point bundled with
// the packages it imports (scripts/bundle.mjs; what stays out is in node_modules beside dist/), the schema files in
// dist/schema. An entry runs as `node dist/<entry>.js` from wherever dist/ is, node_modules beside it. Bundled
// rather than compiled file by file (issue 19 §3): a service starts in about a third of the CPU and with ~50 MB less
// memory, @kubernetes/client-node's ~970 modules being one module's code.
//
//   node scripts/build.mjs [--outdir <dir>]     (default dist; the type check is `npm run typecheck`)
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { bundleOptions, withRootLines } from './bundle.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } });
const outdir = resolve(ROOT, values.outdir);

// Every service's main, the gateway's, the tracing preload (--import), and the gateway's routing defaults (read by
// deploy/healthcheck.mjs).
const sources = [
  'gateway/main.ts',
  'gateway/subgraphs.ts',
  'services/common/tracing.ts',
  ...readdirSync(join(ROOT, 'services'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `services/${d.name}/main.ts`)
    .filter((f) => existsSync(join(ROOT, f))),
];

const result = await build({
  ...bundleOptions({
    root: ROOT,
    entryPoints: Object.fromEntries(sources.map((s) => [s.replace(/\.ts$/, ''), s])),
    outdir,
    relocate: true,
  }),
  // The image's Node (Dockerfile NODE_IMAGE) or any supported one.
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
rmSync(outdir, { recursive: true, force: true });
for (const f of withRootLines(result.outputFiles, outdir)) {
  mkdirSync(dirname(f.path), { recursive: true });
  writeFileSync(f.path, f.contents);
}
cpSync(join(ROOT, 'schema'), join(outdir, 'schema'), { recursive: true });
console.log(`built ${sources.length} entry points into ${outdir}`);
