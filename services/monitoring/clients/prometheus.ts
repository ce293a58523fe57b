// The Prometheus HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/): instant and range queries,
// alerts and rules. One request per call and never a retry: a per-request timeout, and the shared circuit breaker
// (common/breaker.ts) that, after a few consecutive failures to reach Prometheus, fails calls at once for a while
// (then lets one call probe), so a slow or dead Prometheus is not hammered by every field of every request.
import { Counter, Histogram, type Registry } from 'prom-client';
import { BrokenCircuitError, CircuitBreaker } from '../../common/breaker.js';

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
  private readonly breaker: CircuitBreaker;
  private readonly requests?: Counter<'endpoint' | 'outcome'>;
  private readonly duration?: Histogram<'endpoint'>;

  constructor(private readonly opts: PrometheusClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.breaker = new CircuitBreaker({
      failures: opts.breakerFailures ?? 3,
      openMs: opts.breakerOpenMs,
      isFailure: (e) => e instanceof PrometheusUnavailableError,
    });
    if (opts.metrics) {
      this.requests = new Counter({
        name: 'kubegraph_monitoring_prometheus_requests_total',
        help: 'Requests to the Prometheus HTTP API, by endpoint and outcome (ok, error, unavailable, breaker_open).',
        labelNames: ['endpoint', 'outcome'],
        registers: [opts.metrics],
      });
      this.duration = new Histogram({
        name: 'kubegraph_monitoring_prometheus_request_duration_seconds',
        help: 'Duration of requests to the Prometheus HTTP API.',
        labelNames: ['endpoint'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [opts.metrics],
      });
    }
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

  private async call<T>(endpoint: Endpoint, params: Record<string, string>): Promise<T> {
    let data: T;
    try {
      data = await this.breaker.execute(() => this.timed<T>(endpoint, params));
    } catch (e) {
      if (e instanceof BrokenCircuitError) {
        this.requests?.inc({ endpoint, outcome: 'breaker_open' });
        throw new PrometheusUnavailableError(
          `Prometheus failed ${e.failures} times in a row; not asking it again for a moment`,
        );
      }
      // A query error means Prometheus answered: it is up, whatever it thought of the query.
      this.requests?.inc({ endpoint, outcome: e instanceof PrometheusUnavailableError ? 'unavailable' : 'error' });
      throw e;
    }
    this.requests?.inc({ endpoint, outcome: 'ok' });
    return data;
  }

  private async timed<T>(endpoint: Endpoint, params: Record<string, string>): Promise<T> {
    const end = this.duration?.startTimer({ endpoint });
    try {
      return await this.send<T>(endpoint, params);
    } finally {
      end?.();
    }
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
