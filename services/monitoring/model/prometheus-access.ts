// The model's access to Prometheus: the configured client or a clear UPSTREAM_UNAVAILABLE naming PROMETHEUS_URL,
// client failures as GraphQL errors, and the recording rules Prometheus has (refreshed in the background so no
// request ever waits for that lookup).
import { badUserInput, upstreamUnavailable } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { PrometheusQueryError, PrometheusUnavailableError, type PrometheusClient } from '../clients/prometheus.js';

export const SERVICE = 'monitoring';

export const NOT_CONFIGURED =
  'Prometheus is not configured: set PROMETHEUS_URL to its base URL (e.g. http://prometheus:9090); `npm start` on the sandbox starts one when a `prometheus` binary is on PATH';

export interface PrometheusAccessOptions {
  client: PrometheusClient | undefined;
  log: Logger;
  /** How long a lookup of the recording rules is reused (ms). */
  rulesTtlMs: number;
}

export class PrometheusAccess {
  private ruleNames: ReadonlySet<string> = new Set();
  private rulesFetchedAt = -Infinity;
  private rulesInFlight: Promise<void> | undefined;

  constructor(private readonly opts: PrometheusAccessOptions) {}

  /** The client, or UPSTREAM_UNAVAILABLE when PROMETHEUS_URL is unset. */
  client(): PrometheusClient {
    if (!this.opts.client) throw upstreamUnavailable(SERVICE, NOT_CONFIGURED);
    return this.opts.client;
  }

  /** Runs a call of ours (queries built by the model), mapping client failures to UPSTREAM_UNAVAILABLE. */
  run<T>(call: (client: PrometheusClient) => Promise<T>): Promise<T> {
    // A query of ours that Prometheus refuses (e.g. too many samples for its limits) cannot be answered either.
    return this.runMapped(call, (e) => upstreamUnavailable(SERVICE, `Prometheus refused the query: ${e.message}`));
  }

  /** Runs a caller's own PromQL (promQuery): Prometheus's refusal of it is the caller's BAD_USER_INPUT. */
  runUserQuery<T>(call: (client: PrometheusClient) => Promise<T>): Promise<T> {
    return this.runMapped(call, (e) =>
      badUserInput(`Prometheus refused the query: ${e.message}`, { errorType: e.errorType }),
    );
  }

  /** Runs a call; an unreachable Prometheus is UPSTREAM_UNAVAILABLE, a refused query what `refused` makes of it. */
  private async runMapped<T>(
    call: (client: PrometheusClient) => Promise<T>,
    refused: (e: PrometheusQueryError) => Error,
  ): Promise<T> {
    const client = this.client();
    try {
      return await call(client);
    } catch (e) {
      if (e instanceof PrometheusUnavailableError) throw upstreamUnavailable(SERVICE, e.message);
      if (e instanceof PrometheusQueryError) throw refused(e);
      throw e;
    }
  }

  /**
   * The recording rules known now (empty until the first lookup answered). A lookup older than the TTL starts a
   * new one in the background; the caller goes on with what is known.
   */
  recordingRules(): ReadonlySet<string> {
    if (this.opts.client && Date.now() - this.rulesFetchedAt > this.opts.rulesTtlMs) void this.refreshRules();
    return this.ruleNames;
  }

  /** Looks the recording rules up now (the background refresh; tests and start-up may await it). */
  refreshRules(): Promise<void> {
    const client = this.opts.client;
    if (!client) return Promise.resolve();
    this.rulesInFlight ??= (async () => {
      try {
        const groups = await client.rules('record');
        const names = new Set<string>();
        for (const g of groups)
          for (const r of g.rules) if (r.type === 'recording' && r.health !== 'err') names.add(r.name);
        const before = [...this.ruleNames].sort().join(',');
        this.ruleNames = names;
        if ([...names].sort().join(',') !== before)
          this.opts.log.info('recording rules found in Prometheus', { rules: names.size });
      } catch (e) {
        // Raw expressions work without rules; the next lookup is after the TTL like any other.
        this.opts.log.warn('could not list Prometheus recording rules', { error: (e as Error).message });
      } finally {
        this.rulesFetchedAt = Date.now();
        this.rulesInFlight = undefined;
      }
    })();
    return this.rulesInFlight;
  }
}
