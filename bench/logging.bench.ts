// The logging benchmark: 500 concurrent log searches through the gateway (each its own filter: a namespace and a
// substring, newest first, a page of 100 with its total) next to the same searches sent straight to the
// Elasticsearch stand-in in the same run (the very request bodies the logging subgraph builds: a point in time on
// the range's indices, then the page under it). KubeSphere had 49% errors at 500 concurrent searches (#1272); the
// rule here is 0.
//
//   npm run bench:logging
//
// One process: the stand-in (services/es) with BENCH_LINES synthetic Fluent-Bit-shaped lines in 20 namespaces, the
// logging subgraph and the gateway (development identity: a platform admin). Rounds alternate the two ways so drift
// in machine load hits both. Exits non-zero when any search failed.
import { startGateway } from '../gateway/gateway.js';
import { DEV_VIEWER } from '../services/common/authz.js';
import type { Logger } from '../services/common/log.js';
import { startEs } from '../services/es/server.js';
import { scopeOf } from '../services/logging/model/filter.js';
import { indicesFor, queryOf, SOURCE_FIELDS } from '../services/logging/model/query.js';
import { timeSort } from '../services/logging/model/lines.js';
import { startLoggingSubgraph } from '../services/logging/server.js';
import { bulkLoad, type SyntheticLine } from '../test/logging-helpers.js';
import { machineLine, resultsPath, writeResults } from './results.js';
import { knob } from './knobs.js';

const LINES = knob('BENCH_LINES', 10_000);
const CONCURRENT = knob('BENCH_CONCURRENT', 500);
const ROUNDS = knob('BENCH_ROUNDS', 2);
const NAMESPACES = 20;
const WORDS = 25;
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

console.log(`logging bench: ${CONCURRENT} concurrent searches over ${LINES} lines, ${ROUNDS} rounds; ${machineLine()}`);
const es = await startEs({ port: 0, host: '127.0.0.1' });
const base = Date.parse('2026-12-04T00:00:00Z');
const span = 6 * 3600_000;
const lines: SyntheticLine[] = Array.from({ length: LINES }, (_, i) => ({
  t: base + Math.floor((i * span) / LINES),
  namespace: `bench-${i % NAMESPACES}`,
  pod: `pod-${i % 97}`,
  log: `GET /api/w${i % WORDS}/items/${i} took ${i % 1000} ms`,
}));
await bulkLoad(es.url, lines);
const logging = await startLoggingSubgraph({
  port: 0,
  log: quiet,
  elasticsearch: { url: es.url },
  // The limits of a deployment: at most 16 requests in flight, the others queued (1000 places).
  maxConcurrentSearches: 16,
  maxQueuedSearches: 1000,
  timeoutMs: 60_000,
});
const gateway = await startGateway({
  port: 0,
  subgraphUrls: { logging: logging.url },
  logger: quiet,
  subgraphTimeoutMs: 120_000,
});

const filterOf = (i: number) => ({
  namespaces: [`bench-${i % NAMESPACES}`],
  contains: [`/w${Math.floor(i / NAMESPACES) % WORDS}/`],
  start: new Date(base).toISOString(),
  end: new Date(base + span).toISOString(),
});
const QUERY = `query($f: LogFilter) { logs(filter: $f, first: 100) { totalCount edges { node { timestamp message } } } }`;

async function viaGateway(i: number): Promise<number> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY, variables: { f: filterOf(i) } }),
  });
  const body = (await res.json()) as { data?: { logs: { edges: unknown[] } }; errors?: unknown[] };
  if (res.status !== 200 || body.errors || !body.data) throw new Error(JSON.stringify(body).slice(0, 300));
  return body.data.logs.edges.length;
}

/** The same search straight to the stand-in: the subgraph's request bodies, a point in time then the page. */
async function direct(i: number): Promise<number> {
  const scope = scopeOf(DEV_VIEWER, filterOf(i), () => []);
  const indices = indicesFor('ks-logstash-log', scope.start, scope.end, Date.now());
  const pit = await fetch(`${es.url}/${indices}/_pit?keep_alive=2m&ignore_unavailable=true`, { method: 'POST' });
  const { id } = (await pit.json()) as { id: string };
  const res = await fetch(`${es.url}/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      size: 101,
      query: queryOf(scope, { createdAt: [] }),
      sort: timeSort(true),
      pit: { id, keep_alive: '2m' },
      track_total_hits: 10_000,
      _source: SOURCE_FIELDS,
    }),
  });
  const body = (await res.json()) as { hits?: { hits: unknown[] } };
  if (res.status !== 200 || !body.hits) throw new Error(JSON.stringify(body).slice(0, 300));
  return Math.min(100, body.hits.hits.length);
}

interface Round {
  latencies: number[];
  errors: number;
  wallMs: number;
  results: number[];
}

async function round(fn: (i: number) => Promise<number>): Promise<Round> {
  const latencies: number[] = [];
  const results: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENT }, async (_, i) => {
      const s = performance.now();
      try {
        results[i] = await fn(i);
        latencies.push(performance.now() - s);
      } catch (e) {
        errors++;
        if (errors <= 3) console.error(`search ${i} failed: ${(e as Error).message}`);
      }
    }),
  );
  return { latencies, errors, wallMs: performance.now() - t0, results };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)]! : NaN;
};

// Warm-up (query plans, connections), not recorded.
await round(viaGateway);
await round(direct);
const ours: Round[] = [];
const baseline: Round[] = [];
for (let r = 0; r < ROUNDS; r++) {
  ours.push(await round(viaGateway));
  baseline.push(await round(direct));
}
// Both ways found the same lines.
const mismatched = ours[0]!.results.filter((n, i) => n !== baseline[0]!.results[i]).length;
const all = (rs: Round[]) => rs.flatMap((r) => r.latencies);
const errors = ours.reduce((n, r) => n + r.errors, 0);
const directErrors = baseline.reduce((n, r) => n + r.errors, 0);
const o50 = pct(all(ours), 0.5);
const o99 = pct(all(ours), 0.99);
const d50 = pct(all(baseline), 0.5);
const d99 = pct(all(baseline), 0.99);
const wall = (rs: Round[]) =>
  pct(
    rs.map((r) => r.wallMs),
    0.5,
  );
const row = (name: string, o: number, d: number, unit: string) =>
  `${name.padEnd(40)} ${`${o.toFixed(unit === 'ms' ? 1 : 0)} ${unit}`.padStart(12)} ${`${d.toFixed(unit === 'ms' ? 1 : 0)} ${unit}`.padStart(12)} ${`${(o / d).toFixed(2)}x`.padStart(8)}`;
console.log(`\n${'measurement'.padEnd(40)} ${'gateway'.padStart(12)} ${'direct'.padStart(12)} ${'ratio'.padStart(8)}`);
console.log(row(`latency p50 (${CONCURRENT} concurrent)`, o50, d50, 'ms'));
console.log(row('latency p99', o99, d99, 'ms'));
console.log(row(`all ${CONCURRENT} answered (median round)`, wall(ours), wall(baseline), 'ms'));
console.log(
  `errors through the gateway: ${errors} of ${CONCURRENT * ROUNDS} (direct: ${directErrors}); answers differing: ${mismatched}`,
);
writeResults(resultsPath('logging'), {
  lines: LINES,
  concurrent: CONCURRENT,
  rounds: ROUNDS,
  gateway: { p50Ms: o50, p99Ms: o99, roundMs: wall(ours), errors },
  direct: { p50Ms: d50, p99Ms: d99, roundMs: wall(baseline), errors: directErrors },
  mismatched,
});

await gateway.close();
await logging.close();
await es.close();
process.exit(errors > 0 || mismatched > 0 ? 1 : 0);
