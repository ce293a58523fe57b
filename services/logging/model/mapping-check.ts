// At start: whether `log.keyword` holds the longest lines the operator expects. A line longer than the keyword's
// ignore_above (256 under Elasticsearch's default dynamic mapping) is not in `log.keyword`, so `contains` and
// `excludes` find it only as a phrase of whole words on the analysed `log` field (query.ts containsClause). A clear
// warning says which index template to install; nothing fails.
import type { Logger } from '../../common/log.js';
import type { ElasticsearchAccess } from './es-access.js';

/** Lucene's limit of one keyword term (bytes): a keyword without ignore_above holds lines up to about this. */
const KEYWORD_MAX = 32_766;

export interface LineMappingFinding {
  index: string;
  /** The longest line `log.keyword` holds (0: no `log.keyword` sub-field). */
  holds: number;
}

type Props = Record<string, { properties?: Props; fields?: Props; type?: string; ignore_above?: number }>;

/** How long a line `log.keyword` holds in one index's mapping (undefined: the index has no `log` field yet). */
export function keywordHolds(mappings: Record<string, unknown> | undefined): number | undefined {
  const log = (mappings?.properties as Props | undefined)?.log;
  if (!log) return undefined;
  const keyword = log.fields?.keyword;
  if (!keyword || keyword.type !== 'keyword') return 0;
  return typeof keyword.ignore_above === 'number' ? keyword.ignore_above : KEYWORD_MAX;
}

/** The template an operator installs so that new daily indices hold lines up to `longest` characters. */
export const templateAdvice = (prefix: string, longest: number): string =>
  `PUT _index_template/${prefix} {"index_patterns":["${prefix}-*"],"priority":10,"template":{"mappings":{"properties":{"log":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":${longest}}}}}}}}`;

/**
 * Reads the mapping of `<prefix>-*` and warns when an index's `log.keyword` holds shorter lines than `longest`.
 * Returns the indices that fall short (empty when all hold them, or when Elasticsearch cannot be asked).
 */
export async function checkLineMapping(
  access: ElasticsearchAccess,
  prefix: string,
  longest: number,
  log: Logger,
): Promise<LineMappingFinding[]> {
  let body: Record<string, { mappings?: Record<string, unknown> }>;
  try {
    body = await access.run((es) => es.getMapping(`${prefix}-*`));
  } catch (e) {
    log.info('the mapping of log.keyword was not checked', { error: e instanceof Error ? e.message : String(e) });
    return [];
  }
  const short: LineMappingFinding[] = [];
  for (const [index, { mappings }] of Object.entries(body)) {
    const holds = keywordHolds(mappings);
    if (holds !== undefined && holds < longest) short.push({ index, holds });
  }
  if (short.length) {
    short.sort((a, b) => a.index.localeCompare(b.index));
    const least = Math.min(...short.map((s) => s.holds));
    log.warn(
      `log.keyword of ${short.length} index(es) of ${prefix}-* holds lines of at most ${least} characters (ELASTICSEARCH_LONGEST_LINE=${longest}): ` +
        'contains/excludes find a longer line only by whole words in order (a phrase of the analysed log field), not as any substring. ' +
        `Install an index template so that new daily indices hold them: ${templateAdvice(prefix, longest)}`,
      { indices: short.slice(0, 10).map((s) => s.index) },
    );
  }
  return short;
}
