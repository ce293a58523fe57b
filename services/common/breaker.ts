// The circuit breaker every client of an external system uses (Prometheus, Elasticsearch, chart repositories): after
// a few consecutive failures to reach the system, calls fail at once for a while instead of waiting for it, then one
// call probes (half-open) while the others still fail fast, and its answer closes or reopens the breaker. So a slow or
// dead system is not hammered by every field of every request, and requests do not all wait for its timeouts.

/** The breaker is open: the call was not made. The client turns this into its own "unavailable" error. */
export class BrokenCircuitError extends Error {
  constructor(
    /** Consecutive failures that opened the breaker (and kept it open). */
    readonly failures: number,
  ) {
    super(`failed ${failures} times in a row; not asking again for a moment`);
  }
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker (0: never open). */
  failures: number;
  /** How long the open breaker fails calls before letting one through (ms). */
  openMs: number;
  /**
   * Whether an error means the system could not be reached (it counts towards opening). Any other error is an answer
   * (the system is up, whatever it thought of the call): like a success, it closes the breaker.
   */
  isFailure: (error: unknown) => boolean;
  /** The clock (ms); tests pass their own. */
  now?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private failures = 0;
  /** When the open period ends (ms); 0: closed. */
  private openUntil = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly opts: CircuitBreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.openUntil === 0) return 'closed';
    return this.now() >= this.openUntil ? 'half-open' : 'open';
  }

  /** Consecutive failures so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Runs `call` unless the breaker is open (BrokenCircuitError), and records how it went. */
  async execute<T>(call: () => Promise<T>): Promise<T> {
    const probe = this.admit();
    try {
      const value = await call();
      this.close();
      return value;
    } catch (e) {
      if (this.opts.isFailure(e)) {
        this.failures++;
        if (this.opts.failures > 0 && this.failures >= this.opts.failures)
          this.openUntil = this.now() + this.opts.openMs;
      } else this.close();
      throw e;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /** Whether the call may go (throws when not); true when it is the one probe of the half-open breaker. */
  private admit(): boolean {
    if (this.openUntil === 0) return false;
    if (this.now() >= this.openUntil && !this.probing) return (this.probing = true);
    throw new BrokenCircuitError(this.failures);
  }

  private close(): void {
    this.failures = 0;
    this.openUntil = 0;
  }
}

/**
 * A subgraph's breaker option as its client takes it: after 3 failures in a row, the system is not asked again for
 * `openMs` (default 5000 ms); 0: no breaker.
 */
export function breakerSettings(openMs = 5000): { breakerFailures: number; breakerOpenMs: number } {
  return { breakerFailures: openMs > 0 ? 3 : 0, breakerOpenMs: openMs };
}
