// Catalog queries over the compact per-repository indexes (clients/chart-repo-index.ts): search with ranking, cursor
// paging, and the views the resolvers hand out. Pure functions: the catalog decides which repositories a viewer sees.
import { badUserInput } from '../../common/errors.js';
import type { IndexedChart, IndexedVersion } from '../clients/chart-repo-index.js';

export interface ChartVersionView {
  /** Repository and chart it belongs to (for the readme/values/valuesSchema resolvers). */
  repository: string;
  chart: string;
  version: string;
  appVersion: string | null;
  /** ISO-8601. */
  createdAt: string | null;
  deprecated: boolean;
  digest: string | null;
}

export interface ChartView {
  name: string;
  /** The repository's name (the resolver turns it into a HelmRepository). */
  repository: string;
  description: string | null;
  icon: string | null;
  keywords: string[];
  latestVersion: ChartVersionView;
  /** Newest first (semver). */
  versions: ChartVersionView[];
}

export interface ChartConnectionView {
  edges: { cursor: string; node: ChartView }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export const DEFAULT_CHART_PAGE = 50;
export const MAX_CHART_PAGE = 500;
export const MAX_SEARCH_LENGTH = 256;

export const versionView = (repository: string, chart: string, v: IndexedVersion): ChartVersionView => ({
  repository,
  chart,
  version: v.version,
  appVersion: v.appVersion,
  createdAt: v.created,
  deprecated: v.deprecated,
  digest: v.digest,
});

export function chartView(repository: string, c: IndexedChart): ChartView {
  return {
    name: c.name,
    repository,
    description: c.description,
    icon: c.icon,
    keywords: c.keywords,
    latestVersion: versionView(repository, c.name, c.latest),
    // Built when asked (a view of 30,000 versions is not made for a list that shows names).
    get versions() {
      return c.versions.map((v) => versionView(repository, c.name, v));
    },
  };
}

/**
 * How well a chart matches (lower is better; undefined: no match). Name matches come first (exact, prefix,
 * anywhere), then keywords (exact, anywhere), then the description.
 */
export function rank(c: Pick<IndexedChart, 'search'>, needle: string): number | undefined {
  const { name, keywords, description } = c.search;
  if (name === needle) return 0;
  if (name.startsWith(needle)) return 1;
  if (name.includes(needle)) return 2;
  let best: number | undefined;
  for (const kw of keywords) {
    if (kw === needle) return 3;
    if (kw.includes(needle)) best = 4;
  }
  if (best !== undefined) return best;
  if (description.includes(needle)) return 5;
  return undefined;
}

export interface Hit {
  rank: number;
  name: string;
  repository: string;
  chart: IndexedChart;
}

/** Ranked, then by chart name, then by repository: a total order, so a cursor (its key) is stable. */
export const compareHits = (a: Hit, b: Hit) =>
  a.rank - b.rank ||
  (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
  (a.repository < b.repository ? -1 : a.repository > b.repository ? 1 : 0);

export function normalizeSearch(search: string | null | undefined): string | undefined {
  if (search === null || search === undefined) return undefined;
  if (search.length > MAX_SEARCH_LENGTH)
    throw badUserInput(`search is longer than ${MAX_SEARCH_LENGTH} characters`, { argument: 'search' });
  const s = search.trim().toLowerCase();
  return s === '' ? undefined : s;
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_CHART_PAGE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_CHART_PAGE)
    throw badUserInput(`first must be between 0 and ${MAX_CHART_PAGE}`, { argument: 'first' });
  return first;
}

type CursorKey = [number, string, string];
const encodeCursor = (h: Hit) => Buffer.from(JSON.stringify([h.rank, h.name, h.repository])).toString('base64url');

function decodeCursor(after: string): CursorKey {
  try {
    const v: unknown = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      Number.isInteger(v[0]) &&
      typeof v[1] === 'string' &&
      typeof v[2] === 'string'
    )
      return v as CursorKey;
  } catch {
    // fall through
  }
  throw badUserInput('after is not a cursor of this list', { argument: 'after' });
}

/** One page of the hits of `sources` (repository name → its charts) for a search. */
export function searchCharts(
  sources: { repository: string; charts: readonly IndexedChart[] }[],
  args: { search?: string | null; first?: number | null; after?: string | null },
): ChartConnectionView {
  const needle = normalizeSearch(args.search);
  const first = pageSize(args.first);
  const after = args.after ? decodeCursor(args.after) : undefined;
  const hits: Hit[] = [];
  for (const { repository, charts } of sources)
    for (const chart of charts) {
      const r = needle === undefined ? 0 : rank(chart, needle);
      if (r !== undefined) hits.push({ rank: r, name: chart.name, repository, chart });
    }
  hits.sort(compareHits);
  let start = 0;
  if (after) {
    const key: Hit = { rank: after[0], name: after[1], repository: after[2], chart: undefined as never };
    // The first hit past the cursor's key (the cursor's own chart may be gone since: paging still continues).
    let lo = 0;
    let hi = hits.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareHits(hits[mid], key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const page = hits.slice(start, start + first);
  const edges = page.map((h) => ({ cursor: encodeCursor(h), node: chartView(h.repository, h.chart) }));
  return {
    edges,
    pageInfo: { hasNextPage: start + first < hits.length, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: hits.length,
  };
}
