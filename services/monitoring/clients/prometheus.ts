// The Prometheus HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/): instant and range queries,
// alerts and rules. One request per call and never a retry: a per-request timeout, and the shared circuit breaker
// (common/breaker.ts, through common/external-calls.ts) that, after a few consecutive failures to reach Prometheus,
// fails calls at once for a while (then lets one call probe), so a slow or dead Prometheus is not hammered by every
// field of every request.
import type { Registry } from 'prom-client';
import { ExternalCalls } from '../../common/external-calls.js';

/** Prometheus could not be reached, answered 5xx / garbage, timed out, or the breaker is open. */
export class PrometheusUnavailableError extends Error {}

/** Prometheus refused the query itself (bad_data: a syntax or type error; execution: e.g. too many samples). */
export class PrometheusQueryError extends Error {
  constructor(
    message: string,
    readonly errorType: string,
  ) {
    super(message);
  }
}

export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

export type QueryResult =
  | { resultType: 'vector'; result: InstantSample[] }
  | { resultType: 'matrix'; result: RangeSeries[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | string;
  activeAt?: string;
  value?: string;
}

export interface PromRule {
  type: 'alerting' | 'recording';
  name: string;
  query: string;
  duration?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  alerts?: PromAlert[];
  health: string;
  lastError?: string;
  state?: string;
}

export interface PromRuleGroup {
  name: string;
  file: string;
  rules: PromRule[];
}

export interface PrometheusClientOptions {
  /** Base URL, e.g. http://prometheus:9090 (a path prefix is kept). */
  url: string;
  /** Per request; also sent to Prometheus as its query timeout. */
  timeoutMs: number;
  /** Consecutive unavailable answers that open the breaker (default 3; 0 disables the breaker). */
  breakerFailures?: number;
  /** How long the open breaker fails calls before letting one through (ms). */
  breakerOpenMs: number;
  metrics?: Registry;
}

type Endpoint = 'query' | 'query_range' | 'alerts' | 'rules';

export class PrometheusClient {
  readonly url: string;
  private readonly calls: ExternalCalls<Endpoint>;

  constructor(private readonly opts: PrometheusClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.calls = new ExternalCalls({
      breakerFailures: opts.breakerFailures ?? 3,
      breakerOpenMs: opts.breakerOpenMs,
      isUnavailable: (e) => e instanceof PrometheusUnavailableError,
      refused: (e) =>
        new PrometheusUnavailableError(
          `Prometheus failed ${e.failures} times in a row; not asking it again for a moment`,
        ),
      metrics: opts.metrics && {
        registry: opts.metrics,
        prefix: 'kubegraph_monitoring_prometheus',
        requestsHelp:
          'Requests to the Prometheus HTTP API, by endpoint and outcome (ok, error, unavailable, breaker_open).',
        durationHelp: 'Duration of requests to the Prometheus HTTP API.',
      },
    });
  }

  /** An instant query at `time` (unix seconds; now when undefined). */
  query(promql: string, time?: number): Promise<QueryResult> {
    return this.call<QueryResult>('query', { query: promql, ...(time !== undefined ? { time: String(time) } : {}) });
  }

  queryRange(promql: string, start: number, end: number, stepSeconds: number): Promise<QueryResult> {
    return this.call<QueryResult>('query_range', {
      query: promql,
      start: String(start),
      end: String(end),
      step: String(stepSeconds),
    });
  }

  async alerts(): Promise<PromAlert[]> {
    return (await this.call<{ alerts: PromAlert[] }>('alerts', {})).alerts;
  }

  async rules(type?: 'alert' | 'record'): Promise<PromRuleGroup[]> {
    return (await this.call<{ groups: PromRuleGroup[] }>('rules', type ? { type } : {})).groups;
  }

  /** Through the breaker, timed and counted; a query error is an answer (Prometheus is up, whatever it thought of it). */
  private call<T>(endpoint: Endpoint, params: Record<string, string>): Promise<T> {
    return this.calls.run(endpoint, () => this.send<T>(endpoint, params));
  }

  private async send<T>(endpoint: Endpoint, params: Record<string, string>): Promise<T> {
    const isQuery = endpoint === 'query' || endpoint === 'query_range';
    let res: Response;
    let text: string;
    try {
      const body = new URLSearchParams(
        isQuery ? { ...params, timeout: `${Math.max(1, Math.ceil(this.opts.timeoutMs / 1000))}s` } : params,
      );
      // Queries go as POST forms: a batch over hundreds of pods does not fit a URL.
      res = isQuery
        ? await fetch(`${this.url}/api/v1/${endpoint}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: body.toString(),
            signal: AbortSignal.timeout(this.opts.timeoutMs),
          })
        : await fetch(`${this.url}/api/v1/${endpoint}${body.size ? `?${body}` : ''}`, {
            signal: AbortSignal.timeout(this.opts.timeoutMs),
          });
      text = await res.text();
    } catch (e) {
      const err = e as Error;
      const reason =
        err.name === 'TimeoutError' || err.name === 'AbortError'
          ? `no answer within ${this.opts.timeoutMs} ms`
          : describeFetchError(err);
      throw new PrometheusUnavailableError(`Prometheus is unavailable: ${reason}`);
    }
    let json: { status?: string; data?: T; errorType?: string; error?: string };
    try {
      json = JSON.parse(text);
    } catch {
      throw new PrometheusUnavailableError(
        `Prometheus answered HTTP ${res.status} with something else than its API's JSON`,
      );
    }
    if (json.status === 'success') return json.data as T;
    const message = `${json.errorType ?? 'error'}: ${json.error ?? `HTTP ${res.status}`}`;
    // 4xx with an error type is about the query; 5xx (and 503 "timeout"/"unavailable") is about Prometheus.
    if (
      res.status >= 500 ||
      json.errorType === 'timeout' ||
      json.errorType === 'unavailable' ||
      json.errorType === 'canceled'
    ) {
      throw new PrometheusUnavailableError(`Prometheus failed: ${message}`);
    }
    throw new PrometheusQueryError(message, json.errorType ?? 'error');
  }
}

/** Why a request failed, without the address (errors name the system, never where it lives). */
function describeFetchError(e: Error): string {
  const cause = (e as { cause?: { code?: string } }).cause;
  return cause?.code ?? 'the connection failed';
}
