// scripts/start.mjs, what `npm start` runs: the entry's TypeScript from a cached esbuild bundle. A changed source
// must be seen at the next start, an unchanged one must not be bundled again, import.meta must name the source file
// (schema paths are read relative to it), and a syntax error must name its file and line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'kubegraph', 'start');
const dir = mkdtempSync(join(tmpdir(), 'kubegraph-start-bundle-'));
const entry = join(dir, 'entry.ts');

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  // The bundles and manifest made for this test's entry.
  for (const f of readdirSync(CACHE).filter((f) => f.includes(basename(dir))))
    rmSync(join(CACHE, f), { recursive: true, force: true });
});

function run() {
  const r = spawnSync(process.execPath, ['scripts/start.mjs', entry], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const manifest = () =>
  JSON.parse(
    readFileSync(
      join(
        CACHE,
        readdirSync(CACHE).find((f) => f.includes(basename(dir)) && f.endsWith('.json'))!,
      ),
      'utf8',
    ),
  ) as { dir: string; main: 'cjs' | 'esm' };

describe('scripts/start.mjs', () => {
  it('runs the entry with import.meta naming the source file, and bundles again only when a source changed', () => {
    writeFileSync(join(dir, 'dep.ts'), "export const value: string = 'first';\n");
    writeFileSync(
      entry,
      "import { value } from './dep.js';\nconsole.log(JSON.stringify({ value, dirname: import.meta.dirname, url: import.meta.url }));\n",
    );
    const first = run();
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toEqual({ value: 'first', dirname: dir, url: pathToFileURL(entry).href });
    const made = manifest().dir;

    // Unchanged: the same bundle.
    expect(JSON.parse(run().stdout).value).toBe('first');
    expect(manifest().dir).toBe(made);

    // A dependency changed: bundled again, the new value runs.
    writeFileSync(join(dir, 'dep.ts'), "export const value: string = 'the second';\n");
    expect(JSON.parse(run().stdout).value).toBe('the second');
    expect(manifest().dir).not.toBe(made);
  }, 120_000);

  it("maps stack traces to the sources, a package's frames to its own files", () => {
    writeFileSync(join(dir, 'dep.ts'), "export const value: string = 'maps';\n");
    // A package that ships source maps (dist/*.js.map), imported statically, whose frame is in the trace.
    writeFileSync(
      entry,
      [
        "import { PrefixingKeyValueCache } from '@apollo/utils.keyvaluecache';",
        "import { value } from './dep.js';",
        'type Cache = ConstructorParameters<typeof PrefixingKeyValueCache>[0];',
        "const failing = { get: () => { throw new Error('from the cache'); } } as unknown as Cache;",
        'try {',
        "  void new PrefixingKeyValueCache(failing, value).get('k');",
        '} catch (e) {',
        '  console.log((e as Error).stack);',
        '}',
        '',
      ].join('\n'),
    );
    const r = run();
    expect(r.stderr).toBe('');
    // Our frames: the .ts file and its line; the package's: its files (bundled with it, through the package's own
    // source maps where it ships them).
    expect(r.stdout).toContain(`${entry}:4:`);
    expect(r.stdout).toContain(`${entry}:6:`);
    expect(r.stdout).toMatch(
      /node_modules\/@apollo\/utils\.keyvaluecache\/(src|dist)\/PrefixingKeyValueCache\.[jt]s:\d+/,
    );
    expect(r.stdout).not.toContain('node_modules/.cache');
  }, 120_000);

  it('compiles the entry with a code cache made by the run before, and runs one that awaits at its top level too', () => {
    writeFileSync(join(dir, 'dep.ts'), "export const value: string = 'cached';\n");
    writeFileSync(entry, "import { value } from './dep.js';\nconsole.log(JSON.stringify({ value }));\n");
    expect(JSON.parse(run().stdout).value).toBe('cached');
    const made = join(CACHE, manifest().dir);
    // The first run (a CommonJS bundle) left V8's cache of it; the next one reads it and answers the same.
    expect(readdirSync(made)).toContain('main.js.v8');
    expect(JSON.parse(run().stdout).value).toBe('cached');

    // A top-level await: an ES module bundle instead (no cache), the same answer.
    writeFileSync(
      entry,
      "import { value } from './dep.js';\nawait Promise.resolve();\nconsole.log(JSON.stringify({ value }));\n",
    );
    const r = run();
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).value).toBe('cached');
    expect(manifest()).toMatchObject({ main: 'esm' });
  }, 120_000);

  it('stops with the file and line of a syntax error', () => {
    writeFileSync(join(dir, 'dep.ts'), 'export const value: string = ;\n');
    const r = run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`dep.ts:1:`);
  }, 120_000);

  it('refuses an entry that is not a TypeScript file', () => {
    const r = spawnSync(process.execPath, ['scripts/start.mjs', join(dir, 'missing.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: node scripts/start.mjs');
  });
});
