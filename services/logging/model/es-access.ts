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

export class ElasticsearchAccess {
  constructor(private readonly client: ElasticsearchClient | undefined) {}

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
