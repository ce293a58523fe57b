// The Elasticsearch requests of log search, built from an authorized LogScope: plain query DSL that Elasticsearch
// 7.10+ and 8.x both accept. Every value of the caller's goes in as data (a term, a wildcard pattern with each of its
// metacharacters escaped), never into a query string. Documents are in the shape Fluent Bit writes for KubeSphere
// (../shared/fixtures/elasticsearch/README.md): text fields with a `.keyword` sub-field, in daily indices.
import type { LogScope, WorkloadTarget } from './filter.js';

/** The document fields the queries use. */
export const FIELDS = {
  timestamp: '@timestamp',
  message: 'log',
  /** The exact line, for substring matching (wildcard on a keyword field). */
  messageKeyword: 'log.keyword',
  stream: 'stream.keyword',
  namespace: 'kubernetes.namespace_name.keyword',
  pod: 'kubernetes.pod_name.keyword',
  container: 'kubernetes.container_name.keyword',
  node: 'kubernetes.host.keyword',
  /** One container instance (a restart is a new one). */
  containerId: 'kubernetes.docker_id.keyword',
} as const;

/** What a hit's _source holds (only these are fetched). */
export const SOURCE_FIELDS = [
  '@timestamp',
  'log',
  'time',
  'stream',
  'kubernetes.namespace_name',
  'kubernetes.pod_name',
  'kubernetes.container_name',
  'kubernetes.host',
];

export interface LogSource {
  '@timestamp'?: string;
  log?: string;
  time?: string;
  stream?: string;
  kubernetes?: { namespace_name?: string; pod_name?: string; container_name?: string; host?: string };
}

type Clause = Record<string, unknown>;

/** A Lucene wildcard pattern matching `text` literally: `\`, `*` and `?` escaped with `\`. */
export const escapeWildcard = (text: string): string => text.replace(/[\\*?]/g, (c) => `\\${c}`);

/**
 * Case-insensitive substring of the line: wildcard `*text*` on the keyword field (case_insensitive: 7.10+). A line
 * longer than the keyword's ignore_above (256 under Elasticsearch's default dynamic mapping) is not in `log.keyword`
 * at all (so `exists` does not match it): such a line matches when the text is a phrase of it on the analysed `log`
 * field instead (whole words, in order, case-insensitively; punctuation is not matched, and a part of a word such as
 * `cpu` in `node_cpu_usage` does not match).
 */
export const containsClause = (text: string): Clause => ({
  bool: {
    should: [
      { wildcard: { [FIELDS.messageKeyword]: { value: `*${escapeWildcard(text)}*`, case_insensitive: true } } },
      {
        bool: {
          must_not: [{ exists: { field: FIELDS.messageKeyword } }],
          filter: [{ match_phrase: { [FIELDS.message]: { query: text } } }],
        },
      },
    ],
    minimum_should_match: 1,
  },
});

/**
 * A workload's pods by name, as the controllers name them (KubeSphere filters workloads the same way, by pod name):
 * Deployment <name>-<pod-template-hash>-<5>, CronJob <name>-<scheduled time>-<5> (two parts after the name, neither
 * with a dash: a pattern with three parts, i.e. another workload whose name extends this one, is excluded),
 * StatefulSet <name>-<ordinal> (one part), DaemonSet and Job <name>-<5>.
 */
export function workloadClause(w: WorkloadTarget): Clause {
  const prefix = escapeWildcard(`${w.name}-`);
  const pod = (value: string) => ({ wildcard: { [FIELDS.pod]: { value } } });
  const ns = { term: { [FIELDS.namespace]: w.namespace } };
  switch (w.kind) {
    case 'DEPLOYMENT':
    case 'CRON_JOB':
      return { bool: { filter: [ns, pod(`${prefix}*-?????`)], must_not: [pod(`${prefix}*-*-?????`)] } };
    case 'STATEFUL_SET':
      return { bool: { filter: [ns, pod(`${prefix}*`)], must_not: [pod(`${prefix}*-*`)] } };
    case 'DAEMON_SET':
    case 'JOB':
      return { bool: { filter: [ns, pod(`${prefix}?????`)] } };
  }
}

/** A time range clause, in epoch milliseconds. */
export const rangeClause = (gte?: number, lte?: number, lt?: number, gt?: number): Clause => ({
  range: {
    [FIELDS.timestamp]: {
      ...(gte !== undefined ? { gte } : {}),
      ...(gt !== undefined ? { gt } : {}),
      ...(lte !== undefined ? { lte } : {}),
      ...(lt !== undefined ? { lt } : {}),
      format: 'epoch_millis',
    },
  },
});

export interface QueryOptions {
  /** The creation time of each namespace that exists now (ms): older lines under its name were another's. */
  createdAt: Iterable<[string, number]>;
  /**
   * The time of the oldest line there is (ms; undefined: not known): a namespace created before it has no older
   * namesake's lines to hide, so a search without a start needs clauses only for namespaces created since.
   */
  oldestLine?: number;
}

/** Creation-time groups per nested bool: far below Elasticsearch 7's 1,024 clauses of one bool query. */
export const CREATION_GROUPS_PER_BOOL = 256;

/**
 * The creation-time clauses of a scope: namespaces created before the range (or the oldest line) need none; those
 * created after its end are left out of the search (every line of the range under their names was another
 * namespace's); the others are grouped by creation time (Kubernetes' creationTimestamp has whole seconds, so
 * namespaces created together share one) into one `terms` + `range` pair per time, nested by CREATION_GROUPS_PER_BOOL
 * so that no bool query has more clauses than that, however many namespaces there are.
 */
export function creationClauses(scope: LogScope, opts: QueryOptions): { hidden: Clause[]; gone: Set<string> } {
  const covered = scope.namespaces === 'all' ? undefined : new Set(scope.namespaces);
  const from = scope.start ?? opts.oldestLine;
  const byTime = new Map<number, string[]>();
  const gone = new Set<string>();
  for (const [ns, at] of opts.createdAt) {
    if (covered && !covered.has(ns)) continue;
    if (from !== undefined && at <= from) continue;
    if (scope.end !== undefined && at > scope.end) gone.add(ns);
    else {
      const group = byTime.get(at);
      if (group) group.push(ns);
      else byTime.set(at, [ns]);
    }
  }
  const groups = [...byTime].sort((a, b) => a[0] - b[0]);
  const pair = ([at, names]: [number, string[]]): Clause => ({
    bool: { filter: [{ terms: { [FIELDS.namespace]: names.sort() } }, rangeClause(undefined, undefined, at)] },
  });
  const hidden: Clause[] = [];
  if (groups.length <= CREATION_GROUPS_PER_BOOL) hidden.push(...groups.map(pair));
  else
    for (let i = 0; i < groups.length; i += CREATION_GROUPS_PER_BOOL)
      hidden.push({
        bool: { should: groups.slice(i, i + CREATION_GROUPS_PER_BOOL).map(pair), minimum_should_match: 1 },
      });
  return { hidden, gone };
}

/**
 * The bool query of a scope. Namespaces are one `terms` clause however many there are. A namespace created after the
 * range starts keeps only its lines from its creation on (must_not: its lines before; see creationClauses).
 */
export function queryOf(scope: LogScope, opts: QueryOptions): Clause {
  const filter: Clause[] = [];
  const mustNot: Clause[] = [];
  const { hidden, gone } = creationClauses(scope, opts);
  if (scope.start !== undefined || scope.end !== undefined) filter.push(rangeClause(scope.start, scope.end));
  if (scope.namespaces !== 'all')
    filter.push({ terms: { [FIELDS.namespace]: scope.namespaces.filter((ns) => !gone.has(ns)) } });
  else if (gone.size) mustNot.push({ terms: { [FIELDS.namespace]: [...gone].sort() } });
  if (scope.workloads.length)
    filter.push({ bool: { should: scope.workloads.map(workloadClause), minimum_should_match: 1 } });
  if (scope.pods.length) filter.push({ terms: { [FIELDS.pod]: scope.pods } });
  if (scope.containers.length) filter.push({ terms: { [FIELDS.container]: scope.containers } });
  if (scope.nodes.length) filter.push({ terms: { [FIELDS.node]: scope.nodes } });
  if (scope.streams.length) filter.push({ terms: { [FIELDS.stream]: scope.streams } });
  for (const text of scope.contains) filter.push(containsClause(text));
  for (const text of scope.excludes) mustNot.push(containsClause(text));
  mustNot.push(...hidden);
  return { bool: { filter, ...(mustNot.length ? { must_not: mustNot } : {}) } };
}

const DAY_MS = 86_400_000;
/** Beyond this many days a search names the index pattern instead of each index (URL length). */
const MAX_NAMED_DAYS = 62;

/** The daily indices `<prefix>-YYYY.MM.DD` (UTC) a time range needs, comma-separated; a pattern when unbounded. */
export function indicesFor(prefix: string, start: number | undefined, end: number | undefined, now: number): string {
  const last = end ?? now;
  if (start === undefined || last - start > MAX_NAMED_DAYS * DAY_MS) return `${prefix}-*`;
  const names: string[] = [];
  for (let day = Math.floor(start / DAY_MS); day <= Math.floor(last / DAY_MS); day++) {
    const d = new Date(day * DAY_MS);
    const pad = (n: number) => String(n).padStart(2, '0');
    names.push(`${prefix}-${d.getUTCFullYear()}.${pad(d.getUTCMonth() + 1)}.${pad(d.getUTCDate())}`);
  }
  return names.join(',');
}

/** A fixed_interval: a positive whole number of ms, s, m, h or d. */
const INTERVAL = /^([1-9][0-9]{0,8})(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

export function intervalMs(interval: string): number | undefined {
  const m = INTERVAL.exec(interval);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/**
 * The interval for about `buckets` buckets over a range: the range divided by `buckets`, rounded up to whole
 * milliseconds under a minute and to whole seconds above (so at most one bucket fewer), written in the largest exact
 * unit.
 */
export function chooseInterval(rangeMs: number, buckets = 60): string {
  const ms = Math.max(1, Math.ceil(rangeMs / buckets));
  if (ms < 60_000 && ms % 1000 !== 0) return `${ms}ms`;
  const seconds = Math.ceil(ms / 1000);
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
