// Elasticsearch through the official client, @elastic/elasticsearch 7.17: the major that talks to Elasticsearch 7.10+
// and 8.x alike. It sends plain `application/json` (the 8.x clients send `compatible-with=8` media types, which a 7.x
// server refuses with 406), its product check accepts 7.x and 8.x servers, and its meta header (telemetry about the
// client, x-elastic-client-meta) is switched off. One call per request, never a retry; on top of the client:
// - a per-request timeout and the shared circuit breaker (common/breaker.ts, through common/external-calls.ts), so a
//   slow or dead Elasticsearch is not asked by every field of every request;
// - at most `maxConcurrent` requests in flight, the others waiting in a bounded queue (full: unavailable at once);
// - identical concurrent requests (same method, path and body) sent once, their answer shared.
import { Client, errors, type ClientOptions } from '@elastic/elasticsearch';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ExternalCalls } from '../../common/external-calls.js';

/** Elasticsearch could not be reached, answered 5xx or 429, timed out, the queue was full or the breaker is open. */
export class ElasticsearchUnavailableError extends Error {}

/** Elasticsearch refused the request itself (4xx): `type` is its error type (e.g. search_context_missing_exception). */
export class ElasticsearchRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
  ) {
    super(message);
  }
}

export interface ElasticsearchConnection {
  url: string;
  username?: string;
  password?: string;
  apiKey?: string;
  /** PEM of the CA that signed the server's certificate (ELASTICSEARCH_CA_FILE). */
  caPem?: string;
}

export interface ElasticsearchClientOptions extends ElasticsearchConnection {
  timeoutMs: number;
  /** Consecutive unavailable answers that open the breaker (0: no breaker). */
  breakerFailures: number;
  breakerOpenMs: number;
  maxConcurrent: number;
  maxQueued: number;
  metrics?: Registry;
}

/** One search hit, as the logging model reads it. */
export interface SearchHit<TSource> {
  _index: string;
  _id: string;
  _source?: TSource;
  sort?: (string | number | null)[];
}

export interface SearchResponse<TSource, TAggs = Record<string, unknown>> {
  hits: { total?: { value: number; relation: 'eq' | 'gte' } | number; hits: SearchHit<TSource>[] };
  aggregations?: TAggs;
  pit_id?: string;
}

type Endpoint = 'search' | 'open_pit' | 'close_pit' | 'mapping';

interface Waiter {
  start: () => void;
}

export class ElasticsearchClient {
  readonly url: string;
  private readonly client: Client;
  private readonly calls: ExternalCalls<Endpoint>;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly queue: Waiter[] = [];
  private running = 0;
  private readonly shared?: Counter;

  constructor(private readonly opts: ElasticsearchClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    const options: ClientOptions = {
      node: this.url,
      maxRetries: 0,
      requestTimeout: opts.timeoutMs,
      // No telemetry about the client in every request (DESIGN.md "Network").
      enableMetaHeader: false,
      sniffOnStart: false,
      sniffInterval: false,
      ...(opts.username !== undefined ? { auth: { username: opts.username, password: opts.password ?? '' } } : {}),
      ...(opts.apiKey !== undefined ? { auth: { apiKey: opts.apiKey } } : {}),
      ...(opts.caPem !== undefined ? { ssl: { ca: opts.caPem } } : {}),
    };
    this.client = new Client(options);
    this.calls = new ExternalCalls({
      breakerFailures: opts.breakerFailures,
      breakerOpenMs: opts.breakerOpenMs,
      isUnavailable: (e) => e instanceof ElasticsearchUnavailableError,
      refused: (e) => new ElasticsearchUnavailableError(`Elasticsearch at ${this.url} is unavailable: ${e.message}`),
      metrics: opts.metrics && {
        registry: opts.metrics,
        prefix: 'kubegraph_logging_elasticsearch',
        requestsHelp:
          'Requests to Elasticsearch, by endpoint and outcome (ok, error, unavailable, breaker_open, queue_full).',
        durationHelp: 'Duration of requests to Elasticsearch (queue wait excluded).',
      },
    });
    if (opts.metrics) {
      this.shared = new Counter({
        name: 'kubegraph_logging_elasticsearch_shared_requests_total',
        help: 'Requests answered by an identical request already in flight.',
        registers: [opts.metrics],
      });
      const queue = this.queue;
      new Gauge({
        name: 'kubegraph_logging_elasticsearch_queued_requests',
        help: 'Requests waiting for a free slot (ELASTICSEARCH_MAX_CONCURRENT_SEARCHES).',
        registers: [opts.metrics],
        collect() {
          this.set(queue.length);
        },
      });
    }
  }

  /** A search of `indices` (comma list; ignore_unavailable), or, with a `pit` in the body, of the point in time. */
  search<TSource, TAggs = Record<string, unknown>>(
    indices: string | undefined,
    body: Record<string, unknown>,
  ): Promise<SearchResponse<TSource, TAggs>> {
    return this.call('search', `POST /${indices ?? ''}/_search`, body, async (options) => {
      const params = indices ? { index: indices, ignore_unavailable: true, allow_no_indices: true, body } : { body };
      return (await this.client.search(params, options)).body as SearchResponse<TSource, TAggs>;
    });
  }

  /** Opens a point in time on `indices` (ignore_unavailable): its id. */
  openPointInTime(indices: string, keepAlive: string): Promise<string> {
    return this.call('open_pit', `POST /${indices}/_pit?keep_alive=${keepAlive}`, undefined, async (options) => {
      const r = await this.client.openPointInTime(
        { index: indices, keep_alive: keepAlive, ignore_unavailable: true },
        options,
      );
      const id = (r.body as { id?: unknown }).id;
      if (typeof id !== 'string') throw new ElasticsearchUnavailableError('Elasticsearch opened no point in time');
      return id;
    });
  }

  /** The mappings of the indices `pattern` names (none: an empty object), by index. */
  getMapping(pattern: string): Promise<Record<string, { mappings?: Record<string, unknown> }>> {
    return this.call('mapping', `GET /${pattern}/_mapping`, undefined, async (options) => {
      const r = await this.client.indices.getMapping(
        { index: pattern, ignore_unavailable: true, allow_no_indices: true },
        options,
      );
      return r.body as Record<string, { mappings?: Record<string, unknown> }>;
    });
  }

  /** Closes a point in time; one that has already expired is no error. */
  async closePointInTime(id: string): Promise<void> {
    try {
      await this.call('close_pit', `DELETE /_pit ${id}`, undefined, (options) =>
        this.client.closePointInTime({ body: { id } }, { ...options, ignore: [404] }),
      );
    } catch {
      // It expires on its own after keep_alive.
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Shares an identical request in flight, else waits for a slot and runs it through the breaker. */
  private call<T>(
    endpoint: Endpoint,
    target: string,
    body: unknown,
    send: (options: { requestTimeout: number }) => Promise<T>,
  ): Promise<T> {
    const key = `${target}\n${body === undefined ? '' : JSON.stringify(body)}`;
    const pending = this.inFlight.get(key);
    if (pending) {
      this.shared?.inc();
      return pending as Promise<T>;
    }
    const run = (async () => {
      try {
        await this.slot(endpoint);
      } catch (e) {
        this.inFlight.delete(key);
        throw e;
      }
      try {
        return await this.execute(endpoint, send);
      } finally {
        this.inFlight.delete(key);
        this.release();
      }
    })();
    this.inFlight.set(key, run);
    return run;
  }

  private slot(endpoint: Endpoint): Promise<void> {
    if (this.running < this.opts.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.opts.maxQueued) {
      this.calls.count(endpoint, 'queue_full');
      return Promise.reject(
        new ElasticsearchUnavailableError(
          `too many Elasticsearch requests waiting (${this.queue.length}; ELASTICSEARCH_MAX_QUEUED_SEARCHES)`,
        ),
      );
    }
    return new Promise<void>((resolve) => this.queue.push({ start: resolve }));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next.start();
    else this.running--;
  }

  private execute<T>(endpoint: Endpoint, send: (options: { requestTimeout: number }) => Promise<T>): Promise<T> {
    return this.calls.run(endpoint, async () => {
      try {
        return await send({ requestTimeout: this.opts.timeoutMs });
      } catch (e) {
        throw this.mapError(e);
      }
    });
  }

  /** The client's errors as ours; messages name the server, never the credentials. */
  private mapError(e: unknown): Error {
    if (e instanceof errors.ResponseError) {
      const status = e.statusCode ?? 0;
      const err = (e.body as { error?: { type?: string; reason?: string; root_cause?: { reason?: string }[] } })?.error;
      const type = err?.type ?? 'unknown';
      const reason = err?.root_cause?.[0]?.reason ?? err?.reason ?? e.message;
      if (status >= 500 || status === 429 || status === 401 || status === 403 || status === 0)
        return new ElasticsearchUnavailableError(`Elasticsearch at ${this.url} answered ${status}: ${reason}`);
      return new ElasticsearchRequestError(
        `Elasticsearch refused the request (${status} ${type}): ${reason}`,
        status,
        type,
      );
    }
    if (e instanceof errors.TimeoutError)
      return new ElasticsearchUnavailableError(
        `Elasticsearch at ${this.url} did not answer within ${this.opts.timeoutMs} ms`,
      );
    if (e instanceof errors.ProductNotSupportedError)
      return new ElasticsearchUnavailableError(
        `the server at ${this.url} is not Elasticsearch (no X-Elastic-Product: Elasticsearch header)`,
      );
    if (e instanceof errors.ElasticsearchClientError)
      return new ElasticsearchUnavailableError(`Elasticsearch at ${this.url} cannot be reached: ${e.message}`);
    return e instanceof Error ? e : new Error(String(e));
  }
}
