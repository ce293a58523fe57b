// The model's access to Elasticsearch: the configured client or a clear UPSTREAM_UNAVAILABLE naming ELASTICSEARCH_URL,
// and the client's failures as GraphQL errors naming the service.
import { upstreamUnavailable } from '../../common/errors.js';
import {
  ElasticsearchRequestError,
  ElasticsearchUnavailableError,
  type ElasticsearchClient,
} from '../clients/elasticsearch.js';

export const SERVICE = 'logging';

export const NOT_CONFIGURED =
  'Elasticsearch is not configured: set ELASTICSEARCH_URL to its base URL (e.g. http://elasticsearch:9200); `npm start` on the sandbox starts the embedded stand-in';

/** Whether Elasticsearch said that a point in time has expired (or never existed on this cluster). */
export const isExpiredPointInTime = (e: unknown): boolean =>
  e instanceof ElasticsearchRequestError &&
  (e.type === 'search_context_missing_exception' || (e.status === 404 && /context|point in time|pit/i.test(e.message)));

/** How long the time of the oldest line is reused before it is looked up again (in the background). */
const OLDEST_TTL_MS = 60_000;

export class ElasticsearchAccess {
  private oldest: number | undefined;
  private oldestAt = -Infinity;
  private oldestInFlight = false;

  constructor(private readonly client: ElasticsearchClient | undefined) {}

  /**
   * The time (ms) of the oldest line in `<prefix>-*`, as last looked up (undefined until then); a lookup older than a
   * minute starts a new one in the background. Namespaces created before it need no creation-time clause.
   */
  oldestLine(indexPrefix: string): number | undefined {
    const client = this.client;
    if (client && !this.oldestInFlight && Date.now() - this.oldestAt > OLDEST_TTL_MS) {
      this.oldestInFlight = true;
      client
        .search<unknown, { oldest?: { value: number | null } }>(`${indexPrefix}-*`, {
          size: 0,
          track_total_hits: false,
          aggs: { oldest: { min: { field: '@timestamp' } } },
        })
        .then(
          (r) => (this.oldest = r.aggregations?.oldest?.value ?? undefined),
          () => {},
        )
        .finally(() => {
          this.oldestAt = Date.now();
          this.oldestInFlight = false;
        });
    }
    return this.oldest;
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  /** Runs a call; UPSTREAM_UNAVAILABLE when unconfigured, unreachable or refusing (unless `keep` wants the error). */
  async run<T>(call: (client: ElasticsearchClient) => Promise<T>, keep?: (e: unknown) => boolean): Promise<T> {
    if (!this.client) throw upstreamUnavailable(SERVICE, NOT_CONFIGURED);
    try {
      return await call(this.client);
    } catch (e) {
      if (keep?.(e)) throw e;
      if (e instanceof ElasticsearchUnavailableError) throw upstreamUnavailable(SERVICE, e.message);
      // A query of ours that Elasticsearch refuses cannot be answered either (an old version, a changed mapping).
      if (e instanceof ElasticsearchRequestError)
        throw upstreamUnavailable(SERVICE, `Elasticsearch refused the query: ${e.message}`);
      throw e;
    }
  }
}
