// What every client of an external system (Prometheus, Elasticsearch) does around its own request code: the call goes
// through the shared circuit breaker (breaker.ts), is timed, and is counted by endpoint and outcome (ok, error,
// unavailable, breaker_open, and whatever the client refuses by itself, such as queue_full).
import { Counter, Histogram, type Registry } from 'prom-client';
import { BrokenCircuitError, CircuitBreaker } from './breaker.js';

export interface ExternalCallsOptions {
  /** Consecutive unavailable answers that open the breaker (0: no breaker). */
  breakerFailures: number;
  /** How long the open breaker fails calls before letting one through (ms). */
  breakerOpenMs: number;
  /**
   * Whether an error means the system could not be reached: it counts towards opening the breaker and as outcome
   * `unavailable`. Any other error is an answer (outcome `error`): the system is up, whatever it thought of the call.
   */
  isUnavailable(error: unknown): boolean;
  /** The client's own "unavailable" error for a call the open breaker did not make. */
  refused(error: BrokenCircuitError): Error;
  /** Where the two metrics go, with their names' prefix and their help; none: not measured. */
  metrics?: { registry: Registry; prefix: string; requestsHelp: string; durationHelp: string };
}

export class ExternalCalls<Endpoint extends string> {
  private readonly breaker: CircuitBreaker;
  private readonly requests?: Counter<'endpoint' | 'outcome'>;
  private readonly duration?: Histogram<'endpoint'>;

  constructor(private readonly opts: ExternalCallsOptions) {
    this.breaker = new CircuitBreaker({
      failures: opts.breakerFailures,
      openMs: opts.breakerOpenMs,
      isFailure: opts.isUnavailable,
    });
    const m = opts.metrics;
    if (m) {
      this.requests = new Counter({
        name: `${m.prefix}_requests_total`,
        help: m.requestsHelp,
        labelNames: ['endpoint', 'outcome'],
        registers: [m.registry],
      });
      this.duration = new Histogram({
        name: `${m.prefix}_request_duration_seconds`,
        help: m.durationHelp,
        labelNames: ['endpoint'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [m.registry],
      });
    }
  }

  /** Counts a call the client did not send for a reason of its own (outcome `queue_full`, say). */
  count(endpoint: Endpoint, outcome: string): void {
    this.requests?.inc({ endpoint, outcome });
  }

  /** Runs `send` through the breaker, timed (only when it is sent) and counted. */
  async run<T>(endpoint: Endpoint, send: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await this.breaker.execute(async () => {
        const end = this.duration?.startTimer({ endpoint });
        try {
          return await send();
        } finally {
          end?.();
        }
      });
    } catch (e) {
      if (e instanceof BrokenCircuitError) {
        this.count(endpoint, 'breaker_open');
        throw this.opts.refused(e);
      }
      this.count(endpoint, this.opts.isUnavailable(e) ? 'unavailable' : 'error');
      throw e;
    }
    this.count(endpoint, 'ok');
    return value;
  }
}
