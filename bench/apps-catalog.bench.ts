// The chart catalog at the size that broke others (issue 16 §3; Flux caps index.yaml at 50 MiB, Kubeapps ran out of
// memory reading whole indexes): a generated index.yaml of 30,000 chart versions (~50 MB, helm's layout, fields as
// big public repositories have them) served over HTTP on 127.0.0.1, synced by the catalog, then searched.
//
//   npm run bench:apps
//
// Two child processes, one per way, so each one's peak memory is its own:
//   catalog   Catalog.addRepository (HTTP fetch, line-by-line parse into the compact index), then catalog.charts()
//   baseline  the same HTTP fetch, the whole body parsed with the `yaml` package (the parsed YAML kept, no index),
//             then the same search (same ranking, newest non-prerelease per chart, same page) over the parsed YAML
// Both answer the same queries and must return the same chart names for each, or the run fails. Reported: sync time,
// peak RSS above the process's RSS before the sync (process.resourceUsage().maxRSS), heap kept after a GC, and search
// p50/p99 over BENCH_QUERIES queries. Knobs: BENCH_VERSIONS (30000), BENCH_CHARTS (2000), BENCH_QUERIES (400);
// BENCH_WRITE_INDEX=<file> only writes the generated index there.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import type { Viewer } from '../services/common/authz.js';
import type { RepositoryRow, RepositoryStore } from '../services/apps/clients/repository-store.js';
import { toSemver } from '../services/apps/clients/chart-repo-index.js';
import { Catalog } from '../services/apps/model/catalog.js';
import { compareHits, rank, type Hit } from '../services/apps/model/catalog-search.js';
import { serveChartRepo } from '../test/harness/charts.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import { knob } from './knobs.js';

const VERSIONS = knob('BENCH_VERSIONS', 30_000);
const CHARTS = knob('BENCH_CHARTS', 2_000);
const QUERIES = knob('BENCH_QUERIES', 400);
const PAGE = 20;
const ADMIN: Viewer = { username: 'admin', platformRole: 'platform-admin' };

const NOUNS = ['postgres', 'redis', 'nginx', 'kafka', 'mongo', 'mysql', 'grafana', 'prometheus', 'loki', 'vault'];
const NOUNS2 = ['operator', 'exporter', 'proxy', 'ingress', 'cache', 'backup', 'agent', 'gateway', 'ui', 'cluster'];
const TOPICS = ['database', 'monitoring', 'logging', 'security', 'networking', 'storage', 'messaging', 'analytics'];

/** The index in helm's own layout, written directly (the `yaml` package takes minutes to stringify this much). */
function generateIndex(): string {
  const perChart = Math.ceil(VERSIONS / CHARTS);
  const out: string[] = ['apiVersion: v1', 'entries:'];
  let written = 0;
  for (let c = 0; c < CHARTS && written < VERSIONS; c++) {
    const name = `${NOUNS[c % 10]}-${NOUNS2[Math.floor(c / 10) % 10]}${c >= 100 ? `-${c}` : ''}`;
    const topic = TOPICS[c % TOPICS.length];
    out.push(`  ${name}:`);
    for (let v = perChart - 1; v >= 0 && written < VERSIONS; v--, written++) {
      const version = `${Math.floor(v / 10)}.${v % 10}.${c % 3}${v % 7 === 6 ? '-rc.1' : ''}`;
      const images = Array.from(
        { length: 6 },
        (_, i) => `        - name: ${name}-${i}\n          image: docker.io/example/${name}-${i}:${version}`,
      ).join('\n');
      out.push(
        `  - annotations:`,
        `      category: ${topic}`,
        `      images: |`,
        images,
        `      licenses: Apache-2.0`,
        `    apiVersion: v2`,
        `    appVersion: ${v}.${c}.0`,
        `    created: "2025-${String((v % 12) + 1).padStart(2, '0')}-11T10:${String(c % 60).padStart(2, '0')}:00.123456789Z"`,
        `    dependencies:`,
        `    - name: common`,
        `      repository: oci://registry.example.com/charts`,
        `      tags:`,
        `      - example-common`,
        `      version: 2.x.x`,
        `    description: ${name} packaged for Kubernetes, a ${topic} component with sensible defaults, persistence, metrics and high availability options for production clusters.`,
        `    digest: ${(c * 1000 + v).toString(16).padStart(64, '0')}`,
        `    home: https://example.com/charts/${name}`,
        `    icon: https://example.com/icons/${name}.svg`,
        `    keywords:`,
        `    - ${topic}`,
        `    - ${NOUNS[c % 10]}`,
        `    - example`,
        `    maintainers:`,
        `    - name: Example Maintainers`,
        `      url: https://example.com/maintainers`,
        `    name: ${name}`,
        `    sources:`,
        `    - https://github.com/example/charts/tree/main/charts/${name}`,
        `    - https://github.com/example/containers/tree/main/images/${name}`,
        `    urls:`,
        `    - https://charts.example.com/${name}-${version}.tgz`,
        `    version: ${version}`,
      );
    }
  }
  out.push(`generated: "2025-12-01T00:00:00Z"`, '');
  return out.join('\n');
}

function queries(): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < QUERIES; i++) {
    const c = (i * 37) % CHARTS;
    const pick = [
      `${NOUNS[c % 10]}-${NOUNS2[Math.floor(c / 10) % 10]}`,
      NOUNS[i % 10].slice(0, 3),
      TOPICS[i % TOPICS.length],
      NOUNS2[i % 10],
      'high availability',
      'no-such-chart',
      '',
    ];
    out.push(pick[i % pick.length]);
  }
  return out;
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((xs.length * p) / 100) - 1)];

interface ChildReport {
  syncMs: number;
  peakRssAboveStartMb: number;
  heapKeptMb: number;
  charts: number;
  searchMs: number[];
  answers: string[][];
  resyncMs?: number;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** A RepositoryStore in memory: the benchmark measures the catalog, not the database. */
function memoryStore(): RepositoryStore {
  const rows = new Map<string, RepositoryRow>();
  return {
    list: async () => [...rows.values()],
    get: async (name) => rows.get(name),
    insert: async (row) =>
      rows.has(row.name) ? false : (rows.set(row.name, { ...row, created_at: new Date() }), true),
    delete: async (name) => rows.delete(name),
    recordSync: async () => {},
    close: async () => {},
  };
}

async function child(mode: 'catalog' | 'baseline', url: string): Promise<ChildReport> {
  const gc = globalThis.gc!;
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const qs = queries();
  const searchMs: number[] = [];
  const answers: string[][] = [];
  if (mode === 'catalog') {
    const catalog = await Catalog.open({
      store: memoryStore(),
      credentialsSecret: 'bench-secret-0123456789',
      syncIntervalMs: 0,
    });
    const t0 = performance.now();
    await catalog.addRepository(ADMIN, { name: 'big', url });
    const syncMs = performance.now() - t0;
    const peak = process.resourceUsage().maxRSS * 1024;
    gc();
    const heapKept = process.memoryUsage().heapUsed - heapBefore;
    const t1 = performance.now();
    await catalog.syncRepository(ADMIN, 'big');
    const resyncMs = performance.now() - t1;
    let charts = 0;
    for (const search of qs) {
      const s = performance.now();
      const page = await catalog.charts(ADMIN, { repository: 'big', search, first: PAGE });
      searchMs.push(performance.now() - s);
      answers.push(page.edges.map((e) => `${e.node.name}@${e.node.latestVersion.version}`));
      if (search === '') charts = page.totalCount;
    }
    await catalog.close();
    return {
      syncMs,
      peakRssAboveStartMb: mb(peak - rssBefore),
      heapKeptMb: mb(heapKept),
      charts,
      searchMs,
      answers,
      resyncMs,
    };
  }
  const t0 = performance.now();
  const res = await fetch(url + 'index.yaml');
  const doc = parseYaml(await res.text()) as { entries: Record<string, Record<string, unknown>[]> };
  const syncMs = performance.now() - t0;
  const peak = process.resourceUsage().maxRSS * 1024;
  gc();
  const heapKept = process.memoryUsage().heapUsed - heapBefore;
  for (const search of qs) {
    const s = performance.now();
    answers.push(searchParsed(doc, search));
    searchMs.push(performance.now() - s);
  }
  return {
    syncMs,
    peakRssAboveStartMb: mb(peak - rssBefore),
    heapKeptMb: mb(heapKept),
    charts: Object.keys(doc.entries).length,
    searchMs,
    answers,
  };
}

/** The catalog's search done over the parsed YAML, as a catalog without an index would: every chart, every call. */
function searchParsed(doc: { entries: Record<string, Record<string, unknown>[]> }, search: string): string[] {
  const needle = search.trim().toLowerCase();
  const hits: (Hit & { version: string })[] = [];
  for (const [name, list] of Object.entries(doc.entries)) {
    const versions = list
      .map((v) => ({ v, sv: toSemver(String(v.version)) }))
      .filter((x): x is { v: Record<string, unknown>; sv: semver.SemVer } => x.sv !== null)
      .sort((a, b) => b.sv.compare(a.sv));
    if (versions.length === 0) continue;
    const newest = versions.find((x) => x.sv.prerelease.length === 0) ?? versions[0];
    const description = typeof newest.v.description === 'string' ? newest.v.description : '';
    const keywords = Array.isArray(newest.v.keywords) ? newest.v.keywords.map(String) : [];
    const search = {
      name: name.toLowerCase(),
      keywords: keywords.map((k) => k.toLowerCase()),
      description: description.toLowerCase(),
    };
    const r = needle === '' ? 0 : rank({ search }, needle);
    if (r !== undefined)
      hits.push({ rank: r, name, repository: 'big', chart: undefined as never, version: String(newest.v.version) });
  }
  hits.sort(compareHits);
  return hits.slice(0, PAGE).map((h) => `${h.name}@${h.version}`);
}

function runChild(mode: 'catalog' | 'baseline', url: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const p = fork(import.meta.filename, ['--child', mode, url], {
      execArgv: ['--import', 'tsx', '--expose-gc', '--max-old-space-size=8192'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    p.once('message', (m) => resolve(m as ChildReport));
    p.once('exit', (code) => (code !== 0 ? reject(new Error(`${mode} child exited with ${code}`)) : undefined));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-bench-charts-'));
  const text = generateIndex();
  writeFileSync(join(dir, 'index.yaml'), text);
  const size = Buffer.byteLength(text);
  console.log(
    `apps catalog bench: index.yaml of ${VERSIONS} versions of ${CHARTS} charts, ${mb(size)} MiB; ${QUERIES} searches, pages of ${PAGE}; ${machineLine()}`,
  );
  const server = await serveChartRepo(dir);
  try {
    const catalog = await runChild('catalog', server.url);
    const baseline = await runChild('baseline', server.url);
    if (catalog.charts !== baseline.charts)
      throw new Error(`charts: catalog ${catalog.charts}, baseline ${baseline.charts}`);
    catalog.answers.forEach((a, i) => {
      if (JSON.stringify(a) !== JSON.stringify(baseline.answers[i]))
        throw new Error(
          `query ${i} answered differently: ${JSON.stringify(a)} vs ${JSON.stringify(baseline.answers[i])}`,
        );
    });
    const rows: [string, number, number, string][] = [
      ['sync (fetch + parse), ms', catalog.syncMs, baseline.syncMs, 'yaml.parse of the whole body'],
      ['peak RSS above start, MiB', catalog.peakRssAboveStartMb, baseline.peakRssAboveStartMb, 'same'],
      ['heap kept after sync, MiB', catalog.heapKeptMb, baseline.heapKeptMb, 'the parsed YAML kept'],
      [
        'search p50, ms',
        percentile(catalog.searchMs, 50),
        percentile(baseline.searchMs, 50),
        'same search, parsed YAML',
      ],
      [
        'search p99, ms',
        percentile(catalog.searchMs, 99),
        percentile(baseline.searchMs, 99),
        'same search, parsed YAML',
      ],
    ];
    console.log('\nmeasurement                    catalog    baseline   ratio   baseline is');
    for (const [what, c, b, is] of rows)
      console.log(
        `${what.padEnd(30)} ${c.toFixed(1).padStart(8)}  ${b.toFixed(1).padStart(9)}  ${(c / b).toFixed(3).padStart(6)}x  ${is}`,
      );
    console.log(
      `unchanged re-sync (304), ms: ${catalog.resyncMs!.toFixed(1)}; ${catalog.charts} charts; answers identical`,
    );
    writeResults(resultsPath('apps-catalog'), {
      versions: VERSIONS,
      charts: CHARTS,
      indexBytes: size,
      queries: QUERIES,
      rows: rows.map(([what, c, b]) => ({ what, catalog: c, baseline: b })),
      resyncMs: catalog.resyncMs,
    });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_WRITE_INDEX) {
  // Only write the generated index there (for profiling the parser on its own).
  writeFileSync(process.env.BENCH_WRITE_INDEX, generateIndex());
} else if (process.argv[2] === '--child') {
  const report = await child(process.argv[3] as 'catalog' | 'baseline', process.argv[4]);
  process.send!(report, () => process.exit(0));
} else await main();
