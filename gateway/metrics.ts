// The gateway's Prometheus metrics, in one registry: requests by operation and outcome, subgraph fetches, the query
// plan cache, graphql-ws connections and subscriptions (upstream and client side). The other modules report through
// the functions here and never hold a metric of their own.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '../services/common/http.js';
import type { FetchObserver } from './datasource.js';
import type { SubscriptionObserver } from './subscriptions.js';

/** How a GraphQL request ended: no errors, data and errors, errors only, or refused before Apollo's pipeline. */
export type RequestOutcome = 'success' | 'partial' | 'error' | 'rejected';

export interface GatewayMetrics {
  registry: Registry;
  /** The label of an operation name: bounded in number and shape, whatever clients send. */
  operationLabel(name: string | null | undefined): string;
  requestStarted(): void;
  requestFinished(operation: string, outcome: RequestOutcome, seconds: number): void;
  /** A request refused before Apollo's request pipeline (body too large, CSRF prevention, bad JSON). */
  requestRejected(seconds: number): void;
  subgraphFetch: FetchObserver;
  planCacheLookup(hit: boolean): void;
  subscriptions: SubscriptionObserver;
  /** Gauges read when scraped: open graphql-ws connections and client subscriptions. */
  watch(read: { wsConnections: () => number; clientSubscriptions: () => number }): void;
}

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const MAX_OPERATION_LABELS = 500;

export function createGatewayMetrics(): GatewayMetrics {
  const registry = createMetricsRegistry('gateway');
  const registers = [registry];
  const requests = new Counter({
    name: 'kubegraph_gateway_requests_total',
    help: 'GraphQL requests by operation name and outcome',
    labelNames: ['operation', 'outcome'],
    registers,
  });
  const duration = new Histogram({
    name: 'kubegraph_gateway_request_duration_seconds',
    help: 'GraphQL request duration by operation name and outcome',
    labelNames: ['operation', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const fetchDuration = new Histogram({
    name: 'kubegraph_gateway_subgraph_fetch_duration_seconds',
    help: 'Duration of fetches to subgraphs by service and outcome',
    labelNames: ['service', 'outcome'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const inFlight = new Gauge({
    name: 'kubegraph_gateway_requests_in_flight',
    help: 'GraphQL requests being processed',
    registers,
  });
  const planCacheLookups = new Counter({
    name: 'kubegraph_gateway_query_plan_cache_total',
    help: 'Query plan cache lookups by result',
    labelNames: ['result'],
    registers,
  });
  const operationLabels = new Set<string>();
  const finished = (operation: string, outcome: RequestOutcome, seconds: number) => {
    // One labels object for both (prom-client only reads it).
    const labels = { operation, outcome };
    requests.inc(labels);
    duration.observe(labels, seconds);
  };
  return {
    registry,
    operationLabel(name) {
      if (!name) return 'anonymous';
      // Known names first: they passed the pattern when they were added.
      if (operationLabels.has(name)) return name;
      if (!OPERATION_NAME.test(name)) return 'invalid';
      if (operationLabels.size >= MAX_OPERATION_LABELS) return 'other';
      operationLabels.add(name);
      return name;
    },
    requestStarted: () => inFlight.inc(),
    requestFinished(operation, outcome, seconds) {
      inFlight.dec();
      finished(operation, outcome, seconds);
    },
    requestRejected: (seconds) => finished('unknown', 'rejected', seconds),
    subgraphFetch: (service, seconds, outcome) => fetchDuration.observe({ service, outcome }, seconds),
    planCacheLookup: (hit) => planCacheLookups.inc({ result: hit ? 'hit' : 'miss' }),
    subscriptions: subscriptionMetrics(registry),
    watch(read) {
      new Gauge({
        name: 'kubegraph_gateway_subscriptions_active',
        help: 'Client subscriptions open',
        registers,
        collect() {
          this.set(read.clientSubscriptions());
        },
      });
      new Gauge({
        name: 'kubegraph_gateway_ws_connections',
        help: 'Open graphql-ws connections from clients',
        registers,
        collect() {
          this.set(read.wsConnections());
        },
      });
    },
  };
}

function subscriptionMetrics(registry: Registry): SubscriptionObserver {
  const registers = [registry];
  const upstreamSubscriptions = new Gauge({
    name: 'kubegraph_gateway_upstream_subscriptions',
    help: 'Subscriptions open to subgraphs (shared by clients with the same upstream operation)',
    labelNames: ['service'],
    registers,
  });
  const upstreamReconnects = new Counter({
    name: 'kubegraph_gateway_upstream_resubscribes_total',
    help: 'Upstream subscriptions reopened after a drop',
    labelNames: ['service'],
    registers,
  });
  const eventsIn = new Counter({
    name: 'kubegraph_gateway_subscription_events_in_total',
    help: 'Events received from subgraphs',
    labelNames: ['service'],
    registers,
  });
  const eventsOut = new Counter({
    name: 'kubegraph_gateway_subscription_events_out_total',
    help: 'Results queued to subscription clients',
    registers,
  });
  const cutOff = new Counter({
    name: 'kubegraph_gateway_subscription_clients_cut_off_total',
    help: 'Clients disconnected because they stopped reading',
    registers,
  });
  const enrichment = new Histogram({
    name: 'kubegraph_gateway_subscription_enrichment_seconds',
    help: 'Per-event time to run the rest of the plan (entity fetches) for every operation of an upstream',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  return {
    upstreamOpened: (service) => upstreamSubscriptions.inc({ service }),
    upstreamClosed: (service) => upstreamSubscriptions.dec({ service }),
    upstreamReconnect: (service) => upstreamReconnects.inc({ service }),
    eventIn: (service) => eventsIn.inc({ service }),
    eventsOut: (n) => eventsOut.inc(n),
    enrichment: (seconds) => enrichment.observe(seconds),
    clientCutOff: () => cutOff.inc(),
  };
}
