// The request metrics every subgraph reports: root field (Query, Mutation) durations by outcome, and requests by
// outcome, as an Apollo Server plugin on the subgraph's metrics registry.
import type {
  ApolloServerPlugin,
  BaseContext,
  GraphQLRequestExecutionListener,
  GraphQLRequestListener,
} from '@apollo/server';
import { Counter, Histogram, type Registry } from 'prom-client';

export function requestMetricsPlugin<TContext extends BaseContext>(
  service: string,
  metrics: Registry,
): ApolloServerPlugin<TContext> {
  const resolverDuration = new Histogram({
    name: `kubegraph_${service}_resolver_duration_seconds`,
    help: 'Duration of root field resolvers (Query, Mutation).',
    labelNames: ['field', 'outcome'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [metrics],
  });
  const requests = new Counter({
    name: `kubegraph_${service}_requests_total`,
    help: 'GraphQL requests, by outcome.',
    labelNames: ['outcome'],
    registers: [metrics],
  });
  // No per-request state: the same hooks serve every request.
  const executionHooks: GraphQLRequestExecutionListener<TContext> = {
    willResolveField({ info }) {
      const parent = info.parentType.name;
      if (parent !== 'Query' && parent !== 'Mutation') return;
      const end = resolverDuration.startTimer({ field: `${parent}.${info.fieldName}` });
      return (error) => end({ outcome: error ? 'error' : 'ok' });
    },
  };
  const requestHooks: GraphQLRequestListener<TContext> = {
    async executionDidStart() {
      return executionHooks;
    },
    async willSendResponse({ response }) {
      const body = response.body;
      requests.inc({ outcome: body.kind === 'single' && body.singleResult.errors?.length ? 'error' : 'ok' });
    },
  };
  return { requestDidStart: async () => requestHooks };
}
